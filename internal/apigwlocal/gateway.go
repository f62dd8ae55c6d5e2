package apigwlocal

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// InvokeFunc runs one event through a function synchronously (lambdalocal.Instance.Invoke, or
// the local cloud's Invoke). functionError is "" or "Unhandled"; err means the function was not
// run to an answer (the gateway then answers 500, or 503 when ctx expired).
type InvokeFunc func(ctx context.Context, event []byte) (payload []byte, functionError string, err error)

// Gateway is an HTTP API stage in front of one Lambda proxy integration (payload 2.0), as an
// http.Handler: limits, route selection, event, invocation, response, gateway errors.
type Gateway struct {
	Routes    []string      // route keys, e.g. "ANY /{proxy+}", "$default"; nil = ["$default"]
	Invoke    InvokeFunc    // required
	APIID     string        // "" = "local"
	Stage     string        // "" or "$default" = served at the root; else paths start with /Stage
	AccountID string        // "" = 000000000000
	Timeout   time.Duration // integration timeout; 0 = IntegrationTimeout (30 s)
	// Log receives one line per request and one per gateway-side error; nil = none.
	Log func(line string)
}

// ServeHTTP answers one request as API Gateway would.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := newGatewayRequestID()
	w.Header().Set("Apigw-Requestid", reqID)
	status := 0
	defer func() {
		if g.Log != nil {
			g.Log(fmt.Sprintf("%s %s -> %d (%d ms)", r.Method, r.URL.RequestURI(), status, time.Since(start).Milliseconds()))
		}
	}()
	fail := func(code int, why string) {
		status = code
		if why != "" && g.Log != nil {
			g.Log(fmt.Sprintf("gateway %d for %s %s: %s", code, r.Method, r.URL.Path, why))
		}
		WriteGatewayError(w, code)
	}

	if r.ContentLength > MaxRequestBytes {
		fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes is over API Gateway's 10 MB limit", r.ContentLength))
		return
	}
	body, err := readBody(r)
	if err != nil {
		fail(http.StatusBadRequest, "reading the request body: "+err.Error())
		return
	}
	if len(body) > MaxRequestBytes {
		fail(http.StatusRequestEntityTooLarge, "request body is over API Gateway's 10 MB limit")
		return
	}

	path := r.URL.Path
	stage := g.Stage
	if stage == "" {
		stage = "$default"
	}
	if stage != "$default" {
		rest, ok := strings.CutPrefix(path, "/"+stage)
		if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
			fail(http.StatusNotFound, "no stage "+stage+" in the path")
			return
		}
		if rest == "" {
			rest = "/"
		}
		path = rest
	}
	routes := g.Routes
	if len(routes) == 0 {
		routes = []string{"$default"}
	}
	key, params, ok := MatchRoute(routes, r.Method, path)
	if !ok {
		fail(http.StatusNotFound, "")
		return
	}
	apiID := g.APIID
	if apiID == "" {
		apiID = "local"
	}
	event, err := BuildEvent(r, body, EventContext{
		RouteKey: key, Stage: stage, APIID: apiID, RequestID: reqID, AccountID: g.AccountID, PathParameters: params,
	})
	if err != nil {
		fail(http.StatusInternalServerError, "building the event: "+err.Error())
		return
	}
	if len(event) > LambdaMaxPayload {
		fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("the event is %d bytes, over Lambda's 6 MB (6291456 bytes) invocation limit", len(event)))
		return
	}
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = IntegrationTimeout
	}
	// The integration runs to its own timeout even if the client goes away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), timeout)
	defer cancel()
	payload, fnErr, err := g.Invoke(ctx, event)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			fail(http.StatusServiceUnavailable, fmt.Sprintf("integration timed out after %v", timeout))
			return
		}
		fail(http.StatusInternalServerError, "invoking the function: "+err.Error())
		return
	}
	if fnErr != "" {
		fail(http.StatusInternalServerError, "the function failed ("+fnErr+"): "+truncate(string(payload), 500))
		return
	}
	status, err = writeResponse(w, payload)
	if err != nil && g.Log != nil {
		g.Log(fmt.Sprintf("gateway %d for %s %s: %v", status, r.Method, r.URL.Path, err))
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func newGatewayRequestID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return strings.TrimRight(base32.StdEncoding.EncodeToString(b[:]), "=")[:14] + "="
}

// readBody reads at most MaxRequestBytes+1 bytes, into a buffer sized once when the request
// says its length (a large body otherwise grows and is copied a dozen times).
func readBody(r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= MaxRequestBytes {
		b := make([]byte, n)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, err
		}
		return b, nil // net/http stops the body at Content-Length
	}
	return io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
}
