package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/backendnodes/compose"
)

func runExportCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errw bytes.Buffer
	app := &cli.App{Name: "rudderctl", Writer: &out, ErrWriter: &errw, Commands: []*cli.Command{exportCommand()},
		ExitErrHandler: func(*cli.Context, error) {}}
	err := app.RunContext(context.Background(), append([]string{"rudderctl", "export", "compose"}, args...))
	return out.String(), errw.String(), err
}

func TestExportComposeCLI(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "compose.yaml")
	stdout, stderr, err := runExportCLI(t, "--count", "3", "--out", out)
	if err != nil || stdout != "" || !strings.Contains(stderr, "wrote "+out) {
		t.Fatalf("err %v stdout %q stderr %q", err, stdout, stderr)
	}
	data, _ := os.ReadFile(out)
	p, err := compose.Load(context.Background(), data, dir, compose.PlaceholderEnv())
	if err != nil || len(p.Services) != 3+3+4 {
		t.Fatalf("written file: %v, services %v", err, p.ServiceNames())
	}
	// Without --out the file is the data on stdout.
	stdout, _, err = runExportCLI(t, "--count", "1")
	if err != nil || !strings.Contains(stdout, "backend1:") || strings.Contains(stdout, "backend2:") {
		t.Fatalf("stdout: %v %q", err, stdout)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--count missing"},
		{[]string{"--count", "0"}, "--count 0 refused"},
		{[]string{"--count", "1000"}, "--count 1000 refused"},
		{[]string{"--count", "2", "--out", filepath.Join(dir, "nope", "c.yaml")}, "cannot write"},
		{[]string{"--count", "2", "--out", ""}, "--out is empty"},
		{[]string{"--count", "2", "--port", "0"}, "--port 0 refused"},
		{[]string{"--count", "2", "stray"}, "unexpected argument"},
	} {
		stdout, _, err := runExportCLI(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || stdout != "" {
			t.Errorf("%v: error %v (stdout %d bytes), want %q", tc.args, err, len(stdout), tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("bad input wrote something: %v", entries)
	}
}
