package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/testfn"
)

// deploy/plan workspace, endpoints, status and destroy through the CLI, against the local cloud.
func TestWorkspaceDeployCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cloud := awstest.Cloud(t, localcloud.Delays{RolePropagation: 300 * time.Millisecond})
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_DEFAULT_REGION", "")
	zipPath := cliZip(t)
	wsFile, _ := filepath.Abs(exampleWorkspace)

	// Bad input (a function file that is missing) is refused before any AWS call.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "workspace.yaml"), []byte("workspace: w\nsources:\n  - name: s\n    type: HTTP\n    writeKey: k1\ndestinations:\n  - name: d\n    type: WEBHOOK\n    sources: [s]\n    function: f\n    config: {}\nfunctions:\n  - name: f\n    file: nope.js\n"), 0o644)
	cloud.ResetStats()
	if _, _, err := runCLI(t, "deploy", "workspace", "--stack", "c", "--file", filepath.Join(bad, "workspace.yaml")); err == nil || !strings.Contains(err.Error(), "nope.js") {
		t.Fatalf("bad workspace: %v", err)
	}
	if n := cloud.Stats().Calls; n != 0 {
		t.Fatalf("a refused workspace made %d AWS calls", n)
	}
	// No transformer yet: refused with what to do.
	if _, _, err := runCLI(t, "deploy", "workspace", "--stack", "c", "--file", wsFile); err == nil || !strings.Contains(err.Error(), "deploy the transformer first") {
		t.Fatalf("before the transformer: %v", err)
	}

	if _, stderr, err := runCLI(t, "deploy", "transformer", "--stack", "c", "--zip", zipPath); err != nil {
		t.Fatalf("deploy transformer: %v\n%s", err, stderr)
	}
	out, stderr, err := runCLI(t, "deploy", "workspace", "--stack", "c", "--file", wsFile, "--arch", hostArchFlag())
	if err != nil || !strings.Contains(out, "changes applied") {
		t.Fatalf("deploy workspace: %v\n%s\n%s", err, out, stderr)
	}
	out, _, err = runCLI(t, "plan", "workspace", "--stack", "c", "--file", wsFile, "--arch", hostArchFlag())
	if err != nil || !strings.Contains(out, "no changes") {
		t.Fatalf("plan after deploy: %v\n%s", err, out)
	}

	// endpoints: the secret and the token only with --show-secret.
	var hidden, shown struct{ ConfigBackendURL, WorkspaceToken, DestTransformURL string }
	for _, x := range []struct {
		v    any
		args []string
	}{{&hidden, nil}, {&shown, []string{"--show-secret"}}} {
		js, _, err := runCLI(t, append([]string{"endpoints", "--stack", "c", "--json"}, x.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal([]byte(js), &m)
		b, _ := json.Marshal(map[string]any{"ConfigBackendURL": m["config_backend_url"], "WorkspaceToken": m["workspace_token"], "DestTransformURL": m["dest_transform_url"]})
		json.Unmarshal(b, x.v)
	}
	if !strings.HasSuffix(hidden.ConfigBackendURL, "/<secret>") || hidden.WorkspaceToken != "" || shown.WorkspaceToken == "" ||
		shown.ConfigBackendURL != shown.DestTransformURL || strings.Contains(shown.ConfigBackendURL, "<secret>") {
		t.Fatalf("endpoints: hidden %+v, shown (token hidden here) %v %v", hidden, shown.ConfigBackendURL != "", shown.WorkspaceToken != "")
	}
	text, _, _ := runCLI(t, "endpoints", "--stack", "c")
	if strings.Contains(text, shown.WorkspaceToken) || !strings.Contains(text, "CONFIG_BACKEND_URL") {
		t.Errorf("endpoints text:\n%s", text)
	}
	st, _, err := runCLI(t, "status", "--stack", "c")
	if err != nil || !strings.Contains(st, "workspace   rudderctl-c-workspace, live -> version 1 (workspace ") {
		t.Errorf("status: %v\n%s", err, st)
	}

	// The deploy's check of the new version is in the function's log; no secret is.
	logs, _, err := runCLI(t, "logs", "workspace", "--stack", "c")
	if err != nil || !strings.Contains(logs, "rudderctl-workspace: GET config status=200") || strings.Contains(logs, shown.WorkspaceToken) {
		t.Errorf("logs workspace: %v\n%s", err, logs)
	}

	out, _, err = runCLI(t, "destroy", "--stack", "c", "--yes")
	if err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if left := cloud.Resources("rudderctl:stack", "c"); len(left) != 0 {
		t.Errorf("destroy left %d resources: %+v", len(left), left)
	}
}

func hostArchFlag() string { return testfn.HostArch() }
