package lambda

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Event is the part of an API Gateway HTTP API payload-2.0 event the adapter uses.
type Event struct {
	Version         string            `json:"version"`
	RawPath         string            `json:"rawPath"`
	RawQueryString  string            `json:"rawQueryString"`
	Cookies         []string          `json:"cookies"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	RequestContext  struct {
		HTTP struct {
			Method string `json:"method"`
		} `json:"http"`
	} `json:"requestContext"`
}

// ParseEvent decodes a payload-2.0 event.
func ParseEvent(payload []byte) (*Event, error) {
	var ev Event
	if err := parseEventFast(payload, &ev); err != nil {
		return nil, fmt.Errorf("the event is not JSON: %v", err)
	}
	if ev.RequestContext.HTTP.Method == "" {
		return nil, fmt.Errorf("the event is not an API Gateway HTTP API payload 2.0 event (no requestContext.http.method, version %q): "+
			"invoke the function through an HTTP API with payload format 2.0", ev.Version)
	}
	return &ev, nil
}

// NormalizePrefix turns a RUDDERCTL_PATH_PREFIX value into "/seg[/seg...]" without a trailing
// slash; "" and "/" mean no prefix.
func NormalizePrefix(p string) string {
	p = strings.TrimRight(p, "/")
	if p != "" && p[0] != '/' {
		p = "/" + p
	}
	return p
}

// StripPrefix removes a normalized prefix from rawPath on a path-segment boundary:
// "/abc" matches "/abc" and "/abc/x" but not "/abcd".
func StripPrefix(rawPath, prefix string) (string, bool) {
	if prefix == "" {
		return rawPath, true
	}
	if !strings.HasPrefix(rawPath, prefix) {
		return "", false
	}
	rest := rawPath[len(prefix):]
	switch {
	case rest == "":
		return "/", true
	case rest[0] == '/':
		return rest, true
	}
	return "", false
}

// hopByHop headers describe one connection, not the message; a proxy must not forward them.
var hopByHop = map[string]bool{
	"connection":          true,
	"keep-alive":          true,
	"proxy-connection":    true,
	"proxy-authenticate":  true,
	"proxy-authorization": true,
	"te":                  true,
	"trailer":             true,
	"transfer-encoding":   true,
	"upgrade":             true,
	// The body is already complete; an Expect would only add a round trip.
	"expect": true,
	// Recomputed from the decoded body.
	"content-length": true,
}

// connectionListed returns the extra hop-by-hop names a Connection header lists.
func connectionListed(v string) map[string]bool {
	if v == "" {
		return nil
	}
	m := map[string]bool{}
	for _, f := range strings.Split(v, ",") {
		if f = strings.ToLower(strings.TrimSpace(f)); f != "" {
			m[f] = true
		}
	}
	return m
}

// escapeDecodedPath makes rawPath a valid request path. Real HTTP APIs deliver rawPath
// percent-decoded (a request for /a%20b arrives as "/a b"), while sam local and our local
// cloud deliver it as received; escaping only the bytes that can never stand literally in an
// encoded path serves both: an encoded path passes unchanged, a decoded one becomes valid.
func escapeDecodedPath(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		bare := c == '%' && !(i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]))
		if c <= ' ' || c >= 0x7f || c == '?' || c == '#' || c == '"' || bare {
			if b.Len() == 0 {
				b.Grow(len(p) + 8)
				b.WriteString(p[:i])
			}
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return p
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// BuildRequest maps an event onto an HTTP request for the app at host. path is rawPath with
// the prefix already stripped; an encoded path and rawQueryString are sent exactly as received.
func BuildRequest(ev *Event, path, host string) (*http.Request, error) {
	var body []byte
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("the event body is marked isBase64Encoded but is not base64: %v", err)
		}
		body = b
	} else if ev.Body != "" {
		body = []byte(ev.Body)
	}
	if path == "" {
		path = "/"
	}
	path = escapeDecodedPath(path)
	u := &url.URL{Scheme: "http", Host: host, RawQuery: ev.RawQueryString}
	if strings.HasPrefix(path, "//") {
		// An opaque "//x" would be read as a host; Path+RawPath keeps it when it is canonical.
		p, err := url.PathUnescape(path)
		if err != nil {
			p = path
		}
		u.Path, u.RawPath = p, path
	} else {
		u.Opaque = path // written on the request line verbatim: no re-encoding
	}
	req := &http.Request{
		Method:     ev.RequestContext.HTTP.Method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, len(ev.Headers)+1),
		Host:       host,
	}
	if len(body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	extra := connectionListed(ev.Headers["connection"])
	for k, v := range ev.Headers {
		lk := strings.ToLower(k)
		if hopByHop[lk] || extra[lk] {
			continue
		}
		if lk == "host" {
			req.Host = v
			continue
		}
		if lk == "cookie" && len(ev.Cookies) > 0 {
			continue // cookies[] is the authoritative copy
		}
		// v2 events already joined repeated values with commas; keep that single line.
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	if len(ev.Cookies) > 0 {
		req.Header["Cookie"] = []string{strings.Join(ev.Cookies, "; ")}
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header["User-Agent"] = []string{""} // empty: Go then sends none of its own
	}
	return req, nil
}
