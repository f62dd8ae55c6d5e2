package lambda

import (
	"encoding/base64"
	"io"
	"net/http"
	"reflect"
	"testing"
)

func TestStripPrefix(t *testing.T) {
	cases := []struct {
		raw, prefix, want string
		ok                bool
	}{
		{"/abc", "/abc", "/", true},
		{"/abc/", "/abc", "/", true},
		{"/abc/health", "/abc", "/health", true},
		{"/abcd", "/abc", "", false},
		{"/abcd/health", "/abc", "", false},
		{"/ab", "/abc", "", false},
		{"/", "/abc", "", false},
		{"/x/abc/health", "/abc", "", false},
		{"/ABC/health", "/abc", "", false},     // secrets are case-sensitive
		{"/abc%2Fhealth", "/abc", "", false},   // an encoded slash is not a boundary
		{"/abc//v0/x", "/abc", "//v0/x", true}, // the rest is kept verbatim
		{"/health", "", "/health", true},       // no prefix: everything passes
		{"/k3x9/v0/destinations/webhook", "/k3x9", "/v0/destinations/webhook", true},
	}
	for _, c := range cases {
		got, ok := StripPrefix(c.raw, c.prefix)
		if got != c.want || ok != c.ok {
			t.Errorf("StripPrefix(%q, %q) = %q, %v; want %q, %v", c.raw, c.prefix, got, ok, c.want, c.ok)
		}
	}
}

