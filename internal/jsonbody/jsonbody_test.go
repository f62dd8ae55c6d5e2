package jsonbody

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/rudderctl/rudderctl/internal/testfn"
)

// Lift must give the body encoding/json gives, and a rest that decodes like the original with
// the body emptied; when it is not sure, it must say so instead of guessing.
func TestLiftMatchesEncodingJSON(t *testing.T) {
	payloads := []string{`{"body":"a\/b\u00e9\ud83d\ude00\ud800x\udc00"}`, `{"body":"bad \q"}`, "{\"body\":\"raw\ttab\"}",
		`{"b\u006fdy":"escaped key"}`, `{"x":1}`, `[1]`, `{"body":null}`}
	for _, s := range testfn.JSONStrings(300, 200) {
		p, _ := json.Marshal(map[string]any{"a": `"}`, "body": s, "z": []int{1}})
		payloads = append(payloads, string(p))
	}
	lifted := 0
	for _, p := range payloads {
		rest, body, ok := Lift([]byte(p))
		if !ok {
			continue
		}
		lifted++
		var want, got map[string]any
		if err := json.Unmarshal([]byte(p), &want); err != nil {
			t.Fatalf("Lift accepted invalid JSON %q", p)
		}
		if err := json.Unmarshal(rest, &got); err != nil {
			t.Fatalf("rest of %q is not JSON: %v", p, err)
		}
		if want["body"] != string(body) {
			t.Errorf("%q: body %q, encoding/json %q", p, body, want["body"])
		}
		if got["body"] != "" || len(got) != len(want) {
			t.Errorf("%q: rest %s", p, rest)
		}
	}
	if lifted < 250 {
		t.Fatalf("the fast path applied to only %d of %d payloads", lifted, len(payloads))
	}
}

// AppendEscaped's output, quoted, decodes back to the input, and it stops past the limit.
func TestAppendEscaped(t *testing.T) {
	for _, s := range testfn.JSONStrings(300, 200) {
		if !utf8.ValidString(s) {
			continue
		}
		buf, ok := AppendEscaped([]byte(`"`), []byte(s), 1<<20)
		var back string
		if err := json.Unmarshal(append(buf, '"'), &back); !ok || err != nil || back != s {
			t.Errorf("%q: ok %v, err %v, back %q", s, ok, err, back)
		}
	}
	if buf, ok := AppendEscaped(nil, []byte(`""""`), 7); ok || len(buf) <= 7 {
		t.Errorf("4 quotes escape to 8 bytes, over a limit of 7: ok %v, len %d", ok, len(buf))
	}
}
