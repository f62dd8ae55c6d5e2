package lambda

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func startTestAdapter(t *testing.T, transport, prefix string) (*Adapter, *App) {
	t.Helper()
	app, err := StartApp(context.Background(), appConfig(t, transport))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Stop(time.Second) })
	return NewAdapter(app, prefix), app
}

func payload(t testing.TB, ev Event) []byte {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func invoke(t *testing.T, a *Adapter, ctx context.Context, ev Event) events.APIGatewayV2HTTPResponse {
	t.Helper()
	out, err := a.Invoke(ctx, payload(t, ev))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response is not JSON: %v: %.300s", err, out)
	}
	return resp
}

func respBody(t *testing.T, r events.APIGatewayV2HTTPResponse) []byte {
	t.Helper()
	if !r.IsBase64Encoded {
		return []byte(r.Body)
	}
	b, err := base64.StdEncoding.DecodeString(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type echoed struct {
	Method, URI, Host, Body64, Proto string
	Headers                          http.Header
	ContentLength                    int64
}

func TestAdapterEcho(t *testing.T) {
	for _, tr := range []string{TransportTCP, TransportUnix} {
		t.Run(tr, func(t *testing.T) {
			a, _ := startTestAdapter(t, tr, "/k3x9")
			bin := []byte{0, 1, 2, 0xff, 0xfe, '\n'}
			ev := event("POST", "/k3x9/echo/a%2Fb%20c", "x=%20y&z=a+b&w=%zz&e=",
				map[string]string{"host": "api.example.com", "content-type": "application/octet-stream",
					"x-repeated": "a,b", "connection": "close", "accept-encoding": "gzip, br", "apiversion": "2"},
				[]string{"s=1", "t=2"}, base64.StdEncoding.EncodeToString(bin), true)
			resp := invoke(t, a, context.Background(), ev)
			if resp.StatusCode != 200 || resp.Headers["apiversion"] != "2" {
				t.Fatalf("status %d headers %v body %s", resp.StatusCode, resp.Headers, resp.Body)
			}
			var e echoed
			if err := json.Unmarshal(respBody(t, resp), &e); err != nil {
				t.Fatal(err)
			}
			got, _ := base64.StdEncoding.DecodeString(e.Body64)
			if e.Method != "POST" || e.URI != "/echo/a%2Fb%20c?x=%20y&z=a+b&w=%zz&e=" || e.Host != "api.example.com" ||
				!bytes.Equal(got, bin) || e.ContentLength != int64(len(bin)) || e.Proto != "HTTP/1.1" {
				t.Errorf("app saw %+v body %q", e, got)
			}
			h := e.Headers
			if h.Get("Cookie") != "s=1; t=2" || h.Get("X-Repeated") != "a,b" || h.Get("Accept-Encoding") != "gzip, br" ||
				h.Get("Connection") != "" || h.Get("User-Agent") != "" || h.Get("Apiversion") != "2" {
				t.Errorf("app saw headers %v", h)
			}
			// A second request reuses the keep-alive connection and still works.
			resp = invoke(t, a, context.Background(), event("GET", "/k3x9/echo", "", nil, nil, "", false))
			if resp.StatusCode != 200 {
				t.Errorf("second request: %d", resp.StatusCode)
			}
		})
	}
}

func TestAdapterResponses(t *testing.T) {
	a, _ := startTestAdapter(t, DefaultTransport, "")
	ctx := context.Background()

	gz := invoke(t, a, ctx, event("GET", "/gzip", "", map[string]string{"accept-encoding": "gzip"}, nil, "", false))
	if !gz.IsBase64Encoded || gz.Headers["content-encoding"] != "gzip" || gz.Headers["x-seen-accept-encoding"] != "gzip" {
		t.Errorf("gzip: %+v", gz)
	}
	zr, err := gzip.NewReader(bytes.NewReader(respBody(t, gz)))
	if err != nil {
		t.Fatalf("gzip body was altered: %v", err)
	}
	if b, _ := io.ReadAll(zr); string(b) != `{"zipped":true}` {
		t.Errorf("gunzipped %q", b)
	}
	// Without the client asking, the adapter must not ask for gzip itself.
	plain := invoke(t, a, ctx, event("GET", "/gzip", "", nil, nil, "", false))
	if plain.Headers["x-seen-accept-encoding"] != "" {
		t.Errorf("adapter added Accept-Encoding %q", plain.Headers["x-seen-accept-encoding"])
	}

	ck := invoke(t, a, ctx, event("GET", "/cookies", "", nil, nil, "", false))
	if ck.StatusCode != 201 || len(ck.Cookies) != 2 || ck.Cookies[0] != "a=1; Path=/" || ck.Cookies[1] != "b=2; HttpOnly" ||
		ck.Headers["x-multi"] != "one, two" || ck.Headers["set-cookie"] != "" {
		t.Errorf("cookies: %+v", ck)
	}

	raw := invoke(t, a, ctx, event("POST", "/raw", "", map[string]string{"content-type": "text/plain; charset=utf-8"},
		nil, "héllo \"wörld\"\n", false))
	if raw.IsBase64Encoded || raw.Body != "héllo \"wörld\"\n" {
		t.Errorf("text: %+v", raw)
	}

	for _, code := range []string{"302", "404", "500", "503"} {
		r := invoke(t, a, ctx, event("GET", "/status/"+code, "", nil, nil, "", false))
		if want := code; r.StatusCode != atoi(want) {
			t.Errorf("status %s passed as %d", code, r.StatusCode)
		}
	}

	big := invoke(t, a, ctx, event("GET", "/big", "bytes=1048576", nil, nil, "", false))
	if len(big.Body) != 1<<20 {
		t.Errorf("1 MB body came back as %d bytes", len(big.Body))
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func adapterError(t *testing.T, r events.APIGatewayV2HTTPResponse) string {
	t.Helper()
	var e struct{ Error, Source string }
	if err := json.Unmarshal([]byte(r.Body), &e); err != nil || e.Source != "rudderctl-adapter" {
		t.Fatalf("not an adapter error: %v %s", err, r.Body)
	}
	return e.Error
}

func TestAdapterOversize(t *testing.T) {
	a, app := startTestAdapter(t, DefaultTransport, "")
	for _, q := range []string{"bytes=7000000", "bytes=7000000&length=1", "bytes=50000000"} {
		r := invoke(t, a, context.Background(), event("GET", "/big", q, nil, nil, "", false))
		if r.StatusCode != 502 || !strings.Contains(adapterError(t, r), "too large") {
			t.Errorf("%s: %d %.200s", q, r.StatusCode, r.Body)
		}
	}
	// The limit is on the encoded payload, not the body: bodies under 6 MB that grow past it
	// once JSON-escaped (quotes double) or base64-encoded (binary: 4/3) are refused too.
	for _, q := range []string{"bytes=4194304&fill=quote", "bytes=5242880&fill=binary"} {
		r := invoke(t, a, context.Background(), event("GET", "/big", q, nil, nil, "", false))
		if r.StatusCode != 502 || !strings.Contains(adapterError(t, r), "too large") {
			t.Errorf("%s: want 502 too large, got %d %.200s", q, r.StatusCode, r.Body)
		}
	}
	if r := invoke(t, a, context.Background(), event("GET", "/big", "bytes=4194304&fill=binary", nil, nil, "", false)); r.StatusCode != 200 || !r.IsBase64Encoded || len(r.Body) != base64.StdEncoding.EncodedLen(4<<20) {
		t.Errorf("4 MB binary fits once base64-encoded: status %d, base64 %v, %d bytes", r.StatusCode, r.IsBase64Encoded, len(r.Body))
	}
	// HEAD of a big resource: the Content-Length is passed on, no body, no 502.
	head := invoke(t, a, context.Background(), event("HEAD", "/big", "bytes=7000000&length=1", nil, nil, "", false))
	if head.StatusCode != 200 || head.Headers["content-length"] != "7000000" || head.Body != "" {
		t.Errorf("HEAD: %d %v %.100s", head.StatusCode, head.Headers, head.Body)
	}
	// Just under the limit once the envelope is counted still fits.
	r := invoke(t, a, context.Background(), event("GET", "/big", "bytes=6291000", nil, nil, "", false))
	if r.StatusCode != 200 || len(r.Body) != 6291000 {
		t.Errorf("near-limit body: status %d, %d bytes", r.StatusCode, len(r.Body))
	}
	if app.Exited() {
		t.Error("app died")
	}
}

func TestAdapterPrefix(t *testing.T) {
	a, _ := startTestAdapter(t, DefaultTransport, "/abc")
	for _, p := range []string{"/abcd/echo", "/echo", "/", "/ab"} {
		r := invoke(t, a, context.Background(), event("GET", p, "", nil, nil, "", false))
		if r.StatusCode != 404 || strings.Contains(adapterError(t, r), "abc") {
			t.Errorf("%s: %d %s", p, r.StatusCode, r.Body)
		}
	}
	hits := invoke(t, a, context.Background(), event("GET", "/abc/hits", "", nil, nil, "", false))
	if hits.StatusCode != 200 || hits.Body != "0" {
		t.Errorf("the app was reached by unprefixed requests: hits %q (status %d)", hits.Body, hits.StatusCode)
	}
	if r := invoke(t, a, context.Background(), event("GET", "/abc/echo", "", nil, nil, "", false)); r.StatusCode != 200 {
		t.Errorf("prefixed: %d", r.StatusCode)
	}
}

func TestAdapterDeadline(t *testing.T) {
	a, app := startTestAdapter(t, DefaultTransport, "")
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	r := invoke(t, a, ctx, event("GET", "/slow", "ms=3000", nil, nil, "", false))
	// Answered before the invocation deadline (the context is still live), not after the
	// app's 3 s: the adapter's own 504, not Lambda's timeout.
	if ctx.Err() != nil {
		t.Error("answered after the invocation deadline")
	}
	if r.StatusCode != 504 || !strings.Contains(adapterError(t, r), "did not answer within") {
		t.Errorf("%d %s", r.StatusCode, r.Body)
	}
	// The app is fine and the next request works.
	if r := invoke(t, a, context.Background(), event("GET", "/slow", "ms=1", nil, nil, "", false)); r.StatusCode != 200 || app.Exited() {
		t.Errorf("after a timeout: %d", r.StatusCode)
	}
}

func TestAdapterAppCrash(t *testing.T) {
	for _, tr := range []string{TransportTCP, TransportUnix} {
		t.Run(tr, func(t *testing.T) {
			a, app := startTestAdapter(t, tr, "")
			_, err := a.Invoke(context.Background(), payload(t, event("POST", "/crash", "code=42", nil, nil, "", false)))
			var exitErr *AppExitedError
			if !errors.As(err, &exitErr) {
				t.Fatalf("err = %v", err)
			}
			if exitErr.Status != 42 || !strings.Contains(err.Error(), "testapp: crashing with 42") {
				t.Errorf("status %d, message %s", exitErr.Status, err)
			}
			if !app.Exited() {
				t.Error("app still running")
			}
			// Later invocations fail the same way without trying the dead app.
			if _, err := a.Invoke(context.Background(), payload(t, event("GET", "/health", "", nil, nil, "", false))); !errors.As(err, &exitErr) {
				t.Errorf("after the crash: %v", err)
			}
		})
	}
}

func TestAdapterNotHTTPEvent(t *testing.T) {
	a, _ := startTestAdapter(t, DefaultTransport, "")
	if _, err := a.Invoke(context.Background(), []byte(`{"key":"value"}`)); err == nil {
		t.Error("a non-HTTP event was answered")
	}
}
