package workspace

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/example.golden.json")

const exampleDir = "../../examples/workspace"

// copyTree copies a directory of small files (the example workspace) to a temp dir.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func compileDir(t *testing.T, dir string, opts Options) *Compiled {
	t.Helper()
	f, err := Load(filepath.Join(dir, DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(context.Background(), f, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The example renders to the checked-in golden bytes, and those decode into rudder-server's
// ConfigT with nothing unknown and nothing required missing.
func TestExampleRendersToGoldenAndRudderServerShape(t *testing.T) {
	c := compileDir(t, exampleDir, Options{})
	cfg := decodeAsRudderServer(t, c.Config)
	golden := filepath.Join("testdata", "example.golden.json")
	if *update {
		if err := os.WriteFile(golden, c.Config, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Config, want) {
		t.Fatalf("rendered example differs from %s (run go test -run %s -update after an intended change):\n%s", golden, t.Name(), c.Config)
	}

	// Routing as written: website -> events-webhook; backend -> events-webhook, audit-webhook.
	routes := map[string][]string{}
	for _, s := range cfg.Sources {
		for _, d := range s.Destinations {
			routes[s.Name] = append(routes[s.Name], d.Name)
		}
	}
	wantRoutes := map[string][]string{"website": {"events-webhook"}, "backend": {"events-webhook", "audit-webhook"}}
	if !reflect.DeepEqual(routes, wantRoutes) {
		t.Errorf("routes %v, want %v", routes, wantRoutes)
	}
	// Credentials are placeholders rudder-server resolves from its environment.
	var hook, audit rsDestination
	for _, d := range cfg.Sources[1].Destinations {
		if d.Name == "events-webhook" {
			hook = d
		} else {
			audit = d
		}
	}
	if got := hook.Config["headers"].([]any)[0].(map[string]any)["to"]; got != "env.EVENTS_WEBHOOK_AUTHORIZATION" {
		t.Errorf("header value %v, want the placeholder env.EVENTS_WEBHOOK_AUTHORIZATION", got)
	}
	if got := audit.Config["apiKey"]; got != "env.RUDDERCTL_SECRET_AUDIT_WEBHOOK_APIKEY" {
		t.Errorf("apiKey %v, want env.RUDDERCTL_SECRET_AUDIT_WEBHOOK_APIKEY", got)
	}
	if len(hook.Transformations) != 1 || hook.Transformations[0].VersionID != c.Functions[0].VersionID {
		t.Errorf("events-webhook transformations %+v, want function enrich version %s", hook.Transformations, c.Functions[0].VersionID)
	}
	if len(audit.Transformations) != 0 {
		t.Errorf("audit-webhook runs %+v, want no function", audit.Transformations)
	}
	if len(cfg.Libraries) != 1 || cfg.Libraries[0].VersionID != c.Libraries[0].VersionID {
		t.Errorf("libraries %+v, want the piiHelpers version %s", cfg.Libraries, c.Libraries[0].VersionID)
	}
	wantSecrets := []SecretUse{
		{Env: "EVENTS_WEBHOOK_AUTHORIZATION", UsedBy: []string{"destination events-webhook: config.headers[0].to"}},
		{Env: "RUDDERCTL_SECRET_AUDIT_WEBHOOK_APIKEY", Secret: "rudder/audit-webhook-api-key", UsedBy: []string{"destination audit-webhook: config.apiKey"}},
	}
	if !reflect.DeepEqual(c.Secrets, wantSecrets) {
		t.Errorf("secrets %+v, want %+v", c.Secrets, wantSecrets)
	}
}

// jsonLeaves flattens JSON into path -> value for comparison.
func jsonLeaves(t *testing.T, data []byte) map[string]string {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(string, any)
	walk = func(p string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(p+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", p, i), e)
			}
		default:
			out[p] = fmt.Sprint(x)
		}
	}
	walk("", v)
	return out
}

func changedPaths(t *testing.T, a, b []byte) []string {
	la, lb := jsonLeaves(t, a), jsonLeaves(t, b)
	var changed []string
	for p, v := range la {
		if lb[p] != v {
			changed = append(changed, p)
		}
	}
	for p := range lb {
		if _, ok := la[p]; !ok {
			changed = append(changed, p)
		}
	}
	sort.Strings(changed)
	return changed
}

// Editing one function's file changes exactly that function's versionId, where the
// destinations reference it, and nothing else; rendering again is byte-identical.
func TestFunctionEditChangesOnlyItsVersion(t *testing.T) {
	dir := copyTree(t, exampleDir)
	before := compileDir(t, dir, Options{})
	again := compileDir(t, dir, Options{})
	if !bytes.Equal(before.Config, again.Config) {
		t.Fatal("two renders of the same tree differ")
	}
	fn := filepath.Join(dir, "functions", "enrich.js")
	code, _ := os.ReadFile(fn)
	if err := os.WriteFile(fn, append(code, []byte("// a comment is a code change too\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	after := compileDir(t, dir, Options{})

	oldV, newV := before.Functions[0].VersionID, after.Functions[0].VersionID
	if oldV == newV {
		t.Fatal("the function's versionId did not change with its code")
	}
	want := []string{
		".sources[0].destinations[0].transformations[0].versionId", // website -> events-webhook
		".sources[1].destinations[0].transformations[0].versionId", // backend -> events-webhook
	}
	if got := changedPaths(t, before.Config, after.Config); !reflect.DeepEqual(got, want) {
		t.Fatalf("changed paths %v, want exactly %v", got, want)
	}
	if before.Functions[0].ID != after.Functions[0].ID || !reflect.DeepEqual(before.Libraries, after.Libraries) {
		t.Error("the function id or a library changed with the function's code")
	}
	if _, ok := after.TransformationAnswer(oldV); ok {
		t.Error("the old version is still answered")
	}
	body, ok := after.TransformationAnswer(newV)
	if !ok || !strings.Contains(string(body), "a comment is a code change too") {
		t.Errorf("new version answer %s, ok=%v: want the new code", body, ok)
	}

	// A library edit changes the library's version in `libraries` only.
	lib := filepath.Join(dir, "libraries", "piiHelpers.js")
	code, _ = os.ReadFile(lib)
	if err := os.WriteFile(lib, append(code, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	afterLib := compileDir(t, dir, Options{})
	if got := changedPaths(t, after.Config, afterLib.Config); !reflect.DeepEqual(got, []string{".libraries[0].versionId"}) {
		t.Fatalf("library edit changed %v, want only .libraries[0].versionId", got)
	}
}

// The transformer's code answers: what customTransformer(-v1).js and ivmFactory.js read.
func TestCodeAnswers(t *testing.T) {
	c := compileDir(t, exampleDir, Options{})
	fn := c.Functions[0]
	body, ok := c.TransformationAnswer(fn.VersionID)
	if !ok {
		t.Fatal("no answer for the function's version")
	}
	var tr map[string]any
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatal(err)
	}
	code, _ := os.ReadFile(filepath.Join(exampleDir, "functions", "enrich.js"))
	want := map[string]any{"id": fn.ID, "versionId": fn.VersionID, "name": "enrich", "code": string(code),
		"codeVersion": "1", "language": "javascript", "workspaceId": c.WorkspaceID}
	if !reflect.DeepEqual(tr, want) {
		t.Errorf("transformation answer %v, want %v", tr, want)
	}
	lib := c.Libraries[0]
	body, ok = c.LibraryAnswer(lib.VersionID)
	if !ok {
		t.Fatal("no answer for the library's version")
	}
	var la map[string]any
	if err := json.Unmarshal(body, &la); err != nil {
		t.Fatal(err)
	}
	libCode, _ := os.ReadFile(filepath.Join(exampleDir, "libraries", "piiHelpers.js"))
	if la["name"] != "piiHelpers" || la["code"] != string(libCode) || la["versionId"] != lib.VersionID {
		t.Errorf("library answer %v", la)
	}
	// A function's version is not a library's, and unknown versions are not answered.
	if _, ok := c.LibraryAnswer(fn.VersionID); ok {
		t.Error("a function version is answered as a library")
	}
	if _, ok := c.TransformationAnswer("nope"); ok {
		t.Error("an unknown version is answered")
	}
}

// Write keys: given in the file, a placeholder, or from Options.WriteKeys.
func TestWriteKeys(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "functions/f.js", "export function transformEvent(e) { return e; }\n")
	writeFile(t, dir, DefaultFile, `workspace: w
sources:
  - {name: a, type: HTTP}
  - {name: b, type: HTTP, writeKey: !env B_WRITE_KEY}
destinations:
  - {name: d, type: WEBHOOK, sources: [a, b], config: {webhookUrl: "http://x"}}
`)
	f, err := Load(filepath.Join(dir, DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(context.Background(), f, Options{}); err == nil || !strings.Contains(err.Error(), `source "a" has no write key`) {
		t.Fatalf("want a missing write key error, got %v", err)
	}
	c, err := Compile(context.Background(), f, Options{WriteKeys: map[string]string{"a": "2KeyA"}})
	if err != nil {
		t.Fatal(err)
	}
	for msg, keys := range map[string]map[string]string{
		`the write keys name source "c", which is not in`:                        {"a": "2KeyA", "c": "2KeyC"},
		`source "b" has a write key both in the workspace file and in the write`: {"a": "2KeyA", "b": "2KeyB"},
	} {
		if _, err := Compile(context.Background(), f, Options{WriteKeys: keys}); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("write keys for %d sources: want an error containing %q, got %v", len(keys), msg, err)
		}
	}
	cfg := decodeAsRudderServer(t, c.Config)
	if cfg.Sources[0].WriteKey != "2KeyA" || cfg.Sources[1].WriteKey != "env.B_WRITE_KEY" {
		t.Errorf("write keys %q %q", cfg.Sources[0].WriteKey, cfg.Sources[1].WriteKey)
	}
}

func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
