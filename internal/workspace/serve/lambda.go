package serve

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// EnvBundle overrides where the bundle is read (default: workspace.json beside the binary,
// i.e. /var/task/workspace.json on Lambda).
const EnvBundle = "RUDDERCTL_WORKSPACE_BUNDLE"

// Handle answers one API Gateway HTTP API (payload 2.0) event and logs one line to log:
// the route, the version id asked for and the status (never a header, the path prefix or a
// secret).
func (srv *Server) Handle(ev events.APIGatewayV2HTTPRequest, log io.Writer) events.APIGatewayV2HTTPResponse {
	q, _ := url.ParseQuery(ev.RawQueryString)
	h := http.Header{}
	for k, v := range ev.Headers {
		h.Set(k, v)
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	method := ev.RequestContext.HTTP.Method
	resp, out := srv.Serve(Request{Method: method, Path: path, Query: q, Header: h})
	route := out.Route
	if route == "" {
		route = "none"
	}
	if out.VersionID != "" {
		fmt.Fprintf(log, "rudderctl-workspace: %s %s versionId=%s status=%d\n", method, route, url.QueryEscape(out.VersionID), out.Status)
	} else {
		fmt.Fprintf(log, "rudderctl-workspace: %s %s status=%d\n", method, route, out.Status)
	}
	res := events.APIGatewayV2HTTPResponse{StatusCode: resp.Status, Headers: map[string]string{}}
	for k := range resp.Header {
		res.Headers[k] = resp.Header.Get(k)
	}
	if len(resp.Body) > 0 {
		// JSON is text; base64 only if a body were not valid UTF-8 (none is today).
		res.Body = string(resp.Body)
		if !utf8.Valid(resp.Body) {
			res.Body, res.IsBase64Encoded = base64.StdEncoding.EncodeToString(resp.Body), true
		}
	}
	return res
}

// Main is the function's main: read the bundle and the environment, then serve events. An
// error at start fails the function's init (Lambda reports it); the message names no secret.
func Main() int {
	srv, err := fromEnvironment(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rudderctl-workspace: %v\n", err)
		return 1
	}
	lambda.Start(func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return srv.Handle(ev, os.Stdout), nil
	})
	return 0
}

func fromEnvironment(getenv func(string) string) (*Server, error) {
	path := getenv(EnvBundle)
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		path = filepath.Join(filepath.Dir(exe), BundleFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the workspace bundle: %v; the zip must carry %s beside the bootstrap (rudderctl deploy workspace builds it)", err, BundleFile)
	}
	b, err := ParseBundle(data)
	if err != nil {
		return nil, err
	}
	s, err := SettingsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return New(b, s)
}
