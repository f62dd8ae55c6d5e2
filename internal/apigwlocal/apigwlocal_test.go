package apigwlocal

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestMatchRoute(t *testing.T) {
	routes := []string{
		"ANY /{proxy+}",
		"POST /customTransform",
		"GET /pets/{id}",
		"ANY /pets/dog",
		"GET /pets/dog",
		"GET /files/{proxy+}",
		"GET /files/{dir}/{name}",
		"GET /",
	}
	cases := []struct {
		method, path string
		key          string
		params       map[string]string
		ok           bool
	}{
		{"POST", "/customTransform", "POST /customTransform", nil, true},
		{"GET", "/customTransform", "ANY /{proxy+}", map[string]string{"proxy": "customTransform"}, true},
		{"POST", "/v0/destinations/webhook", "ANY /{proxy+}", map[string]string{"proxy": "v0/destinations/webhook"}, true},
		{"GET", "/pets/dog", "GET /pets/dog", nil, true},
		{"POST", "/pets/dog", "ANY /pets/dog", nil, true},
		{"GET", "/pets/cat", "GET /pets/{id}", map[string]string{"id": "cat"}, true},
		{"DELETE", "/pets/cat", "ANY /{proxy+}", map[string]string{"proxy": "pets/cat"}, true},
		{"GET", "/files/a/b", "GET /files/{dir}/{name}", map[string]string{"dir": "a", "name": "b"}, true},
		{"GET", "/files/a/b/c", "GET /files/{proxy+}", map[string]string{"proxy": "a/b/c"}, true},
		{"GET", "/files/a", "GET /files/{proxy+}", map[string]string{"proxy": "a"}, true},
		{"GET", "/", "GET /", nil, true},
		{"POST", "/", "", nil, false}, // {proxy+} needs a segment; no $default
	}
	for _, c := range cases {
		key, params, ok := MatchRoute(routes, c.method, c.path)
		if key != c.key || ok != c.ok || !reflect.DeepEqual(params, c.params) {
			t.Errorf("%s %s: got (%q, %v, %v), want (%q, %v, %v)", c.method, c.path, key, params, ok, c.key, c.params, c.ok)
		}
	}
	// $default catches the rest, but loses to any matching route.
	withDefault := []string{"$default", "POST /customTransform"}
	if key, _, ok := MatchRoute(withDefault, "POST", "/"); !ok || key != "$default" {
		t.Errorf("$default: got %q %v", key, ok)
	}
	if key, _, _ := MatchRoute(withDefault, "POST", "/customTransform"); key != "POST /customTransform" {
		t.Errorf("specific over $default: got %q", key)
	}
	if _, _, ok := MatchRoute(nil, "GET", "/x"); ok {
		t.Errorf("no routes matched something")
	}
	// Literal segments beat parameters even with a specific method on the parameter route.
	if key, _, _ := MatchRoute([]string{"GET /a/{x}", "ANY /a/b"}, "GET", "/a/b"); key != "ANY /a/b" {
		t.Errorf("exact path over method: got %q", key)
	}
}

func decodeEvent(t *testing.T, b []byte) events.APIGatewayV2HTTPRequest {
	t.Helper()
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("event %s: %v", b, err)
	}
	return e
}

