package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rudderctl/rudderctl/internal/apigwlocal"
	"github.com/rudderctl/rudderctl/internal/config"
	"github.com/rudderctl/rudderctl/internal/lambdalocal"
	"github.com/rudderctl/rudderctl/lambda/manifest"
	"github.com/urfave/cli/v2"
)

// localFlags are the flags invoke and serve share: what to run and how.
func localFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "local", Usage: "run the zip on this machine (Lambda Runtime Interface Emulator + a local API Gateway)"},
		&cli.StringFlag{Name: "zip", Usage: "the Lambda zip `FILE` built by 'rudderctl package transformer'"},
		&cli.StringSliceFlag{Name: "env", Usage: "function environment variable `K=V` (repeatable)"},
		&cli.IntFlag{Name: "timeout", Value: config.DefaultTimeout, Usage: "function timeout in `SECONDS` (1..30)"},
		&cli.IntFlag{Name: "memory", Value: config.DefaultMemory, Usage: "function memory in `MB` (128..10240), as AWS_LAMBDA_FUNCTION_MEMORY_SIZE"},
		&cli.StringFlag{Name: "node", Usage: "`NODE` binary to run the app with (default: Node of the zip's runtime, from this machine or npm, cached)"},
	}
}

// localFunction is a zip unpacked into a temporary task root and running under the RIE.
type localFunction struct {
	pool     *lambdalocal.Pool
	dir      string
	manifest manifest.Manifest
	node     string
}

func (lf *localFunction) Close() {
	if lf.pool != nil {
		lf.pool.Close()
	}
	if lf.dir != "" {
		os.RemoveAll(lf.dir)
	}
}

// invoke adapts the instance to the gateway.
func (lf *localFunction) invoke(ctx context.Context, event []byte) ([]byte, string, error) {
	res, err := lf.pool.Invoke(ctx, event)
	return res.Payload, res.FunctionError, err
}

// startLocalFunction unpacks the zip and starts it through lambdalocal.StartPool (Node of its
// runtime, the emulator, a pool of environments). Nothing is left behind on failure.
func startLocalFunction(c *cli.Context, extraEnv map[string]string, progress io.Writer, logLine func(string)) (_ *localFunction, err error) {
	if !c.Bool("local") {
		return nil, errors.New("only local runs are supported: add --local --zip FILE (for a deployed stack, call the endpoint `rudderctl endpoints` prints)")
	}
	zipPath := c.String("zip")
	if zipPath == "" {
		return nil, errors.New("no zip given: pass --zip FILE, built with `rudderctl package transformer --src DIR --out FILE`")
	}
	if st, err := os.Stat(zipPath); err != nil {
		return nil, fmt.Errorf("cannot read the zip %s: %v; build it with `rudderctl package transformer --src DIR --out %s`", zipPath, errors.Unwrap(err), zipPath)
	} else if st.IsDir() {
		return nil, fmt.Errorf("--zip %s is a directory: pass the zip file `rudderctl package transformer` wrote", zipPath)
	}
	if err := config.ValidateTimeout(c.Int("timeout")); err != nil {
		return nil, err
	}
	if err := config.ValidateMemory(c.Int("memory")); err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, kv := range c.StringSlice("env") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("--env %q is not K=V: write it as --env NAME=value", kv)
		}
		env[k] = v
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	if _, ok := env["AWS_LAMBDA_EXEC_WRAPPER"]; !ok {
		env["AWS_LAMBDA_EXEC_WRAPPER"] = "/var/task/" + lambdalocal.DefaultWrapper // as a deploy sets it
	}

	// The emulator first: finding (or building) it is the cheap failure.
	if _, err := lambdalocal.ResolveRIE(c.Context); err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp("", "rudderctl-task-")
	if err != nil {
		return nil, fmt.Errorf("cannot make a temporary task root: %w; set TMPDIR to a writable directory", err)
	}
	lf := &localFunction{dir: dir}
	defer func() {
		if err != nil {
			lf.Close()
		}
	}()
	fmt.Fprintf(progress, "unpacking %s\n", zipPath)
	if err := lambdalocal.UnzipContext(c.Context, zipPath, dir); err != nil { // Lambda's 250 MB limit; Ctrl-C stops it
		return nil, err
	}
	m, err := lambdalocal.ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	lf.manifest = m
	if want := lambdaArch(runtime.GOARCH); want != m.Arch {
		return nil, fmt.Errorf("the zip is built for %s but this machine is %s (%s): its adapter cannot run here; rebuild it for local runs with rudderctl package transformer --arch %s", m.Arch, want, runtime.GOARCH, want)
	}
	// Node of the zip's runtime (unless --node), the emulator, the pool: the one local-run path.
	lf.pool, err = lambdalocal.StartPool(c.Context, lambdalocal.Function{
		Name:     "rudderctl-local-transformer",
		Version:  "$LATEST",
		TaskRoot: dir,
		Runtime:  m.Runtime,
		Arch:     m.Arch,
		Handler:  "rudderctl.handler",
		Env:      env,
		Timeout:  time.Duration(c.Int("timeout")) * time.Second,
		MemoryMB: c.Int("memory"),
	}, lambdalocal.Launch{Node: c.String("node"), Progress: progress, Log: logLine, Concurrency: c.Int("concurrency"),
		NodeReady: func(node, version string) {
			lf.node = node
			if version != "" {
				fmt.Fprintf(progress, "node %s (%s)\n", version, node)
			}
			fmt.Fprintf(progress, "starting the function (%s, %s, %d MB, %d s timeout) under the Lambda Runtime Interface Emulator\n",
				m.Runtime, m.Arch, c.Int("memory"), c.Int("timeout"))
		}})
	if err != nil {
		return nil, err
	}
	return lf, nil
}

func lambdaArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "arm64"
	}
	return goarch
}

// invokeCommand is `rudderctl invoke transformer --local`: one request through a local API
// Gateway into the packaged function running under the Lambda Runtime Interface Emulator.
func invokeCommand() *cli.Command {
	flags := append(localFlags(),
		&cli.StringFlag{Name: "method", Aliases: []string{"X"}, Usage: "HTTP `METHOD` (default GET, or POST with --data)"},
		&cli.StringFlag{Name: "path", Usage: "request `PATH` and query, e.g. /v0/destinations/webhook?x=1 (default: the zip's health path)"},
		&cli.StringSliceFlag{Name: "header", Aliases: []string{"H"}, Usage: "request header `K:V` (repeatable)"},
		&cli.StringFlag{Name: "data", Aliases: []string{"d"}, Usage: "request body `DATA`: a string, @FILE, or @- for stdin (Content-Type defaults to application/json)"},
		&cli.BoolFlag{Name: "json", Usage: "print the response as JSON {status, headers, cookies, body, is_base64}"},
		&cli.BoolFlag{Name: "fail", Aliases: []string{"f"}, Usage: "exit 22 when the response status is 400 or more (like curl -f)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress and no function log on stderr"},
	)
	return &cli.Command{
		Name:  "invoke",
		Usage: "send one request to the packaged function, run locally as Lambda would",
		Subcommands: []*cli.Command{{
			Name:      "transformer",
			Usage:     "send one HTTP request to the transformer zip, run under the Lambda Runtime Interface Emulator",
			UsageText: "rudderctl invoke transformer --local --zip FILE [--method M] [--path P] [--header K:V]... [--data @FILE|STRING] [--env K=V]... [--json]",
			Description: `Unpacks the zip into a temporary task root, starts it under the official AWS Lambda
Runtime Interface Emulator with the zip's exec wrapper as bootstrap and Lambda's environment,
builds one API Gateway (HTTP API, payload 2.0) event from the request, invokes the function
(cold start included) and prints the HTTP answer the gateway would give, like curl -i.
Node comes from this machine when it has the runtime's major, else from npm (cached).
Progress and the function's log (START/END/REPORT lines, app output) go to stderr.
Exits 1 when the function fails (crash, timeout, oversized answer), printing its error.

Examples:
   rudderctl invoke transformer --local --zip build/transformer.zip
   rudderctl invoke transformer --local --zip t.zip --path /features --json
   rudderctl invoke transformer --local --zip t.zip --path /v0/destinations/webhook --data @events.json
   rudderctl invoke transformer --local --zip t.zip -X POST --path /customTransform -H 'X-Feature: 1' -d '[]'
   rudderctl invoke transformer --local --zip t.zip --env RUDDERCTL_PATH_PREFIX=/s3cr3t --path /s3cr3t/health`,
			Flags:  flags,
			Action: runInvoke,
		}},
	}
}

