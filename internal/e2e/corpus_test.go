package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// client sends requests exactly as given: no compression negotiation, no redirects.
var client = &http.Client{
	Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
	Timeout: 60 * time.Second,
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

type request struct {
	method, path string // path includes the query
	header       map[string][]string
	body         []byte
}

func send(t *testing.T, base string, r request) reply {
	t.Helper()
	req, err := http.NewRequest(r.method, base+r.path, bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.body == nil {
		req.Body = nil
		req.ContentLength = 0
	}
	for k, vs := range r.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "rudderctl-e2e")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s%s: %v", r.method, base, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s%s: reading body: %v", r.method, base, r.path, err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

// ignoredHeaders differ by nature between the two paths: connection handling, the moment,
// framing, and what the gateway adds.
var ignoredHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Transfer-Encoding": true, "Date": true,
	"Content-Length": true, "Apigw-Requestid": true,
}

// echoedGatewayHeaders are request headers API Gateway adds (or rewrites) on the way in; the
// echo route reflects them as x-echo-<name>.
var echoedGatewayHeaders = map[string]bool{
	"X-Echo-Host": true, "X-Echo-X-Amzn-Trace-Id": true, "X-Echo-X-Forwarded-For": true,
	"X-Echo-X-Forwarded-Port": true, "X-Echo-X-Forwarded-Proto": true,
}

// normHeaders makes headers comparable: repeated fields and comma lists are the same thing in
// HTTP (API Gateway's payload 2.0 joins them with commas); Set-Cookie stays a list.
func normHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, vs := range h {
		if ignoredHeaders[k] || echoedGatewayHeaders[k] {
			continue
		}
		if k == "Set-Cookie" {
			s := append([]string(nil), vs...)
			sort.Strings(s)
			out[k] = strings.Join(s, "\n")
			continue
		}
		var parts []string
		for _, v := range vs {
			for _, p := range strings.Split(v, ",") {
				parts = append(parts, strings.TrimSpace(p))
			}
		}
		out[k] = strings.Join(parts, ",")
	}
	return out
}

