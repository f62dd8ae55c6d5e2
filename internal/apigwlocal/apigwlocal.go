// Package apigwlocal does locally what API Gateway HTTP API does around a Lambda proxy
// integration with payload format 2.0: it turns an HTTP request into the event a function
// receives, turns the function's answer back into HTTP, answers with the gateway's own errors,
// and matches routes the way API Gateway selects them.
package apigwlocal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rudderctl/rudderctl/internal/jsonbody"
)

// Limits of API Gateway HTTP API and Lambda.
const (
	MaxRequestBytes    = 10 << 20        // API Gateway payload limit
	LambdaMaxPayload   = 6 * 1024 * 1024 // 6,291,456 B, request and response
	IntegrationTimeout = 30 * time.Second
)

// EventContext is what the gateway knows about a request beyond the request itself.
type EventContext struct {
	RouteKey, Stage, APIID, RequestID, AccountID string
	PathParameters                               map[string]string
}

// Event is a payload-2.0 event as API Gateway sends it (aws-lambda-go's
// events.APIGatewayV2HTTPRequest decodes it; this type leaves out what the gateway omits).
type Event struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
	RequestContext        RequestContext    `json:"requestContext"`
	Body                  string            `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

// RequestContext is the event's requestContext.
type RequestContext struct {
	AccountID    string      `json:"accountId"`
	APIID        string      `json:"apiId"`
	DomainName   string      `json:"domainName"`
	DomainPrefix string      `json:"domainPrefix"`
	HTTP         HTTPContext `json:"http"`
	RequestID    string      `json:"requestId"`
	RouteKey     string      `json:"routeKey"`
	Stage        string      `json:"stage"`
	Time         string      `json:"time"`
	TimeEpoch    int64       `json:"timeEpoch"`
}

// HTTPContext is requestContext.http.
type HTTPContext struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// hopByHop are connection-level headers a gateway neither forwards nor returns.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "proxy-authenticate": true,
	"proxy-authorization": true, "te": true, "trailer": true, "transfer-encoding": true, "upgrade": true,
}

// BuildEvent turns a real HTTP request into a payload-2.0 event JSON. body is the request body
// already read (the caller enforces MaxRequestBytes). rawPath, requestContext.http.path and
// rawQueryString are the path and query exactly as received on the request line.
func BuildEvent(r *http.Request, body []byte, ev EventContext) ([]byte, error) {
	now := time.Now().UTC()
	e := Event{
		Version:        "2.0",
		RouteKey:       ev.RouteKey,
		RawPath:        rawPath(r),
		RawQueryString: r.URL.RawQuery,
		Headers:        map[string]string{},
		PathParameters: ev.PathParameters,
	}
	if e.RouteKey == "" {
		e.RouteKey = "$default"
	}
	if e.RawPath == "" {
		e.RawPath = "/"
	}
	if len(e.PathParameters) == 0 {
		e.PathParameters = nil
	}
	// Headers: lower-case names, repeated values joined with commas; cookies go to cookies[].
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		lk := strings.ToLower(k)
		vals := r.Header[k]
		if hopByHop[lk] || lk == "expect" { // the gateway answers 100-continue itself
			continue
		}
		if lk == "cookie" {
			for _, v := range vals {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						e.Cookies = append(e.Cookies, c)
					}
				}
			}
			continue
		}
		if prev, ok := e.Headers[lk]; ok {
			e.Headers[lk] = prev + "," + strings.Join(vals, ",")
		} else {
			e.Headers[lk] = strings.Join(vals, ",")
		}
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	if host != "" {
		e.Headers["host"] = host
	}
	e.Headers["content-length"] = strconv.Itoa(len(body))
	sourceIP := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = h
	}
	if xff := e.Headers["x-forwarded-for"]; xff != "" {
		e.Headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else if sourceIP != "" {
		e.Headers["x-forwarded-for"] = sourceIP
	}
	proto, port := "http", "80"
	if r.TLS != nil {
		proto, port = "https", "443"
	}
	if _, p, err := net.SplitHostPort(host); err == nil {
		port = p
	}
	e.Headers["x-forwarded-proto"] = proto
	e.Headers["x-forwarded-port"] = port
	if e.Headers["x-amzn-trace-id"] == "" {
		e.Headers["x-amzn-trace-id"] = traceID(now)
	}

	if r.URL.RawQuery != "" {
		q := map[string]string{}
		for _, kv := range strings.Split(r.URL.RawQuery, "&") {
			if kv == "" {
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			dk, err := url.QueryUnescape(k)
			if err != nil {
				dk = k
			}
			dv, err := url.QueryUnescape(v)
			if err != nil {
				dv = v
			}
			if prev, ok := q[dk]; ok {
				q[dk] = prev + "," + dv
			} else {
				q[dk] = dv
			}
		}
		if len(q) > 0 {
			e.QueryStringParameters = q
		}
	}

	domain := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		domain = h
	}
	prefix := domain
	if i := strings.IndexByte(domain, '.'); i > 0 {
		prefix = domain[:i]
	}
	stage := ev.Stage
	if stage == "" {
		stage = "$default"
	}
	e.RequestContext = RequestContext{
		AccountID:    ev.AccountID,
		APIID:        ev.APIID,
		DomainName:   domain,
		DomainPrefix: prefix,
		HTTP: HTTPContext{
			Method:    r.Method,
			Path:      e.RawPath,
			Protocol:  r.Proto,
			SourceIP:  sourceIP,
			UserAgent: r.UserAgent(),
		},
		RequestID: ev.RequestID,
		RouteKey:  e.RouteKey,
		Stage:     stage,
		Time:      now.Format("02/Jan/2006:15:04:05 -0700"),
		TimeEpoch: now.UnixMilli(),
	}
	if e.RequestContext.AccountID == "" {
		e.RequestContext.AccountID = "000000000000"
	}
	if len(body) == 0 {
		return json.Marshal(e)
	}
	text := IsTextContent(r.Header.Get("Content-Type"), body)
	if !text {
		body = []byte(base64.StdEncoding.EncodeToString(body))
		e.IsBase64Encoded = true
	}
	// The body (valid UTF-8 or base64) is escaped into the event by hand, in one pass over a
	// buffer sized once: encoding/json would take the body as a string copy, escape it byte by
	// byte and copy the whole event once more.
	head, err := json.Marshal(e) // "body" omitted; "isBase64Encoded" is always the last key
	if err != nil {
		return nil, err
	}
	at := bytes.LastIndex(head, []byte(`"isBase64Encoded":`))
	out := make([]byte, 0, len(head)+len(body)+len(body)/4+6*4096+32) // room for AppendEscaped's chunks
	out = append(out, head[:at]...)
	out = append(out, `"body":"`...)
	out, _ = jsonbody.AppendEscaped(out, body, math.MaxInt)
	out = append(out, `",`...)
	return append(out, head[at:]...), nil
}