func runInvoke(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: options go as flags, see rudderctl invoke transformer --help", c.Args().First())
	}
	quiet := c.Bool("quiet")
	progress := io.Writer(os.Stderr)
	logLine := func(l string) { fmt.Fprintln(os.Stderr, "  | "+l) }
	if quiet {
		progress, logLine = io.Discard, nil
	}
	var body []byte
	hasData := c.IsSet("data")
	if hasData {
		var err error
		if body, err = readData(c.String("data")); err != nil {
			return err
		}
	}
	headers := http.Header{}
	for _, h := range c.StringSlice("header") {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("--header %q is not K:V: write it as --header 'Name: value'", h)
		}
		headers.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	method := strings.ToUpper(c.String("method"))
	if method == "" {
		method = http.MethodGet
		if hasData {
			method = http.MethodPost
		}
	}

	lf, err := startLocalFunction(c, nil, progress, logLine)
	if err != nil {
		return fmt.Errorf("invoke: %w", err)
	}
	defer lf.Close()

	path := c.String("path")
	if path == "" {
		path = lf.manifest.HealthPath
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequest(method, "http://localhost"+path, strings.NewReader(string(body)))
	if err != nil {
		return fmt.Errorf("invoke: --path %q is not a valid request path: %v", path, err)
	}
	req.RequestURI = path
	req.RemoteAddr = "127.0.0.1:0"
	req.Host = "localhost"
	req.Header = headers
	if hasData && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "rudderctl/"+version)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "*/*")
	}
	var fnErr string
	var fnPayload []byte
	gw := &apigwlocal.Gateway{
		Invoke: func(ctx context.Context, ev []byte) ([]byte, string, error) {
			p, fe, err := lf.invoke(ctx, ev)
			fnErr, fnPayload = fe, p
			return p, fe, err
		},
		Log: func(l string) { fmt.Fprintln(progress, l) },
	}
	fmt.Fprintf(progress, "invoking %s %s\n", method, path)
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, req)
	resp := rec.Result()
	respBody := rec.Body.Bytes()

	if c.Bool("json") {
		if err := printJSONResponse(c.App.Writer, resp, respBody); err != nil {
			return err
		}
	} else {
		printHTTPResponse(c.App.Writer, resp, respBody)
	}
	if fnErr != "" {
		return cli.Exit(fmt.Sprintf("invoke: the function failed (%s): %s\nAPI Gateway answers such an invocation 500 Internal Server Error; see the function's log above", fnErr, describeFunctionError(fnPayload)), 1)
	}
	if c.Bool("fail") && resp.StatusCode >= 400 {
		return cli.Exit(fmt.Sprintf("invoke: the response status is %d", resp.StatusCode), 22)
	}
	return nil
}

// describeFunctionError renders Lambda's {"errorType","errorMessage"} payload.
func describeFunctionError(p []byte) string {
	var e struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	if json.Unmarshal(p, &e) == nil && (e.Type != "" || e.Message != "") {
		return strings.TrimSpace(e.Type + ": " + e.Message)
	}
	return string(p)
}

func readData(d string) ([]byte, error) {
	switch {
	case d == "@-":
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("reading the body from stdin: %w", err)
		}
		return b, nil
	case strings.HasPrefix(d, "@"):
		b, err := os.ReadFile(d[1:])
		if err != nil {
			return nil, fmt.Errorf("cannot read the body file: %w; --data @FILE names a file to send", err)
		}
		return b, nil
	}
	return []byte(d), nil
}

func sortedHeaderNames(h http.Header) []string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// printHTTPResponse prints like curl -i: status line, headers, blank line, body.
func printHTTPResponse(w io.Writer, resp *http.Response, body []byte) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	for _, k := range sortedHeaderNames(resp.Header) {
		for _, v := range resp.Header[k] {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintln(w)
	w.Write(body)
	if len(body) > 0 && body[len(body)-1] != '\n' && utf8.Valid(body) {
		fmt.Fprintln(w)
	}
}

func printJSONResponse(w io.Writer, resp *http.Response, body []byte) error {
	out := struct {
		Status   int               `json:"status"`
		Headers  map[string]string `json:"headers"`
		Cookies  []string          `json:"cookies,omitempty"`
		Body     string            `json:"body"`
		IsBase64 bool              `json:"is_base64"`
	}{Status: resp.StatusCode, Headers: map[string]string{}}
	for k, v := range resp.Header {
		if strings.EqualFold(k, "Set-Cookie") {
			out.Cookies = v
			continue
		}
		out.Headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	if utf8.Valid(body) && resp.Header.Get("Content-Encoding") == "" {
		out.Body = string(body)
	} else {
		out.Body = base64.StdEncoding.EncodeToString(body)
		out.IsBase64 = true
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