func TestBuildEvent(t *testing.T) {
	r := httptest.NewRequest("POST", "/v0/destinations/webhook?b=2&a=1&a=x%20y&flag&", strings.NewReader(`{"x":1}`))
	r.Host = "abc123.execute-api.localhost:8080"
	r.Header.Set("Content-Type", "application/json")
	r.Header.Add("X-Repeat", "one")
	r.Header.Add("X-Repeat", "two")
	r.Header.Set("Cookie", "a=1; b=2")
	r.Header.Set("User-Agent", "test-agent/1")
	r.Header.Set("Connection", "keep-alive")
	r.Header.Set("Expect", "100-continue")
	r.RemoteAddr = "192.0.2.7:5555"
	b, err := BuildEvent(r, []byte(`{"x":1}`), EventContext{RouteKey: "ANY /{proxy+}", APIID: "abc123", RequestID: "req-1",
		PathParameters: map[string]string{"proxy": "v0/destinations/webhook"}})
	if err != nil {
		t.Fatal(err)
	}
	e := decodeEvent(t, b)
	if e.Version != "2.0" || e.RouteKey != "ANY /{proxy+}" || e.RawPath != "/v0/destinations/webhook" ||
		e.RawQueryString != "b=2&a=1&a=x%20y&flag&" {
		t.Errorf("event head: %+v", e)
	}
	if !reflect.DeepEqual(e.Cookies, []string{"a=1", "b=2"}) {
		t.Errorf("cookies %v", e.Cookies)
	}
	wantQ := map[string]string{"a": "1,x y", "b": "2", "flag": ""}
	if !reflect.DeepEqual(e.QueryStringParameters, wantQ) {
		t.Errorf("query %v", e.QueryStringParameters)
	}
	if e.Headers["x-repeat"] != "one,two" || e.Headers["content-type"] != "application/json" ||
		e.Headers["host"] != "abc123.execute-api.localhost:8080" || e.Headers["content-length"] != "7" ||
		e.Headers["x-forwarded-for"] != "192.0.2.7" || e.Headers["x-forwarded-port"] != "8080" {
		t.Errorf("headers %v", e.Headers)
	}
	for _, k := range []string{"cookie", "connection", "expect", "Content-Type"} {
		if _, ok := e.Headers[k]; ok {
			t.Errorf("header %q should not be in the event", k)
		}
	}
	if e.Body != `{"x":1}` || e.IsBase64Encoded {
		t.Errorf("body %q base64=%v", e.Body, e.IsBase64Encoded)
	}
	rc := e.RequestContext
	if rc.APIID != "abc123" || rc.RequestID != "req-1" || rc.Stage != "$default" || rc.RouteKey != "ANY /{proxy+}" ||
		rc.DomainName != "abc123.execute-api.localhost" || rc.DomainPrefix != "abc123" || rc.AccountID != "000000000000" ||
		rc.HTTP.Method != "POST" || rc.HTTP.Path != "/v0/destinations/webhook" || rc.HTTP.Protocol != "HTTP/1.1" ||
		rc.HTTP.SourceIP != "192.0.2.7" || rc.HTTP.UserAgent != "test-agent/1" || rc.TimeEpoch == 0 || rc.Time == "" {
		t.Errorf("requestContext %+v", rc)
	}
	r = httptest.NewRequest("GET", "/a%20b/c%2Fd?q=%41", nil)
	e = decodeEvent(t, must(BuildEvent(r, nil, EventContext{})))
	if e.RawPath != "/a%20b/c%2Fd" || e.RawQueryString != "q=%41" || e.QueryStringParameters["q"] != "A" {
		t.Errorf("encoded path: rawPath %q rawQueryString %q query %v", e.RawPath, e.RawQueryString, e.QueryStringParameters)
	}
	if e.PathParameters != nil {
		t.Errorf("pathParameters %v without a parameter route", e.PathParameters)
	}
	e = decodeEvent(t, b)
	if e.PathParameters["proxy"] != "v0/destinations/webhook" {
		t.Errorf("pathParameters %v", e.PathParameters)
	}
	// The authentication block aws-lambda-go's type always has is not sent.
	if strings.Contains(string(b), "authentication") || strings.Contains(string(b), "stageVariables") {
		t.Errorf("event has fields the gateway does not send: %s", b)
	}
}