func short(b []byte) string {
	if len(b) > 300 {
		return fmt.Sprintf("%q... (%d bytes)", b[:300], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// assertSame checks that the Lambda path answers r exactly as the app does directly.
func assertSame(t *testing.T, w *world, r request) reply {
	t.Helper()
	direct := send(t, w.direct, r)
	lr := r
	lr.path = secret + r.path
	viaLambda := send(t, w.gateway.URL, lr)
	if direct.status != viaLambda.status {
		t.Errorf("status: direct %d, via Lambda %d (body %s)", direct.status, viaLambda.status, short(viaLambda.body))
	}
	if !bytes.Equal(direct.body, viaLambda.body) {
		t.Errorf("body differs: direct %s, via Lambda %s", short(direct.body), short(viaLambda.body))
	}
	dh, lh := normHeaders(direct.header), normHeaders(viaLambda.header)
	if !reflect.DeepEqual(dh, lh) {
		for k := range merge(dh, lh) {
			if dh[k] != lh[k] {
				t.Errorf("header %s: direct %q, via Lambda %q", k, dh[k], lh[k])
			}
		}
	}
	return viaLambda
}

func merge(a, b map[string]string) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

// adapterError checks a clear error of the adapter: status and {"error", "source"}.
func adapterError(t *testing.T, rep reply, status int, mention string) {
	t.Helper()
	var e struct{ Error, Source string }
	if rep.status != status || json.Unmarshal(rep.body, &e) != nil || e.Source != "rudderctl-adapter" ||
		!strings.Contains(strings.ToLower(e.Error), mention) {
		t.Errorf("want the adapter's %d JSON error mentioning %q, got %d %s", status, mention, rep.status, short(rep.body))
	}
	if ct := rep.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("adapter error content-type %q", ct)
	}
}

func gatewayError(t *testing.T, rep reply, status int, message string) {
	t.Helper()
	want := `{"message":"` + message + `"}`
	if rep.status != status || string(rep.body) != want {
		t.Errorf("want the gateway's %d %s, got %d %s", status, want, rep.status, short(rep.body))
	}
}

func jsonHeader() map[string][]string {
	return map[string][]string{"Content-Type": {"application/json"}}
}

// TestCorpusSameAsDirect: every request of the corpus gets the same answer through API Gateway
// + Lambda (RIE, wrapper, adapter) as from the app itself.
func TestCorpusSameAsDirect(t *testing.T) {
	w := setup(t)
	allBytes := make([]byte, 512)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	webhook := `[{"message":{"type":"track","event":"Order Completed","messageId":"m1","properties":{"total":9.99,"emoji":"✓"}},` +
		`"destination":{"ID":"d1","Config":{"webhookUrl":"https://example.com/hook","webhookMethod":"POST"}},"metadata":{"jobId":1}},` +
		`{"message":{"type":"identify","userId":"u2"},"destination":{"ID":"d2","Config":{}},"metadata":{"jobId":2}}]`
	router := `{"destType":"webhook","input":[{"message":{"type":"track","event":"x"},"destination":{"ID":"d1","Config":{"webhookUrl":"https://example.com/h"}},"metadata":{"jobId":3}}]}`
	custom := `[{"message":{"event":"a","n":1},"metadata":{"jobId":1},"transformation":{"versionId":"v1","code":"export function transformEvent(e, md) { e.job = md().jobId; e.n = e.n * 2; return e; }"}},` +
		`{"message":{"event":"b"},"metadata":{"jobId":2},"transformation":{"versionId":"v2","code":"function transformEvent(e) { throw new Error('nope') }"}}]`
	big59 := []byte(`{"pad":"` + strings.Repeat("r", 5900*1024) + `"}`) // 5.9 MB of JSON

	cases := map[string]request{
		"health":                 {method: "GET", path: "/health"},
		"head health":            {method: "HEAD", path: "/health"},
		"features":               {method: "GET", path: "/features"},
		"webhook processor":      {method: "POST", path: "/v0/destinations/webhook", header: jsonHeader(), body: []byte(webhook)},
		"unknown destination":    {method: "POST", path: "/v0/destinations/nope", header: jsonHeader(), body: []byte(`[]`)},
		"bad processor body":     {method: "POST", path: "/v0/destinations/webhook", header: jsonHeader(), body: []byte(`{"not":"an array"}`)},
		"router transform":       {method: "POST", path: "/routerTransform", header: jsonHeader(), body: []byte(router)},
		"custom transform (ivm)": {method: "POST", path: "/customTransform", header: jsonHeader(), body: []byte(custom)},
		"404 unknown path":       {method: "GET", path: "/no/such/route"},
		"404 encoded path":       {method: "GET", path: "/no%20such/p%C3%A4th%2Fx"},
		"405 method":             {method: "DELETE", path: "/health"},
		"echo json":              {method: "POST", path: "/test/echo", header: jsonHeader(), body: []byte(`{"a":[1,2,3],"s":"x\"y\\z\u00e9"}`)},
		"echo query exact": {method: "GET", path: "/test/echo?a=1&a=2&b=x%20y&c=%2F%3F&d=+plus&empty=&flag&%C3%A9=%C3%A9&semi=1;2",
			header: map[string][]string{"X-Custom": {"v"}}},
		"echo binary": {method: "PUT", path: "/test/echo",
			header: map[string][]string{"Content-Type": {"application/octet-stream"}}, body: allBytes},
		"echo no content-type": {method: "POST", path: "/test/echo", body: []byte("plain bytes")},
		"echo text utf8":       {method: "PATCH", path: "/test/echo", header: map[string][]string{"Content-Type": {"text/plain; charset=utf-8"}}, body: []byte("héllo wörld ✓\n")},
		"echo form":            {method: "POST", path: "/test/echo", header: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}, body: []byte("a=1&b=%20")},
		"echo cookies in":      {method: "GET", path: "/test/echo", header: map[string][]string{"Cookie": {"a=1; b=two; c="}}},
		"echo repeated header": {method: "GET", path: "/test/echo", header: map[string][]string{"X-Multi": {"one", "two"}, "Accept": {"text/html", "application/json;q=0.9"}}},
		"echo options":         {method: "OPTIONS", path: "/test/echo"},
		"gzip response":        {method: "GET", path: "/test/gzip", header: map[string][]string{"Accept-Encoding": {"gzip"}}},
		"binary response":      {method: "GET", path: "/test/binary?bytes=100000"},
		"binary 1 byte":        {method: "GET", path: "/test/binary?bytes=1"},
		"set-cookies":          {method: "GET", path: "/test/cookies"},
		"repeated header out":  {method: "GET", path: "/test/repeat-header"},
		"status 201":           {method: "GET", path: "/test/status/201"},
		"status 204":           {method: "GET", path: "/test/status/204"},
		"status 302":           {method: "GET", path: "/test/status/302"},
		"status 304":           {method: "GET", path: "/test/status/304"},
		"status 404":           {method: "GET", path: "/test/status/404"},
		"status 500":           {method: "GET", path: "/test/status/500"},
		"status 503":           {method: "GET", path: "/test/status/503"},
		"status invalid":       {method: "GET", path: "/test/status/abc"},
		"big 1 MB text":        {method: "GET", path: "/test/big?bytes=1000000"},
		"big 6,000,000 text":   {method: "GET", path: "/test/big?bytes=6000000"},
		"slow under deadline":  {method: "GET", path: "/test/slow?ms=500"},
		"5.9 MB body":          {method: "POST", path: "/test/echo", header: jsonHeader(), body: big59},
	}
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			rep := assertSame(t, w, cases[name])
			if t.Failed() {
				t.Logf("function log tail:\n%s", tail(w.functionLog(), 15))
			}
			_ = rep
		})
	}
	// The echo envelope: the app sees the same request, apart from what the gateway adds.
	t.Run("echo envelope", func(t *testing.T) {
		r := request{method: "POST", path: "/test/echo?json=1&x=%41", header: map[string][]string{
			"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}, "Cookie": {"k=v; k2=v2"}}, body: []byte(`{"z":1}`)}
		type envelope struct {
			Method, Path, Query, Body, BodyBase64 string
			BodyLength                            int
			Headers                               map[string]string
		}
		var d, l envelope
		dr := send(t, w.direct, r)
		lreq := r
		lreq.path = secret + r.path
		lrep := send(t, w.gateway.URL, lreq)
		if err := json.Unmarshal(dr.body, &d); err != nil {
			t.Fatalf("direct: %v %s", err, short(dr.body))
		}
		if err := json.Unmarshal(lrep.body, &l); err != nil {
			t.Fatalf("via Lambda: %v %s", err, short(lrep.body))
		}
		for _, h := range []string{"host", "x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"} {
			delete(d.Headers, h)
			delete(l.Headers, h)
		}
		// Repeated request headers reach the app comma-joined either way (Node joins with ", ",
		// API Gateway with ",").
		for _, m := range []map[string]string{d.Headers, l.Headers} {
			for k, v := range m {
				m[k] = strings.ReplaceAll(v, ", ", ",")
			}
		}
		if !reflect.DeepEqual(d, l) {
			t.Errorf("the app saw different requests:\ndirect     %+v\nvia Lambda %+v", d, l)
		}
	})
}

// TestLambdaLimitsAndFailures: where Lambda and API Gateway cannot give the app's answer, the
// answer is the specified clear error, and the function recovers.
func TestLambdaLimitsAndFailures(t *testing.T) {
	w := setup(t)
	gw := w.gateway.URL + secret

	t.Run("response over 6 MB -> adapter 502", func(t *testing.T) {
		direct := send(t, w.direct, request{method: "GET", path: "/test/big?bytes=7000000"})
		if direct.status != 200 || len(direct.body) != 7000000 {
			t.Fatalf("direct: %d, %d bytes", direct.status, len(direct.body))
		}
		adapterError(t, send(t, gw, request{method: "GET", path: "/test/big?bytes=7000000"}), 502, "too large")
		adapterError(t, send(t, gw, request{method: "GET", path: "/test/binary?bytes=5000000"}), 502, "too large")
	})

	t.Run("past the deadline -> adapter 504, then fine", func(t *testing.T) {
		t0 := time.Now()
		rep := send(t, gw, request{method: "GET", path: "/test/slow?ms=6000"})
		took := time.Since(t0)
		adapterError(t, rep, 504, "")
		if took > functionTimeout+2*time.Second {
			t.Errorf("the deadline answer took %v with a %v function timeout", took, functionTimeout)
		}
		assertSame(t, w, request{method: "GET", path: "/health"})
	})

	t.Run("without the prefix -> adapter 404", func(t *testing.T) {
		for _, p := range []string{"/health", "/e2e-s3cr3tX/health", "/test/echo"} {
			adapterError(t, send(t, w.gateway.URL, request{method: "GET", path: p}), 404, "prefix")
		}
		// Prefix alone and with a trailing slash reach the app's root.
		direct := send(t, w.direct, request{method: "GET", path: "/"})
		for _, p := range []string{secret, secret + "/"} {
			rep := send(t, w.gateway.URL, request{method: "GET", path: p})
			if rep.status != direct.status {
				t.Errorf("GET %s: %d, the app's / answers %d", p, rep.status, direct.status)
			}
		}
	})

	t.Run("deploy routes: gateway 404 without the prefix", func(t *testing.T) {
		gatewayError(t, send(t, w.deployGW.URL, request{method: "GET", path: "/health"}), 404, "Not Found")
		rep := send(t, w.deployGW.URL, request{method: "POST", path: secret + "/v0/destinations/webhook", header: jsonHeader(), body: []byte(`[]`)})
		if rep.status != 200 || string(rep.body) != "[]" || rep.header.Get("apiVersion") != "2" {
			t.Errorf("webhook through deploy routes: %d %s %v", rep.status, short(rep.body), rep.header)
		}
	})

	t.Run("request over 10 MB -> gateway 413, nothing invoked", func(t *testing.T) {
		before := strings.Count(w.functionLog(), "START RequestId")
		rep := send(t, gw, request{method: "POST", path: "/test/echo", header: jsonHeader(), body: bytes.Repeat([]byte("a"), 10<<20+1)})
		gatewayError(t, rep, 413, "Request Entity Too Large")
		// Over Lambda's 6 MB as an event (base64 makes 5 MB binary 6.7 MB).
		rep = send(t, gw, request{method: "POST", path: "/test/echo", header: map[string][]string{"Content-Type": {"application/octet-stream"}},
			body: bytes.Repeat([]byte{0xff}, 5<<20)})
		gatewayError(t, rep, 413, "Request Entity Too Large")
		if after := strings.Count(w.functionLog(), "START RequestId"); after != before {
			t.Errorf("the function was invoked for an oversize request")
		}
	})

	for _, crash := range []string{"/test/crash?code=3", "/test/crash?code=0", "/test/crash?code=1&partial=1"} {
		t.Run("app crash "+crash+" -> gateway 500, then re-init", func(t *testing.T) {
			rep := send(t, gw, request{method: "POST", path: crash})
			gatewayError(t, rep, 500, "Internal Server Error")
			for i := 0; i < 2; i++ {
				assertSame(t, w, request{method: "GET", path: "/features"})
			}
			assertSame(t, w, request{method: "POST", path: "/customTransform", header: jsonHeader(),
				body: []byte(`[{"message":{"n":1},"metadata":{"jobId":7},"transformation":{"versionId":"v","code":"function transformEvent(e){return e}"}}]`)})
		})
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