func TestNormalizePrefix(t *testing.T) {
	for in, want := range map[string]string{"": "", "/": "", "abc": "/abc", "/abc/": "/abc", "/a/b": "/a/b"} {
		if got := NormalizePrefix(in); got != want {
			t.Errorf("NormalizePrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseEvent(t *testing.T) {
	if _, err := ParseEvent([]byte(`{"hello":"world"}`)); err == nil {
		t.Error("a non-HTTP event was accepted")
	}
	if _, err := ParseEvent([]byte(`not json`)); err == nil {
		t.Error("non-JSON was accepted")
	}
	ev, err := ParseEvent([]byte(`{"version":"2.0","rawPath":"/a","rawQueryString":"x=1","cookies":["a=1"],
		"headers":{"h":"v"},"requestContext":{"http":{"method":"PUT"}},"body":"aGk=","isBase64Encoded":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.RawPath != "/a" || ev.RawQueryString != "x=1" || ev.RequestContext.HTTP.Method != "PUT" ||
		!ev.IsBase64Encoded || ev.Body != "aGk=" || ev.Headers["h"] != "v" || ev.Cookies[0] != "a=1" {
		t.Errorf("parsed %+v", ev)
	}
}

func TestBuildRequest(t *testing.T) {
	cases := []struct {
		name        string
		ev          Event
		path        string
		wantURI     string
		wantHost    string
		wantBody    string
		wantHeaders http.Header // exact set expected
	}{
		{
			name:     "query string kept byte for byte",
			ev:       event("GET", "", "a=%20b&c=d+e&x=%zz&&y=&z=%2F", nil, nil, "", false),
			path:     "/v0/destinations/webhook",
			wantURI:  "/v0/destinations/webhook?a=%20b&c=d+e&x=%zz&&y=&z=%2F",
			wantHost: "app",
			wantHeaders: http.Header{
				"User-Agent": {""},
			},
		},
		{
			name:    "encoded path kept byte for byte",
			ev:      event("GET", "", "", nil, nil, "", false),
			path:    "/a%2Fb/c%20d/%E2%82%AC",
			wantURI: "/a%2Fb/c%20d/%E2%82%AC", wantHost: "app",
			wantHeaders: http.Header{"User-Agent": {""}},
		},
		{
			name:    "double slash path",
			ev:      event("GET", "", "q=1", nil, nil, "", false),
			path:    "//v0/x",
			wantURI: "//v0/x?q=1", wantHost: "app",
			wantHeaders: http.Header{"User-Agent": {""}},
		},
		{
			name: "headers: repeated values stay comma-joined, host and hop-by-hop handled",
			ev: event("POST", "", "", map[string]string{
				"host": "abc.execute-api.eu-west-1.amazonaws.com", "accept": "a/b,c/d",
				"x-forwarded-for": "1.2.3.4, 5.6.7.8", "connection": "keep-alive, x-hop", "x-hop": "1",
				"keep-alive": "timeout=5", "transfer-encoding": "chunked", "te": "trailers", "upgrade": "h2c",
				"expect": "100-continue", "content-length": "999", "content-type": "application/json",
				"user-agent": "Go-http-client/1.1", "apiversion": "2", "accept-encoding": "gzip",
			}, nil, `[{"a":1}]`, false),
			path:     "/v0/destinations/webhook",
			wantURI:  "/v0/destinations/webhook",
			wantHost: "abc.execute-api.eu-west-1.amazonaws.com",
			wantBody: `[{"a":1}]`,
			wantHeaders: http.Header{
				"Accept": {"a/b,c/d"}, "X-Forwarded-For": {"1.2.3.4, 5.6.7.8"},
				"Content-Type": {"application/json"}, "User-Agent": {"Go-http-client/1.1"},
				"Apiversion": {"2"}, "Accept-Encoding": {"gzip"},
			},
		},
		{
			name:     "cookies[] become one Cookie header",
			ev:       event("GET", "", "", map[string]string{"cookie": "stale=1"}, []string{"a=1", "b=two words", "c="}, "", false),
			path:     "/",
			wantURI:  "/",
			wantHost: "app",
			wantHeaders: http.Header{
				"Cookie": {"a=1; b=two words; c="}, "User-Agent": {""},
			},
		},
		{
			name:        "base64 body decoded",
			ev:          event("POST", "", "", nil, nil, base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255, 254}), true),
			path:        "/bin",
			wantURI:     "/bin",
			wantHost:    "app",
			wantBody:    "\x00\x01\x02\xff\xfe",
			wantHeaders: http.Header{"User-Agent": {""}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := c.ev
			req, err := BuildRequest(&ev, c.path, "app")
			if err != nil {
				t.Fatal(err)
			}
			if got := req.URL.RequestURI(); got != c.wantURI {
				t.Errorf("request URI %q, want %q", got, c.wantURI)
			}
			if req.Host != c.wantHost {
				t.Errorf("host %q, want %q", req.Host, c.wantHost)
			}
			if !reflect.DeepEqual(req.Header, c.wantHeaders) {
				t.Errorf("headers\n got %v\nwant %v", req.Header, c.wantHeaders)
			}
			var body []byte
			if req.Body != nil {
				body, _ = io.ReadAll(req.Body)
			}
			if string(body) != c.wantBody || req.ContentLength != int64(len(c.wantBody)) {
				t.Errorf("body %q (length %d), want %q", body, req.ContentLength, c.wantBody)
			}
		})
	}
	bad := event("POST", "", "", nil, nil, "not base64!", true)
	if _, err := BuildRequest(&bad, "/", "app"); err == nil {
		t.Error("invalid base64 body accepted")
	}
}

func event(method, rawPath, query string, headers map[string]string, cookies []string, body string, b64 bool) Event {
	var ev Event
	ev.Version = "2.0"
	ev.RawPath = rawPath
	ev.RawQueryString = query
	ev.Headers = headers
	ev.Cookies = cookies
	ev.Body = body
	ev.IsBase64Encoded = b64
	ev.RequestContext.HTTP.Method = method
	return ev
}

func TestEscapeDecodedPath(t *testing.T) {
	cases := map[string]string{
		"/v0/destinations/webhook": "/v0/destinations/webhook",
		"/a%20b":                   "/a%20b", // already encoded: unchanged
		"/a b":                     "/a%20b", // decoded by an HTTP API
		"/users/me?admin=true":     "/users/me%3Fadmin=true",
		"/orders#":                 "/orders%23",
		"/100%":                    "/100%25", // a bare percent
		"/%zz":                     "/%25zz",
		"/caf\u00e9":               "/caf%C3%A9",
		"/x;y=1,z":                 "/x;y=1,z", // sub-delims are legal in a path
	}
	for in, want := range cases {
		if got := escapeDecodedPath(in); got != want {
			t.Errorf("escapeDecodedPath(%q) = %q, want %q", in, got, want)
		}
	}
}
