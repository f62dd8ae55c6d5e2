package lambda

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rudderctl/rudderctl/internal/jsonbody"
)

// MaxResponseBytes is Lambda's limit on a synchronous response payload (the whole JSON envelope).
const MaxResponseBytes = 6 * 1024 * 1024

// ErrorSource marks the adapter's own error bodies, so they are not mistaken for the app's.
const ErrorSource = "rudderctl-adapter"

// ResponseTooLargeError says the encoded response would exceed Lambda's payload limit.
type ResponseTooLargeError struct {
	Bytes int64 // the encoded size, or a lower bound when reading stopped early
}

func (e *ResponseTooLargeError) Error() string {
	return fmt.Sprintf("the app's response is too large for Lambda: at least %d bytes once encoded, the limit is %d; "+
		"make the app answer with smaller responses (e.g. smaller batches from rudder-server)", e.Bytes, MaxResponseBytes)
}

// responseHopByHop are dropped from the app's answer; API Gateway frames the response itself.
var responseHopByHop = map[string]bool{
	"connection":         true,
	"keep-alive":         true,
	"proxy-connection":   true,
	"proxy-authenticate": true,
	"te":                 true,
	"trailer":            true,
	"transfer-encoding":  true,
	"upgrade":            true,
}

// NeedsBase64 reports whether a body must travel base64-encoded: bytes that are not UTF-8 text,
// or content-coded (gzip, br, ...) bodies, which API Gateway must pass through untouched.
func NeedsBase64(header http.Header, body []byte) bool {
	if ce := header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return true
	}
	return !utf8.Valid(body)
}

// EncodeResponse encodes an HTTP answer as a payload-2.0 response: every header (repeated ones
// joined with ", ", names lower-cased) except hop-by-hop ones, Set-Cookie lines as cookies[], and
// the body as text or base64. It returns *ResponseTooLargeError rather than a payload over
// limit bytes.
func EncodeResponse(status int, header http.Header, body []byte, limit int) ([]byte, error) {
	b64 := NeedsBase64(header, body)
	size := len(body) + len(body)/16 + 256
	if b64 {
		size = base64.StdEncoding.EncodedLen(len(body)) + 256
	}
	buf := make([]byte, 0, min(size, limit))
	buf = append(buf, `{"statusCode":`...)
	buf = strconv.AppendInt(buf, int64(status), 10)
	buf = append(buf, `,"headers":{`...)

	extra := connectionListed(strings.Join(header.Values("Connection"), ","))
	keys := make([]string, 0, len(header))
	for k := range header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	first := true
	var cookies []string
	for _, k := range keys {
		lk := strings.ToLower(k)
		if responseHopByHop[lk] || extra[lk] {
			continue
		}
		if lk == "set-cookie" {
			cookies = append(cookies, header[k]...)
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = appendJSONString(buf, lk)
		buf = append(buf, ':')
		buf = appendJSONString(buf, strings.Join(header[k], ", "))
	}
	buf = append(buf, '}')
	if len(cookies) > 0 {
		buf = append(buf, `,"cookies":[`...)
		for i, c := range cookies {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, c)
		}
		buf = append(buf, ']')
	}
	buf = append(buf, `,"body":"`...)
	if b64 {
		const tail = len(`","isBase64Encoded":true}`)
		if n := len(buf) + base64.StdEncoding.EncodedLen(len(body)) + tail; n > limit {
			return nil, &ResponseTooLargeError{Bytes: int64(n)}
		}
		buf = base64.StdEncoding.AppendEncode(buf, body)
		buf = append(buf, `","isBase64Encoded":true}`...)
	} else {
		var ok bool
		if buf, ok = jsonbody.AppendEscaped(buf, body, limit); !ok {
			return nil, &ResponseTooLargeError{Bytes: int64(len(buf))}
		}
		buf = append(buf, `","isBase64Encoded":false}`...)
	}
	if len(buf) > limit {
		return nil, &ResponseTooLargeError{Bytes: int64(len(buf))}
	}
	return buf, nil
}

func appendJSONString(buf []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	buf = append(buf, '"')
	buf, _ = jsonbody.AppendEscaped(buf, []byte(s), int(^uint(0)>>1))
	return append(buf, '"')
}

// ErrorResponse is the adapter's own answer: {"error":msg,"source":"rudderctl-adapter"}.
func ErrorResponse(status int, msg string) []byte {
	body, _ := json.Marshal(struct {
		Error  string `json:"error"`
		Source string `json:"source"`
	}{msg, ErrorSource})
	h := http.Header{"Content-Type": {"application/json"}}
	out, _ := EncodeResponse(status, h, body, int(^uint(0)>>1))
	return out
}