func TestBuildEventBodies(t *testing.T) {
	bin := []byte{0xff, 0x00, 0x10, 0x80}
	cases := []struct {
		ctype  string
		body   []byte
		base64 bool
	}{
		{"application/json; charset=utf-8", []byte(`[1]`), false},
		{"text/plain", []byte("héllo"), false},
		{"application/vnd.api+json", []byte(`{}`), false},
		{"application/x-www-form-urlencoded", []byte("a=1"), false},
		{"application/octet-stream", []byte("abc"), true},
		{"", []byte("abc"), true},
		{"text/plain", bin, true},
		{"image/png", bin, true},
	}
	for _, c := range cases {
		r := httptest.NewRequest("PUT", "/x", nil)
		if c.ctype != "" {
			r.Header.Set("Content-Type", c.ctype)
		}
		b, err := BuildEvent(r, c.body, EventContext{})
		if err != nil {
			t.Fatal(err)
		}
		e := decodeEvent(t, b)
		if e.IsBase64Encoded != c.base64 {
			t.Errorf("%q %q: base64=%v, want %v", c.ctype, c.body, e.IsBase64Encoded, c.base64)
		}
		got := []byte(e.Body)
		if e.IsBase64Encoded {
			got, _ = base64.StdEncoding.DecodeString(e.Body)
		}
		if string(got) != string(c.body) {
			t.Errorf("%q: body round trip %q != %q", c.ctype, got, c.body)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	b, _ := BuildEvent(r, nil, EventContext{})
	e := decodeEvent(t, b)
	if e.Body != "" || e.IsBase64Encoded || e.RouteKey != "$default" || e.Cookies != nil || e.QueryStringParameters != nil {
		t.Errorf("empty GET event: %s", b)
	}
}

func TestWriteResponse(t *testing.T) {
	gz := []byte{0x1f, 0x8b, 0x08, 0x00, 0xff}
	cases := []struct {
		name    string
		payload string
		status  int
		headers map[string][]string
		body    string
		err     bool
	}{
		{"response", `{"statusCode":201,"headers":{"content-type":"application/json","apiVersion":"2","x-multi":"a,b"},"body":"{\"ok\":true}"}`,
			201, map[string][]string{"Content-Type": {"application/json"}, "Apiversion": {"2"}, "X-Multi": {"a,b"}}, `{"ok":true}`, false},
		{"cookies", `{"statusCode":200,"cookies":["a=1; Path=/","b=2; HttpOnly"],"body":"x","headers":{"content-type":"text/plain"}}`,
			200, map[string][]string{"Set-Cookie": {"a=1; Path=/", "b=2; HttpOnly"}}, "x", false},
		{"base64", `{"statusCode":200,"headers":{"content-encoding":"gzip","content-type":"application/json"},"isBase64Encoded":true,"body":"` + base64.StdEncoding.EncodeToString(gz) + `"}`,
			200, map[string][]string{"Content-Encoding": {"gzip"}}, string(gz), false},
		{"bare object", `{"hello":"world"}`, 200, map[string][]string{"Content-Type": {"application/json"}}, `{"hello":"world"}`, false},
		{"bare string", `"hi"`, 200, map[string][]string{"Content-Type": {"application/json"}}, `"hi"`, false},
		{"bare number", `42`, 200, nil, `42`, false},
		{"no body 204", `{"statusCode":204}`, 204, map[string][]string{"Content-Type": nil}, "", false},
		{"hop-by-hop dropped", `{"statusCode":200,"headers":{"transfer-encoding":"chunked","connection":"close","content-length":"999"},"body":"ab"}`,
			200, map[string][]string{"Transfer-Encoding": nil, "Content-Length": {"2"}}, "ab", false},
		{"not json", `nope`, 500, nil, `{"message":"Internal Server Error"}`, true},
		{"bad status", `{"statusCode":"abc"}`, 500, nil, `{"message":"Internal Server Error"}`, true},
		{"bad base64", `{"statusCode":200,"isBase64Encoded":true,"body":"%%%"}`, 500, nil, `{"message":"Internal Server Error"}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				err := WriteResponse(w, []byte(c.payload))
				if (err != nil) != c.err {
					t.Errorf("err = %v, want error %v", err, c.err)
				}
			}))
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
			resp, err := client.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var sb strings.Builder
			buf := make([]byte, 4096)
			for {
				n, err := resp.Body.Read(buf)
				sb.Write(buf[:n])
				if err != nil {
					break
				}
			}
			if resp.StatusCode != c.status || sb.String() != c.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, sb.String(), c.status, c.body)
			}
			for k, v := range c.headers {
				if got := resp.Header.Values(k); !reflect.DeepEqual(got, v) && !(len(got) == 0 && len(v) == 0) {
					t.Errorf("header %s = %v, want %v", k, got, v)
				}
			}
		})
	}
}

func TestWriteGatewayError(t *testing.T) {
	for status, want := range map[int]string{
		404: `{"message":"Not Found"}`, 413: `{"message":"Request Entity Too Large"}`,
		500: `{"message":"Internal Server Error"}`, 503: `{"message":"Service Unavailable"}`,
	} {
		rec := httptest.NewRecorder()
		WriteGatewayError(rec, status)
		if rec.Code != status || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%d: got %d %q %v", status, rec.Code, rec.Body.String(), rec.Header())
		}
	}
	if LambdaMaxPayload != 6291456 || MaxRequestBytes != 10485760 {
		t.Errorf("limits changed")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
