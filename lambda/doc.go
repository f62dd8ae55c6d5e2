// Package lambda is rudderctl's Lambda adapter: it runs a Node HTTP app (the RudderStack
// transformer) inside a Lambda execution environment and serves API Gateway HTTP API
// (payload format 2.0) events with it.
//
// The bootstrap (lambda/bootstrap, built into every zip as rudderctl-bootstrap and started by
// the rudderctl-wrapper exec wrapper on the managed Node runtimes) calls Main, which:
//
//   - reads the manifest (rudderctl-lambda.json beside the binary, or $RUDDERCTL_MANIFEST),
//   - starts `<node> <entry>` in the task root with the manifest's env, the function's env
//     (which wins) and PORT set to a loopback port or a unix socket path,
//   - polls the app's health path until it answers 200, within $RUDDERCTL_READY_TIMEOUT,
//     else reports an init error with the app's last output lines,
//   - then, through aws-lambda-go, maps each event to an HTTP request over one keep-alive
//     pool and the app's answer back to a payload-2.0 response.
//
// If the app exits, the invocation in flight fails and the bootstrap exits with the app's
// status so Lambda starts a fresh environment. SIGTERM is passed on to the app.
//
// The adapter's own answers are JSON {"error":"...","source":"rudderctl-adapter"}: 404 when
// the path lacks $RUDDERCTL_PATH_PREFIX, 502 when the answer would exceed Lambda's 6 MB or
// the app is unreachable, 504 when the app does not answer before the invocation deadline.
// The seams with the rest of rudderctl are fixed in docs/CONTRACTS.md.
package lambda
