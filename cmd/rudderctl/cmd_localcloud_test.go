package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/localcloud"
)

// runLocalcloudCLI runs `rudderctl localcloud start ARGS` in-process; the cases here
// fail before it would serve.
func runLocalcloudCLI(t *testing.T, args ...string) error {
	t.Helper()
	var out, errw bytes.Buffer
	app := &cli.App{Name: "rudderctl", Writer: &out, ErrWriter: &errw, Commands: []*cli.Command{localcloudCommand()},
		ExitErrHandler: func(*cli.Context, error) {}}
	return app.RunContext(context.Background(), append([]string{"rudderctl", "localcloud", "start", "--quiet"}, args...))
}

// The "another program listens" hint comes only when the address is taken.
func TestLocalcloudStartErrors(t *testing.T) {
	const hint = "listens on"
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	err = runLocalcloudCLI(t, "--addr", busy.Addr().String(), "--state-dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), hint) || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Errorf("address in use: %v", err)
	}

	damaged := t.TempDir()
	if err := os.WriteFile(filepath.Join(damaged, "state.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = runLocalcloudCLI(t, "--addr", "127.0.0.1:0", "--state-dir", damaged)
	if err == nil || !strings.Contains(err.Error(), "damaged") || strings.Contains(err.Error(), hint) {
		t.Errorf("damaged state: %v", err)
	}

	// ECS task options are checked at start: nothing listens after a bad one.
	err = runLocalcloudCLI(t, "--addr", "127.0.0.1:0", "--state-dir", t.TempDir(), "--image-map", filepath.Join(t.TempDir(), "none.yaml"))
	if err == nil || !strings.Contains(err.Error(), "image map") || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("missing image map: %v", err)
	}
	err = runLocalcloudCLI(t, "--addr", "127.0.0.1:0", "--state-dir", t.TempDir(), "--sandbox", "vm")
	if err == nil || !strings.Contains(err.Error(), `sandbox "vm"`) {
		t.Errorf("unknown sandbox: %v", err)
	}

	held := t.TempDir()
	c, err := localcloud.Start(context.Background(), localcloud.Options{Addr: "127.0.0.1:0", StateDir: held})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = runLocalcloudCLI(t, "--addr", "127.0.0.1:0", "--state-dir", held)
	if err == nil || !strings.Contains(err.Error(), "in use by another local cloud") || strings.Contains(err.Error(), hint) {
		t.Errorf("state dir in use: %v", err)
	}
}

func TestLocalcloudStateDirFollowsCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("RUDDERCTL_CACHE", cache)
	want := filepath.Join(cache, "localcloud")
	if got := defaultLocalcloudDir(); got != want {
		t.Fatalf("default state dir %q, want %q", got, want)
	}
	for _, f := range localcloudCommand().Subcommands[0].Flags {
		if sf, ok := f.(*cli.StringFlag); ok && sf.Name == "state-dir" && sf.Value != want {
			t.Errorf("--state-dir default %q, want %q", sf.Value, want)
		}
	}
}
