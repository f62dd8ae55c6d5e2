package apigwlocal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestGateway(t *testing.T) {
	var calls atomic.Int32
	var last atomic.Value
	g := &Gateway{
		Routes: []string{"ANY /{proxy+}", "POST /customTransform"},
		Stage:  "prod",
		APIID:  "api1",
		Invoke: func(ctx context.Context, event []byte) ([]byte, string, error) {
			calls.Add(1)
			last.Store(event)
			var e Event
			if err := json.Unmarshal(event, &e); err != nil {
				return nil, "", err
			}
			switch e.RequestContext.HTTP.Path {
			case "/prod/fail":
				return []byte(`{"errorType":"Runtime.ExitError","errorMessage":"boom"}`), "Unhandled", nil
			case "/prod/slow":
				<-ctx.Done()
				return nil, "", ctx.Err()
			case "/prod/broken":
				return nil, "", errors.New("emulator gone")
			case "/prod/garbage":
				return []byte(`not json`), "", nil
			}
			return []byte(`{"statusCode":200,"headers":{"content-type":"text/plain","apiVersion":"2"},"body":"route=` + e.RouteKey + `"}`), "", nil
		},
		Timeout: 300 * time.Millisecond,
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	do := func(method, path string, body []byte) (int, string, http.Header) {
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}

	if st, b, h := do("POST", "/prod/customTransform", []byte(`[]`)); st != 200 || b != "route=POST /customTransform" || h.Get("Apiversion") != "2" || h.Get("Apigw-Requestid") == "" {
		t.Errorf("customTransform: %d %q %v", st, b, h)
	}
	var e Event
	_ = json.Unmarshal(last.Load().([]byte), &e)
	if e.RawPath != "/prod/customTransform" || e.RequestContext.Stage != "prod" || e.RequestContext.APIID != "api1" {
		t.Errorf("event: %+v", e)
	}
	if st, b, _ := do("GET", "/prod/health", nil); st != 200 || b != "route=ANY /{proxy+}" {
		t.Errorf("proxy: %d %q", st, b)
	}
	n := calls.Load()
	if st, b, _ := do("GET", "/health", nil); st != 404 || b != `{"message":"Not Found"}` {
		t.Errorf("no stage: %d %q", st, b)
	}
	if st, _, _ := do("GET", "/prod", nil); st != 404 {
		t.Errorf("stage root without route: %d", st)
	}
	if st, b, _ := do("POST", "/prod/x", bytes.Repeat([]byte("a"), MaxRequestBytes+1)); st != 413 || b != `{"message":"Request Entity Too Large"}` {
		t.Errorf("over 10 MB: %d %q", st, b)
	}
	// Under the gateway's limit, over Lambda's: refused without invoking too.
	if st, _, _ := do("POST", "/prod/x", bytes.Repeat([]byte("a"), 7<<20)); st != 413 {
		t.Errorf("over 6 MB: %d", st)
	}
	if calls.Load() != n {
		t.Errorf("refused requests reached the function")
	}
	if st, b, _ := do("GET", "/prod/fail", nil); st != 500 || b != `{"message":"Internal Server Error"}` {
		t.Errorf("function error: %d %q", st, b)
	}
	if st, b, _ := do("GET", "/prod/slow", nil); st != 503 || b != `{"message":"Service Unavailable"}` {
		t.Errorf("timeout: %d %q", st, b)
	}
	if st, _, _ := do("GET", "/prod/broken", nil); st != 500 {
		t.Errorf("invoke error: %d", st)
	}
	if st, _, _ := do("GET", "/prod/garbage", nil); st != 500 {
		t.Errorf("bad payload: %d", st)
	}
	// 5.9 MB of text goes through (the event stays under 6 MB).
	big := strings.Repeat("b", 5900*1024)
	req, _ := http.NewRequest("POST", srv.URL+"/prod/echo", strings.NewReader(big))
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("5.9 MB text body: %d", resp.StatusCode)
	}
}
