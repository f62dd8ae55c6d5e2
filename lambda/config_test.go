package lambda

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/lambda/manifest"
)

func writeManifest(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), manifest.FileName)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadManifest(t *testing.T) {
	m, err := LoadManifest(writeManifest(t, `{"schema":1,"runtime":"nodejs22.x","arch":"arm64","entry":"dist/src/index.js",
		"env":{"A":"1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Entry != "dist/src/index.js" || m.HealthPath != "/health" || m.Env["A"] != "1" || m.Arch != "arm64" {
		t.Errorf("%+v", m)
	}
	for body, want := range map[string]string{
		`{"schema":2,"entry":"x.js"}`: "schema 2",
		`{"schema":1}`:                "no entry",
		`{"schema":1,`:                "not valid JSON",
	} {
		if _, err := LoadManifest(writeManifest(t, body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", body, err, want)
		}
	}
	if _, err := LoadManifest(filepath.Join(t.TempDir(), manifest.FileName)); err == nil || !strings.Contains(err.Error(), "RUDDERCTL_MANIFEST") {
		t.Errorf("missing manifest: %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	p := writeManifest(t, `{"schema":1,"runtime":"nodejs22.x","entry":"src/index.js","health_path":"ready"}`)
	t.Setenv("RUDDERCTL_MANIFEST", p)
	t.Setenv("RUDDERCTL_NODE", "/opt/node/bin/node")
	t.Setenv("RUDDERCTL_PATH_PREFIX", "sec/")
	t.Setenv("RUDDERCTL_READY_TIMEOUT", "2500ms")
	t.Setenv("RUDDERCTL_TRANSPORT", "tcp")
	c, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.App.Node != "/opt/node/bin/node" || c.App.Entry != "src/index.js" || c.App.Dir != filepath.Dir(p) ||
		c.App.HealthPath != "/ready" || c.App.ReadyTimeout != 2500*time.Millisecond || c.App.Transport != "tcp" ||
		c.PathPrefix != "/sec" {
		t.Errorf("%+v", c)
	}
	t.Setenv("RUDDERCTL_READY_TIMEOUT", "4")
	if c, err := LoadConfig(); err != nil || c.App.ReadyTimeout != 4*time.Second {
		t.Errorf("bare seconds: %v %v", c, err)
	}
	t.Setenv("RUDDERCTL_READY_TIMEOUT", "soon")
	if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), "RUDDERCTL_READY_TIMEOUT") {
		t.Errorf("bad timeout: %v", err)
	}
	t.Setenv("RUDDERCTL_READY_TIMEOUT", "")
	t.Setenv("RUDDERCTL_TRANSPORT", "carrier-pigeon")
	if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), "RUDDERCTL_TRANSPORT") {
		t.Errorf("bad transport: %v", err)
	}
	t.Setenv("RUDDERCTL_TRANSPORT", "")
	if c, err := LoadConfig(); err != nil || c.App.Transport != DefaultTransport || c.App.ReadyTimeout != 9*time.Second {
		t.Errorf("defaults: %+v %v", c, err)
	}
}
