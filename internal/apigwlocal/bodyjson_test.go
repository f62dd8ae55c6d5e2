package apigwlocal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/rudderctl/rudderctl/internal/testfn"
)

// slowParse is the answer encoding/json alone gives (what ParseResponse did before the fast
// body path): the reference the fast path must equal.
func slowParse(payload []byte) (Response, error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		resp, isResp, err := parseObject(trimmed)
		if err != nil {
			return Response{}, err
		}
		if isResp {
			return resp, nil
		}
	}
	if !json.Valid(trimmed) {
		return Response{}, ErrBadResponse
	}
	return Response{StatusCode: 200, Headers: map[string]string{"content-type": "application/json"}, Body: string(trimmed)}, nil
}

func TestParseResponseMatchesEncodingJSON(t *testing.T) {
	bodies := testfn.JSONStrings(400, 300)
	var payloads []string
	for _, body := range bodies {
		p, _ := json.Marshal(map[string]any{"statusCode": 200, "headers": map[string]string{"body": "h", "x": `"}`}, "cookies": []string{"c=1"}, "body": body})
		payloads = append(payloads, string(p))
	}
	// Hand-written payloads: escapes encoding/json never writes, raw control characters and
	// broken escapes (both invalid JSON), duplicates, odd spacing, non-responses.
	payloads = append(payloads,
		`{"statusCode":201,"body":"a\/b\u00e9\ud83d\ude00\ud800x\udc00\u0041"}`,
		` { "statusCode" : 200 , "headers":{"a":"[{\"body\":1}]"}, "body" : "v\\\"" } `,
		`{"statusCode":200,"body":null}`,
		`{"statusCode":200,"body":"first","body":"second"}`,
		`{"statusCode":200,"body":"bad \q escape"}`,
		"{\"statusCode\":200,\"body\":\"raw\ttab\"}",
		`{"statusCode":200,"body":"bad \u12G4 hex"}`,
		`{"statusCode":200,"b\u006fdy":"escaped key"}`,
		`{"statusCode":200,"isBase64Encoded":true,"body":"aGk="}`,
		`{"statusCode":"x","body":"y"}`,
		`{"statusCode":99,"body":"y"}`,
		`{"body":"no status code"}`,
		`{"statusCode":200,"body":"unterminated}`,
		`{"statusCode":200,"body":"x"} trailing`,
		`{"statusCode":200,"body":{"an":"object"}}`,
		`"a bare string"`, `[1,2]`, `not json`, ``,
	)
	for _, p := range payloads {
		want, wantErr := slowParse([]byte(p))
		got, gotErr := ParseResponse([]byte(p))
		if (wantErr != nil) != (gotErr != nil) {
			t.Errorf("%q: encoding/json err %v, fast err %v", p, wantErr, gotErr)
			continue
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n got %+v\nwant %+v", p, got, want)
		}
	}
}

// The hand-escaped body decodes to exactly the bytes sent, for any text or binary body.
func TestBuildEventBodyRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	bodies := [][]byte{[]byte(`[{"q":"\"x\" \\ / <a>&amp;"}]`), []byte("é€😀\u2028\u2029\x00\x1f\x7f"), {0xff, 0xfe, 0x00}}
	for range 300 {
		b := make([]byte, rng.Intn(20000))
		for i := range b {
			b[i] = "\"\\/<>&\n\r\t\x00\x01\x7fabc"[rng.Intn(15)]
		}
		bodies = append(bodies, b)
	}
	for _, body := range bodies {
		for _, ct := range []string{"application/json", "application/octet-stream"} {
			r := httptestRequest("POST", "/p?a=1", body, ct)
			ev, err := BuildEvent(r, body, EventContext{RouteKey: "$default"})
			if err != nil || !json.Valid(ev) {
				t.Fatalf("BuildEvent(%q): %v, valid JSON %v", body, err, json.Valid(ev))
			}
			var e Event
			if err := json.Unmarshal(ev, &e); err != nil {
				t.Fatal(err)
			}
			got := []byte(e.Body)
			if e.IsBase64Encoded {
				if got, err = base64.StdEncoding.DecodeString(e.Body); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, body) || e.RawPath != "/p" || e.RequestContext.HTTP.Method != "POST" {
				t.Fatalf("%s body %q came back as %q (base64 %v)", ct, body, got, e.IsBase64Encoded)
			}
		}
	}
}

func httptestRequest(method, target string, body []byte, contentType string) *http.Request {
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	return r
}