// IsTextContent tells whether a body of this content type goes into an event as text: text/*,
// JSON, XML, JavaScript, form data; and valid UTF-8. Anything else is base64-encoded.
func IsTextContent(contentType string, body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	switch {
	case mt == "":
		return false
	case strings.HasPrefix(mt, "text/"):
		return true
	case strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/x-javascript",
		"application/ecmascript", "application/x-www-form-urlencoded", "application/graphql",
		"application/x-ndjson", "application/ld+json", "application/yaml", "application/x-yaml":
		return true
	}
	return false
}

// rawPath is the request-target's path as the client sent it (percent-encoding kept).
func rawPath(r *http.Request) string {
	if r.RequestURI != "" && strings.HasPrefix(r.RequestURI, "/") {
		p, _, _ := strings.Cut(r.RequestURI, "?")
		return p
	}
	return r.URL.EscapedPath()
}

func traceID(now time.Time) string {
	var b [12]byte
	for i := range b {
		b[i] = byte(now.UnixNano() >> (i * 5))
	}
	return fmt.Sprintf("Root=1-%08x-%x", now.Unix(), b)
}

// Response is a payload-2.0 response object.
type Response struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers,omitempty"`
	Cookies         []string          `json:"cookies,omitempty"`
	Body            string            `json:"body,omitempty"`
	IsBase64Encoded bool              `json:"isBase64Encoded,omitempty"`
}

// ErrBadResponse is returned by ParseResponse for a payload the gateway cannot turn into HTTP
// (API Gateway answers such a function with 500 Internal Server Error).
var ErrBadResponse = errors.New("malformed Lambda proxy response")

// ParseResponse reads a function's payload as API Gateway does for payload format 2.0: an
// object with statusCode is a response; any other valid JSON is the "bare value" format
// (200, content-type application/json, the payload as the body).
func ParseResponse(payload []byte) (Response, error) {
	resp, body, err := parseResponse(payload)
	if err == nil && resp.Body == "" {
		resp.Body = string(body)
	}
	return resp, err
}

// parseResponse is ParseResponse with the body as bytes, in resp.Body (a string) or in body:
// the body of a large answer is lifted out of the payload in one pass (fastjson.go) instead of
// going through encoding/json.
func parseResponse(payload []byte) (resp Response, body []byte, err error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if rest, lifted, ok := jsonbody.Lift(trimmed); ok {
			resp, isResp, err := parseObject(rest)
			if err != nil || !isResp {
				// Not a proxy response: the whole payload is the bare value.
				return bareValue(trimmed, err)
			}
			if resp.Body != "" { // a later duplicate "body" key wins, as in encoding/json
				return resp, nil, nil
			}
			return resp, lifted, nil
		}
		resp, isResp, err := parseObject(trimmed)
		if err != nil || !isResp {
			return bareValue(trimmed, err)
		}
		return resp, nil, nil
	}
	return bareValue(trimmed, nil)
}

