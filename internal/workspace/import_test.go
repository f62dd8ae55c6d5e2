package workspace

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Render -> import -> render gives the same bytes: names, routing, placeholders, function
// and library code (from saved code answers) and write keys all survive.
func TestImportRoundTrip(t *testing.T) {
	c := compileDir(t, exampleDir, Options{})
	codeDir := t.TempDir()
	for _, fn := range c.Functions {
		body, _ := c.TransformationAnswer(fn.VersionID)
		writeFile(t, codeDir, fn.VersionID+".json", string(body))
	}
	for _, l := range c.Libraries {
		body, _ := c.LibraryAnswer(l.VersionID)
		writeFile(t, codeDir, l.VersionID+".json", string(body))
	}
	im, err := Import(c.Config, ImportOptions{Name: "example", CodeDir: codeDir})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ws")
	if err := WriteImport(dir, im); err != nil {
		t.Fatal(err)
	}
	// Write keys are kept out of the workspace file, in a 0600 file.
	wsFile, _ := os.ReadFile(filepath.Join(dir, DefaultFile))
	if bytes.Contains(wsFile, []byte("2ExampleWebsiteWriteKey00001")) {
		t.Errorf("a write key is in the imported workspace file:\n%s", wsFile)
	}
	st, err := os.Stat(filepath.Join(dir, "write-keys.yaml"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("write-keys.yaml: %v, mode %v; want 0600", err, st.Mode())
	}
	keys, err := LoadWriteKeys(filepath.Join(dir, "write-keys.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	again := compileDir(t, dir, Options{WriteKeys: keys})
	if !bytes.Equal(again.Config, c.Config) {
		t.Fatalf("import + render differs from the original render.\nimported workspace.yaml:\n%s\nrender:\n%s", wsFile, again.Config)
	}
	if !reflect.DeepEqual(im.EnvVars, []string{"EVENTS_WEBHOOK_AUTHORIZATION", "RUDDERCTL_SECRET_AUDIT_WEBHOOK_APIKEY"}) {
		t.Errorf("env vars %v", im.EnvVars)
	}

	// Importing again into the same directory overwrites nothing.
	if err := WriteImport(dir, im); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Fatalf("second import into %s: want a refusal, got %v", dir, err)
	}
}

// Credentials written in clear in a config (as the control plane serves them) become !env
// references; their values are written nowhere.
func TestImportReplacesCredentialsInClear(t *testing.T) {
	config := `{"workspaceId":"w1","sources":[{"id":"s1","name":"web","writeKey":"wk1","enabled":true,
	 "sourceDefinition":{"name":"Javascript"},
	 "destinations":[{"id":"d1","name":"crm","enabled":true,"destinationDefinition":{"name":"WEBHOOK","config":{}},
	   "config":{"webhookUrl":"https://x","password":"hunter2","headers":[{"from":"Authorization","to":"Bearer sekrit"}]}}]}]}`
	im, err := Import([]byte(config), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range im.Files {
		for _, secret := range []string{"hunter2", "sekrit"} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s holds the credential %q:\n%s", name, secret, data)
			}
		}
	}
	if !reflect.DeepEqual(im.EnvVars, []string{"CRM_HEADERS_0_TO", "CRM_PASSWORD"}) {
		t.Errorf("env vars %v", im.EnvVars)
	}
	dir := filepath.Join(t.TempDir(), "ws")
	if err := WriteImport(dir, im); err != nil {
		t.Fatal(err)
	}
	keys, _ := LoadWriteKeys(filepath.Join(dir, "write-keys.yaml"))
	c := compileDir(t, dir, Options{WriteKeys: keys})
	cfg := decodeAsRudderServer(t, c.Config)
	d := cfg.Sources[0].Destinations[0]
	if d.Config["password"] != "env.CRM_PASSWORD" {
		t.Errorf("password %v, want the placeholder env.CRM_PASSWORD", d.Config["password"])
	}
}

// A config naming functions whose code is not given is refused, saying what to provide.
func TestImportNeedsFunctionCode(t *testing.T) {
	config := `{"workspaceId":"w1","sources":[{"id":"s1","name":"web","writeKey":"wk1",
	 "sourceDefinition":{"name":"Javascript"},
	 "destinations":[{"id":"d1","name":"hook","destinationDefinition":{"name":"WEBHOOK"},"config":{},
	   "transformations":[{"versionId":"v123","id":"t1"}]}]}]}`
	_, err := Import([]byte(config), ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "v123.json and pass --code") {
		t.Fatalf("want an error naming the missing code, got %v", err)
	}
	if _, err := Import([]byte("not json"), ImportOptions{}); err == nil || !strings.Contains(err.Error(), "not a rudder-server workspace config") {
		t.Fatalf("want a parse error, got %v", err)
	}
}
