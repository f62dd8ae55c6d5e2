package lambda

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/rudderctl/rudderctl/internal/testfn"
)

// The fast body path must decode exactly what encoding/json decodes.
func TestParseEventMatchesEncodingJSON(t *testing.T) {
	bodies := testfn.JSONStrings(300, 200)
	var payloads []string
	for _, body := range bodies {
		ev := event("POST", "/p", "q=1", map[string]string{"body": "header named body", "x": `"}`}, []string{"c=1"}, body, false)
		p, _ := json.Marshal(ev)
		payloads = append(payloads, string(p))
	}
	// Hand-written escapes encoding/json itself never produces, and odd layouts.
	payloads = append(payloads,
		`{"body":"a\/b\u00e9\ud83d\ude00\ud800x\udc00\u0041","requestContext":{"http":{"method":"GET"}}}`,
		` { "rawPath" : "/x" , "headers":{"a":"[{\"body\":1}]"}, "body" : "v\\\"" , "requestContext":{"http":{"method":"GET"}} } `,
		`{"requestContext":{"http":{"method":"GET"}},"body":null}`,
		`{"requestContext":{"http":{"method":"GET"}},"body":"first","body":"second"}`,
		`{"requestContext":{"http":{"method":"GET"}},"body":"bad \q escape"}`,
		`{"requestContext":{"http":{"method":"GET"}},"b\u006fdy":"escaped key"}`,
		`{"requestContext":{"http":{"method":"GET"}},"isBase64Encoded":true,"cookies":["a","b"],"body":"aGk="}`,
	)
	for _, p := range payloads {
		var want Event
		wantErr := json.Unmarshal([]byte(p), &want)
		var got Event
		gotErr := parseEventFast([]byte(p), &got)
		if (wantErr != nil) != (gotErr != nil) {
			t.Errorf("%q: encoding/json err %v, fast err %v", p, wantErr, gotErr)
			continue
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n got %+v\nwant %+v", p, got, want)
		}
	}
}

func BenchmarkParseEvent1MB(b *testing.B) {
	ev := event("POST", "/v0/destinations/webhook", "", map[string]string{"content-type": "application/json"}, nil,
		string(transformerBody(1<<20)), false)
	p := payload(b, ev)
	b.SetBytes(int64(len(p)))
	for range b.N {
		if _, err := ParseEvent(p); err != nil {
			b.Fatal(err)
		}
	}
}
