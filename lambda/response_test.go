package lambda

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestEncodeResponse(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"a":1}`))
	zw.Close()
	cases := []struct {
		name        string
		status      int
		header      http.Header
		body        []byte
		wantHeaders map[string]string
		wantCookies []string
		wantBase64  bool
	}{
		{
			name: "json text with apiVersion", status: 200,
			header:      http.Header{"Content-Type": {"application/json"}, "Apiversion": {"2"}},
			body:        []byte(`[{"output":{"k":"v \"q\" \\ </>&"},"statusCode":200}]` + "\n\t\x01"),
			wantHeaders: map[string]string{"content-type": "application/json", "apiversion": "2"},
		},
		{
			name: "utf-8 text stays text", status: 200,
			header:      http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
			body:        []byte("héllo wörld € 😀"),
			wantHeaders: map[string]string{"content-type": "text/plain; charset=utf-8"},
		},
		{
			name: "binary goes base64", status: 200,
			header:      http.Header{"Content-Type": {"application/octet-stream"}},
			body:        []byte{0xff, 0xfe, 0, 1, 2, 0x80},
			wantHeaders: map[string]string{"content-type": "application/octet-stream"},
			wantBase64:  true,
		},
		{
			name: "gzip goes base64 with its Content-Encoding", status: 200,
			header:      http.Header{"Content-Encoding": {"gzip"}, "Content-Type": {"application/json"}},
			body:        gz.Bytes(),
			wantHeaders: map[string]string{"content-encoding": "gzip", "content-type": "application/json"},
			wantBase64:  true,
		},
		{
			name: "content-coded ASCII still base64", status: 200,
			header:      http.Header{"Content-Encoding": {"br"}},
			body:        []byte("abc"),
			wantHeaders: map[string]string{"content-encoding": "br"},
			wantBase64:  true,
		},
		{
			name: "set-cookie to cookies[], repeated headers joined, hop-by-hop dropped", status: 201,
			header: http.Header{
				"Set-Cookie": {"a=1; Path=/", "b=2; HttpOnly"}, "X-Multi": {"one", "two"},
				"Connection": {"keep-alive, X-Conn-Listed"}, "X-Conn-Listed": {"1"}, "Keep-Alive": {"timeout=5"},
				"Transfer-Encoding": {"chunked"}, "Upgrade": {"h2c"}, "Trailer": {"X"}, "Content-Length": {"0"},
			},
			wantHeaders: map[string]string{"x-multi": "one, two", "content-length": "0"},
			wantCookies: []string{"a=1; Path=/", "b=2; HttpOnly"},
		},
		{
			name: "empty 204", status: 204, header: http.Header{},
			wantHeaders: map[string]string{},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := EncodeResponse(c.status, c.header, c.body, MaxResponseBytes)
			if err != nil {
				t.Fatal(err)
			}
			var got events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			if got.StatusCode != c.status {
				t.Errorf("status %d", got.StatusCode)
			}
			if !reflect.DeepEqual(got.Headers, c.wantHeaders) {
				t.Errorf("headers %v, want %v", got.Headers, c.wantHeaders)
			}
			if !reflect.DeepEqual(got.Cookies, c.wantCookies) {
				t.Errorf("cookies %q, want %q", got.Cookies, c.wantCookies)
			}
			if got.IsBase64Encoded != c.wantBase64 {
				t.Errorf("isBase64Encoded %v, want %v", got.IsBase64Encoded, c.wantBase64)
			}
			body := []byte(got.Body)
			if got.IsBase64Encoded {
				if body, err = base64.StdEncoding.DecodeString(got.Body); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(body, c.body) {
				t.Errorf("body %q, want %q", body, c.body)
			}
		})
	}
}

func TestEncodeResponseLimit(t *testing.T) {
	h := http.Header{"Content-Type": {"text/plain"}}
	// Find the envelope size, then make a text body whose payload is exactly the limit.
	empty, _ := EncodeResponse(200, h, nil, MaxResponseBytes)
	exact := bytes.Repeat([]byte("a"), MaxResponseBytes-len(empty))
	out, err := EncodeResponse(200, h, exact, MaxResponseBytes)
	if err != nil || len(out) != MaxResponseBytes {
		t.Fatalf("a payload of exactly the limit: len %d, err %v", len(out), err)
	}
	var tooLarge *ResponseTooLargeError
	if _, err := EncodeResponse(200, h, append(exact, 'a'), MaxResponseBytes); !errors.As(err, &tooLarge) {
		t.Fatalf("one byte over the limit: err %v", err)
	}
	// Escaping grows the payload: 4 MB of quotes is 8 MB once encoded.
	if _, err := EncodeResponse(200, h, bytes.Repeat([]byte(`"`), 4<<20), MaxResponseBytes); !errors.As(err, &tooLarge) {
		t.Fatalf("escaping growth not counted: err %v", err)
	}
	// Base64 grows the payload by 4/3: 5 MB of binary does not fit.
	bin := bytes.Repeat([]byte{0xff}, 5<<20)
	if _, err := EncodeResponse(200, h, bin, MaxResponseBytes); !errors.As(err, &tooLarge) {
		t.Fatalf("base64 growth not counted: err %v", err)
	} else if tooLarge.Bytes <= MaxResponseBytes {
		t.Errorf("reported size %d", tooLarge.Bytes)
	}
	// 4 MB of binary does (4 MB * 4/3 = 5.33 MB).
	if out, err := EncodeResponse(200, h, bin[:4<<20], MaxResponseBytes); err != nil || len(out) > MaxResponseBytes {
		t.Fatalf("4 MB binary: len %d err %v", len(out), err)
	}
}

func TestErrorResponse(t *testing.T) {
	var got events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(ErrorResponse(504, `timed "out"`), &got); err != nil {
		t.Fatal(err)
	}
	var body struct{ Error, Source string }
	if err := json.Unmarshal([]byte(got.Body), &body); err != nil {
		t.Fatal(err)
	}
	if got.StatusCode != 504 || body.Error != `timed "out"` || body.Source != "rudderctl-adapter" ||
		got.Headers["content-type"] != "application/json" || !strings.HasPrefix(got.Body, "{") {
		t.Errorf("got %+v / %+v", got, body)
	}
}

func TestHeaderValueInvalidUTF8(t *testing.T) {
	out, err := EncodeResponse(200, http.Header{"X-Bad": {"a\xffb"}}, nil, MaxResponseBytes)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(out) {
		t.Fatalf("invalid JSON: %q", out)
	}
}
