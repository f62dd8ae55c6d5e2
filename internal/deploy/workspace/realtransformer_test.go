package workspace

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/testfn"
	ws "github.com/rudderctl/rudderctl/internal/workspace"
)

// The real rudder-transformer (opt-in: RUDDER_TRANSFORMER_DIR, a built production tree),
// started with CONFIG_BACKEND_URL = the workspace deployed into the local cloud, runs the
// example function through /customTransform with the code it fetched by version id, once.
//
//	RUDDER_TRANSFORMER_DIR=/path/to/rudder-transformer \
//	  go test ./internal/deploy/workspace -run TestRealTransformerAgainstDeployedWorkspace
func TestRealTransformerAgainstDeployedWorkspace(t *testing.T) {
	appDir := testfn.RealTransformerDir(t)
	startCloud(t)
	cl, err := awsapi.NewSession(context.Background(), testRegion)
	if err != nil {
		t.Fatal(err)
	}
	const stack = "wsreal"
	dir := exampleCopy(t)
	deployTransformer(t, cl, stack)
	deploy(t, cl, stack, prepare(t, dir))
	e, err := GetEndpoints(context.Background(), cl, stack, true)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := ws.Load(filepath.Join(dir, ws.DefaultFile))
	want, err := ws.Compile(context.Background(), f, ws.Options{WriteKeys: map[string]string{"website": "k"}})
	if err != nil {
		t.Fatal(err)
	}
	base := testfn.StartRealTransformer(t, appDir, "CONFIG_BACKEND_URL="+e.ConfigBackendURL, "LOG_LEVEL=error", "STATS_ENABLED=false")

	fn, lib := want.Functions[0], want.Libraries[0]
	// As rudder-server's processor sends it (its structs marshal with Go field names).
	dest := map[string]any{"ID": "d1", "Name": "events-webhook", "Transformations": []map[string]any{{"VersionID": fn.VersionID, "ID": fn.ID, "Language": "javascript"}}}
	event := func(id, email string) map[string]any {
		return map[string]any{
			"message":     map[string]any{"type": "track", "event": "Signed Up", "messageId": id, "userId": "u1", "context": map[string]any{"traits": map[string]any{"email": email}}},
			"metadata":    map[string]any{"sourceId": "s1", "destinationId": "d1", "workspaceId": want.WorkspaceID, "messageId": id, "destinationType": "WEBHOOK", "transformationId": fn.ID},
			"destination": dest,
			"libraries":   []map[string]any{{"VersionID": lib.VersionID}},
		}
	}
	for i, email := range []string{"jane@example.com", "bob@example.org"} {
		body, _ := json.Marshal([]map[string]any{event("m"+string(rune('1'+i)), email)})
		resp, err := http.Post(base+"/customTransform", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		masked := email[:1] + "***" + email[strings.Index(email, "@"):]
		if resp.StatusCode != 200 || !strings.Contains(string(out), `"email":"`+masked+`"`) || !strings.Contains(string(out), `"statusCode":200`) {
			t.Fatalf("call %d: %d %s", i+1, resp.StatusCode, out)
		}
		t.Logf("call %d: %s", i+1, out)
	}
	log := functionLog(t, cl, stack)
	for what, line := range map[string]string{"function": "GET transformation versionId=" + fn.VersionID + " status=200", "library": "GET library versionId=" + lib.VersionID + " status=200"} {
		if n := strings.Count(log, line); n != 1 {
			t.Errorf("the %s was fetched %d times (want once):\n%s", what, n, log)
		}
	}
}
