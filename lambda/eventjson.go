package lambda

import (
	"encoding/json"

	"github.com/rudderctl/rudderctl/internal/jsonbody"
)

// Decoding a 1 MB JSON body string with encoding/json costs ~5 ms (it scans every byte twice), so
// the body is lifted out of the event by jsonbody.Lift; the rest of the event, a few KB, goes
// through encoding/json. Anything unexpected falls back to encoding/json.

// parseEventFast decodes an event, lifting the body out first when possible.
func parseEventFast(payload []byte, ev *Event) error {
	rest, body, ok := jsonbody.Lift(payload)
	if !ok {
		return json.Unmarshal(payload, ev)
	}
	if err := json.Unmarshal(rest, ev); err != nil {
		return err
	}
	if ev.Body == "" { // a later duplicate "body" key would have won in encoding/json too
		ev.Body = string(body)
	}
	return nil
}
