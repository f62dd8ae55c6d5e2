package workspace

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rudderctl/rudderctl/internal/testfn"
)

// The real rudder-transformer runs the example's function with its library, fetching the
// code from answers rendered here: this is what proves the answer shapes. It needs a built
// rudder-transformer (dist/ + node_modules, isolated-vm built for the Node given), which a
// fresh clone does not have, so it runs only when asked:
//
//	RUDDER_TRANSFORMER_DIR=/path/to/rudder-transformer \
//	  go test ./internal/workspace -run TestRealTransformerRunsRenderedFunction
func TestRealTransformerRunsRenderedFunction(t *testing.T) {
	appDir := testfn.RealTransformerDir(t)
	c := compileDir(t, exampleDir, Options{})

	// The config backend: only the two code routes, answered from Compiled.
	var mu sync.Mutex
	var fetched []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetched = append(fetched, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		v := r.URL.Query().Get("versionId")
		var body []byte
		var ok bool
		switch r.URL.Path {
		case "/transformation/getByVersionId":
			body, ok = c.TransformationAnswer(v)
		case "/transformationLibrary/getByVersionId":
			body, ok = c.LibraryAnswer(v)
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer backend.Close()

	base := testfn.StartRealTransformer(t, appDir, "CONFIG_BACKEND_URL="+backend.URL, "LOG_LEVEL=error", "STATS_ENABLED=false")

	// One event as rudder-server's processor sends it: the destination and libraries
	// marshalled from its own (tagless) struct field names.
	cfg := decodeAsRudderServer(t, c.Config)
	src := cfg.Sources[0]
	dest := src.Destinations[0]
	if dest.Name != "events-webhook" {
		t.Fatalf("first destination of %s is %s", src.Name, dest.Name)
	}
	events := []map[string]any{
		{
			"message": map[string]any{"type": "track", "event": "Signed Up", "messageId": "m1", "userId": "u1",
				"context": map[string]any{"traits": map[string]any{"email": "jane@example.com"}}},
			"metadata": map[string]any{"sourceId": src.ID, "destinationId": dest.ID, "workspaceId": cfg.WorkspaceID,
				"messageId": "m1", "destinationType": "WEBHOOK", "transformationId": dest.Transformations[0].ID},
			"destination": dest,
			"libraries":   cfg.Libraries,
		},
		{
			"message":     map[string]any{"type": "track", "event": "Test", "messageId": "m2", "userId": "u1", "properties": map[string]any{"test": true}},
			"metadata":    map[string]any{"sourceId": src.ID, "destinationId": dest.ID, "workspaceId": cfg.WorkspaceID, "messageId": "m2", "destinationType": "WEBHOOK"},
			"destination": dest,
			"libraries":   cfg.Libraries,
		},
	}
	body, _ := json.Marshal(events)
	resp, err := http.Post(base+"/customTransform", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("customTransform: %d %s", resp.StatusCode, out)
	}
	var results []struct {
		Output     map[string]any `json:"output"`
		StatusCode int            `json:"statusCode"`
		Error      string         `json:"error"`
	}
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("customTransform answer %s: %v", out, err)
	}
	// m2 is dropped by the function; m1 is enriched with the library's masking.
	if len(results) != 1 || results[0].StatusCode != 200 {
		t.Fatalf("customTransform results %s, want one 200 (the test event dropped)", out)
	}
	ctx, _ := results[0].Output["context"].(map[string]any)
	traits, _ := ctx["traits"].(map[string]any)
	if traits["email"] != "j***@example.com" || ctx["sourceId"] != src.ID {
		t.Fatalf("output %v: want email masked by the library and sourceId from metadata", results[0].Output)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		"/transformation/getByVersionId?versionId=" + c.Functions[0].VersionID,
		"/transformationLibrary/getByVersionId?versionId=" + c.Libraries[0].VersionID,
	}
	if strings.Join(fetched, " ") != strings.Join(want, " ") {
		t.Errorf("fetched %v, want %v", fetched, want)
	}
}
