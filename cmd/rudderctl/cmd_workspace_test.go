package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runWorkspaceCLI runs `rudderctl workspace ...` in-process (runCLI): stdout, stderr, error.
func runWorkspaceCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return runCLI(t, append([]string{"workspace"}, args...)...)
}

const exampleWorkspace = "../../examples/workspace/workspace.yaml"

func TestWorkspaceRenderCLI(t *testing.T) {
	// The summary names things and never prints a write key.
	out, _, err := runWorkspaceCLI(t, "render", "--file", exampleWorkspace)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "WriteKey0000") || !strings.Contains(out, "function    enrich") || !strings.Contains(out, "env         EVENTS_WEBHOOK_AUTHORIZATION") {
		t.Errorf("summary:\n%s", out)
	}

	// --json is the config itself; --out writes the same bytes with mode 0600.
	js, _, err := runWorkspaceCLI(t, "render", "--file", exampleWorkspace, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct{ Sources []struct{ WriteKey string } }
	if err := json.Unmarshal([]byte(js), &cfg); err != nil || len(cfg.Sources) != 2 || cfg.Sources[0].WriteKey == "" {
		t.Fatalf("--json output %q: %v", js, err)
	}
	outFile := filepath.Join(t.TempDir(), "workspaceConfig.json")
	stdout, stderr, err := runWorkspaceCLI(t, "render", "--file", exampleWorkspace, "--out", outFile)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(outFile)
	if st, _ := os.Stat(outFile); string(data) != js || st.Mode().Perm() != 0o600 || stdout != "" || !strings.Contains(stderr, "wrote "+outFile) {
		t.Errorf("--out: same bytes %v, mode %v, stdout %q, stderr %q", string(data) == js, st.Mode(), stdout, stderr)
	}

	// Bad input: an error, nothing on stdout.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "workspace.yaml"), []byte("workspace: w\nsorces: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, err = runWorkspaceCLI(t, "render", "--file", filepath.Join(dir, "workspace.yaml"), "--json")
	if err == nil || !strings.Contains(err.Error(), "field sorces not found") || stdout != "" {
		t.Fatalf("bad file: err %v, stdout %q", err, stdout)
	}
}

func TestWorkspaceImportCLI(t *testing.T) {
	tmp := t.TempDir()
	config := filepath.Join(tmp, "workspaceConfig.json")
	if err := os.WriteFile(config, []byte(`{"workspaceId":"w","sources":[{"id":"s","name":"web","writeKey":"wk-secret-1",
	  "sourceDefinition":{"name":"HTTP"},"destinations":[{"id":"d","name":"hook","destinationDefinition":{"name":"WEBHOOK"},
	  "config":{"webhookUrl":"https://x","apiKey":"k-secret-2"}}]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "ws")
	stdout, stderr, err := runWorkspaceCLI(t, "import", config, dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout+stderr, "secret-") || !strings.Contains(stderr, "set HOOK_APIKEY on the nodes") {
		t.Errorf("import output: stdout %q stderr %q", stdout, stderr)
	}
	js, _, err := runWorkspaceCLI(t, "render", "--file", filepath.Join(dir, "workspace.yaml"), "--write-keys", filepath.Join(dir, "write-keys.yaml"), "--json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js, `"writeKey": "wk-secret-1"`) || !strings.Contains(js, `"apiKey": "env.HOOK_APIKEY"`) {
		t.Errorf("render of the import:\n%s", js)
	}
	if _, _, err := runWorkspaceCLI(t, "import", config, dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("second import: want a refusal, got %v", err)
	}
	if _, _, err := runWorkspaceCLI(t, "import", config, filepath.Join(tmp, "other"), "--name", "x"); err == nil || !strings.Contains(err.Error(), "put flags before") {
		t.Errorf("flag after args: want a clear error, got %v", err)
	}
}