// bareValue is the "bare value" format: any valid JSON is a 200 application/json answer.
func bareValue(trimmed []byte, err error) (Response, []byte, error) {
	if err != nil {
		return Response{}, nil, err
	}
	if !json.Valid(trimmed) {
		return Response{}, nil, fmt.Errorf("%w: not JSON", ErrBadResponse)
	}
	return Response{
		StatusCode: http.StatusOK,
		Headers:    map[string]string{"content-type": "application/json"},
	}, trimmed, nil
}

// parseObject reads a JSON object as a proxy response; isResp is false when it has no
// statusCode (then it is a bare value).
func parseObject(obj []byte) (resp Response, isResp bool, err error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return Response{}, false, fmt.Errorf("%w: %v", ErrBadResponse, err)
	}
	if sc, ok := m["statusCode"]; ok {
		var resp Response
		var code json.Number
		if err := json.Unmarshal(sc, &code); err != nil {
			return Response{}, true, fmt.Errorf("%w: statusCode %s is not a number", ErrBadResponse, sc)
		}
		n, err := strconv.Atoi(code.String())
		if err != nil || n < 100 || n > 599 {
			return Response{}, true, fmt.Errorf("%w: statusCode %s is not an HTTP status", ErrBadResponse, sc)
		}
		resp.StatusCode = n
		if raw, ok := m["headers"]; ok && string(raw) != "null" {
			var h map[string]any
			if err := json.Unmarshal(raw, &h); err != nil {
				return Response{}, true, fmt.Errorf("%w: headers: %v", ErrBadResponse, err)
			}
			resp.Headers = map[string]string{}
			for k, v := range h {
				switch x := v.(type) {
				case string:
					resp.Headers[k] = x
				case nil:
				default:
					b, _ := json.Marshal(x)
					resp.Headers[k] = string(b)
				}
			}
		}
		if raw, ok := m["cookies"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &resp.Cookies); err != nil {
				return Response{}, true, fmt.Errorf("%w: cookies: %v", ErrBadResponse, err)
			}
		}
		if raw, ok := m["body"]; ok && string(raw) != "null" {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				// A non-string body is sent as its JSON text.
				s = string(raw)
			}
			resp.Body = s
		}
		if raw, ok := m["isBase64Encoded"]; ok {
			_ = json.Unmarshal(raw, &resp.IsBase64Encoded)
		}
		return resp, true, nil
	}
	return Response{}, false, nil
}

// WriteResponse writes a Lambda payload-2.0 response (or a bare-value result) as HTTP. A payload
// the gateway cannot use is answered 500 {"message":"Internal Server Error"} and reported.
func WriteResponse(w http.ResponseWriter, payload []byte) error {
	_, err := writeResponse(w, payload)
	return err
}

// writeResponse is WriteResponse that also tells the status written.
func writeResponse(w http.ResponseWriter, payload []byte) (int, error) {
	resp, body, err := parseResponse(payload)
	if err != nil {
		WriteGatewayError(w, http.StatusInternalServerError)
		return http.StatusInternalServerError, err
	}
	if body == nil {
		body = []byte(resp.Body)
	}
	if resp.IsBase64Encoded {
		dec := make([]byte, base64.StdEncoding.DecodedLen(len(body)))
		n, err := base64.StdEncoding.Decode(dec, body)
		if err != nil {
			WriteGatewayError(w, http.StatusInternalServerError)
			return http.StatusInternalServerError, fmt.Errorf("%w: body is not valid base64: %v", ErrBadResponse, err)
		}
		body = dec[:n]
	}
	h := w.Header()
	names := make([]string, 0, len(resp.Headers))
	for k := range resp.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	hasType := false
	for _, k := range names {
		lk := strings.ToLower(k)
		if hopByHop[lk] || lk == "content-length" {
			continue
		}
		if lk == "content-type" {
			hasType = true
		}
		h.Add(k, resp.Headers[k])
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if !hasType {
		h["Content-Type"] = nil // no sniffing: the gateway returns what the function said
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, err = w.Write(body)
	return resp.StatusCode, err
}

var gatewayMessages = map[int]string{
	http.StatusNotFound:              "Not Found",
	http.StatusRequestEntityTooLarge: "Request Entity Too Large",
	http.StatusInternalServerError:   "Internal Server Error",
	http.StatusServiceUnavailable:    "Service Unavailable",
	http.StatusGatewayTimeout:        "Endpoint request timed out",
	http.StatusTooManyRequests:       "Too Many Requests",
	http.StatusForbidden:             "Forbidden",
}

// WriteGatewayError answers as API Gateway does on its own: 404 {"message":"Not Found"},
// 413 {"message":"Request Entity Too Large"}, 500 {"message":"Internal Server Error"},
// 503 {"message":"Service Unavailable"}.
func WriteGatewayError(w http.ResponseWriter, status int) {
	msg, ok := gatewayMessages[status]
	if !ok {
		msg = http.StatusText(status)
	}
	b, _ := json.Marshal(map[string]string{"message": msg})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
