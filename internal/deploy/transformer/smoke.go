package transformer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// SmokeError says a published version failed its health check, so alias live was not
// moved to it. It is not an interruption: running the deploy again tests it again and
// refuses again until the app is fixed.
type SmokeError struct {
	Version  string // the version that failed
	Live     string // the version alias live still serves ("" = none yet)
	Why      string
	LogTail  string // the invocation's log tail (decoded, secret redacted)
	Function string
}

// Final: a failed health check is not finished by running again (engine.Final).
func (e *SmokeError) Final() {}

func (e *SmokeError) Error() string {
	live := "nothing is live yet (the API is not created until a version passes)"
	if e.Live != "" {
		live = "version " + e.Live + " stays live and keeps serving"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "version %s of %s failed its health check: %s; alias %s was not moved, %s.", e.Version, e.Function, e.Why, AliasName, live)
	if tail := strings.TrimSpace(e.LogTail); tail != "" {
		b.WriteString("\nlog tail of the check:\n")
		for _, l := range strings.Split(tail, "\n") {
			b.WriteString("  | " + l + "\n")
		}
	} else {
		b.WriteString("\n")
	}
	b.WriteString("What to do: fix the app (try it with `rudderctl invoke transformer --local --zip FILE --path /health`), read `rudderctl logs transformer` for more, then deploy again; a re-run checks the version again and never makes it live while it fails.")
	return b.String()
}

// healthEvent is the API Gateway payload-2.0 event of GET <prefix><path>, as the HTTP API
// would send it through the secret-prefixed route.
func healthEvent(secret, path string, now time.Time) []byte {
	raw := "/" + secret + path
	ev := map[string]any{
		"version":         "2.0",
		"routeKey":        "ANY /" + secret + "/{proxy+}",
		"rawPath":         raw,
		"rawQueryString":  "",
		"headers":         map[string]string{"user-agent": "rudderctl-deploy-check", "accept": "application/json"},
		"isBase64Encoded": false,
		"requestContext": map[string]any{
			"routeKey":  "ANY /" + secret + "/{proxy+}",
			"stage":     StageName,
			"requestId": fmt.Sprintf("rudderctl-check-%d", now.UnixNano()),
			"timeEpoch": now.UnixMilli(),
			"time":      now.UTC().Format("02/Jan/2006:15:04:05 +0000"),
			"http": map[string]any{
				"method": "GET", "path": raw, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "rudderctl-deploy-check",
			},
		},
		"pathParameters": map[string]string{"proxy": strings.TrimPrefix(path, "/")},
	}
	b, _ := json.Marshal(ev)
	return b
}

// smoke invokes the new version (not the alias: nothing routes to it yet) with the health
// request and returns a *SmokeError unless it answers 2xx.
func (r *run) smoke(ctx context.Context, liveVersion string) error {
	d, version := r.d, r.l.Version
	path := d.HealthPath
	if path == "" {
		path = "/health"
	}
	// A version is invocable once Active (at once for a zip function; SnapStart and the
	// like take a while).
	if err := r.c.Lambda().WaitVersionActive(ctx, d.Function, version, waitPolicy()); err != nil {
		return engine.Plain(awsapi.Explain("wait for version "+version+" of "+d.Function+" to become Active", err))
	}
	fmt.Fprintf(r.progress, "  checking version %s: GET <secret>%s...\n", version, path)
	out, err := r.c.Lambda().Invoke(ctx, d.Function, version, healthEvent(d.Secret, path, time.Now()))
	if err != nil {
		return engine.Plain(awsapi.Explain("invoke version "+version+" of "+d.Function+" for its health check", err))
	}
	fail := func(why string) error {
		return &SmokeError{Version: version, Live: liveVersion, Function: d.Function, Why: redact(why, d.Secret), LogTail: redact(out.LogTail, d.Secret)}
	}
	if fe := out.FunctionError; fe != "" {
		var perr struct{ ErrorType, ErrorMessage string }
		_ = json.Unmarshal(out.Payload, &perr)
		why := "the function failed (" + fe + ")"
		if perr.ErrorType != "" || perr.ErrorMessage != "" {
			// The first line only: the rest (a stack, the app's last lines) is in the log tail.
			first, more, _ := strings.Cut(strings.TrimSpace(perr.ErrorMessage), "\n")
			why = fmt.Sprintf("the function failed (%s: %s %s)", fe, perr.ErrorType, first)
			if strings.TrimSpace(more) != "" {
				why += " [more in the log tail]"
			}
		}
		return fail(why)
	}
	status, err := responseStatus(out.Payload)
	if err != nil {
		return fail(err.Error())
	}
	if status < 200 || status > 299 {
		return fail(fmt.Sprintf("GET %s answered HTTP %d", path, status))
	}
	fmt.Fprintf(r.progress, "  version %s answered HTTP %d\n", version, status)
	return nil
}

// responseStatus reads statusCode from a payload-2.0 response. Like API Gateway, a JSON
// answer without statusCode counts as 200.
func responseStatus(payload []byte) (int, error) {
	var r struct {
		StatusCode *int `json:"statusCode"`
	}
	if err := json.Unmarshal(payload, &r); err != nil {
		return 0, errors.New("the function's answer is not JSON, so API Gateway would answer 502")
	}
	if r.StatusCode == nil {
		return 200, nil
	}
	return *r.StatusCode, nil
}
