package manifest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBytes(t *testing.T) {
	got := string(New("nodejs22.x", "x86_64", "dist/src/index.js").Bytes())
	want := `{
  "schema": 1,
  "runtime": "nodejs22.x",
  "arch": "x86_64",
  "entry": "dist/src/index.js",
  "health_path": "/health",
  "env": {
    "CLUSTER_ENABLED": "false",
    "NODE_OPTIONS": "--no-node-snapshot"
  }
}
`
	if got != want {
		t.Fatalf("manifest:\n%s\nwant:\n%s", got, want)
	}
	back, err := Parse([]byte(got))
	if err != nil {
		t.Fatal(err)
	}
	if back.Entry != "dist/src/index.js" || back.Env["NODE_OPTIONS"] != "--no-node-snapshot" {
		t.Errorf("round trip: %+v", back)
	}
}

func TestParse(t *testing.T) {
	m, err := Parse([]byte(`{"schema":1,"runtime":"nodejs24.x","entry":"index.js","health_path":"ready"}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Arch != "x86_64" || m.HealthPath != "/ready" || m.Runtime != "nodejs24.x" {
		t.Errorf("defaults: %+v", m)
	}
	if m, _ := Parse([]byte(`{"schema":1,"runtime":"nodejs22.x","arch":"arm64","entry":"a.js"}`)); m.Arch != "arm64" || m.HealthPath != "/health" {
		t.Errorf("arch kept, health defaulted: %+v", m)
	}
	for body, want := range map[string]string{
		`{"schema":2,"runtime":"nodejs22.x","entry":"x.js"}`: "schema 2",
		`{"runtime":"nodejs22.x","entry":"x.js"}`:            "schema 0",
		`{"schema":1,"runtime":"nodejs22.x"}`:                "no entry",
		`{"schema":1,"entry":"x.js"}`:                        "no runtime",
		`{"schema":1,`:                                       "not valid JSON",
	} {
		_, err := Parse([]byte(body))
		var me *Error
		if !errors.As(err, &me) || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "manifest "+FileName+" ") {
			t.Errorf("%s: err %v, want *Error with %q", body, err, want)
		}
	}
}

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	if _, err := Load(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	if err := os.WriteFile(p, []byte(`{"schema":3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "manifest "+p+" has schema 3") {
		t.Errorf("bad: %v", err)
	}
	if err := os.WriteFile(p, New("nodejs22.x", "arm64", "dist/index.js").Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err := Load(p); err != nil || m.Arch != "arm64" || m.Entry != "dist/index.js" {
		t.Errorf("good: %+v %v", m, err)
	}
}

func TestWrapperScript(t *testing.T) {
	if !strings.HasPrefix(WrapperScript, "#!/bin/sh\n") || !strings.Contains(WrapperScript, `exec "$(dirname "$0")/`+BootstrapName+`" "$@"`) {
		t.Errorf("wrapper %q", WrapperScript)
	}
}
