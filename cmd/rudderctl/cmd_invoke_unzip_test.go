package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/testfn"
)

// `invoke --local` with a zip bomb is refused by Lambda's 250 MB unzipped limit and leaves
// nothing in TMPDIR (it once wrote ~2 GB first).
func TestInvokeLocalRefusesZipBomb(t *testing.T) {
	const over = 300 << 20
	for name, zipPath := range map[string]string{
		"honest header": testfn.WriteBombZip(t, testfn.BombEntry{Name: "bomb.bin", N: over}),
		"lying header":  testfn.WriteBombZip(t, testfn.BombEntry{Name: "bomb.bin", N: over, Claim: 1000}),
	} {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			app := &cli.App{Name: "rudderctl", Writer: io.Discard, ErrWriter: io.Discard, Commands: []*cli.Command{invokeCommand()},
				ExitErrHandler: func(*cli.Context, error) {}}
			err := app.RunContext(context.Background(), []string{"rudderctl", "invoke", "transformer", "--local", "--quiet", "--zip", zipPath})
			if err == nil || !(strings.Contains(err.Error(), "250 MB") || strings.Contains(err.Error(), "does not match its header")) {
				t.Fatalf("invoke --local with a zip bomb: %v", err)
			}
			t.Log(err)
			left, _ := os.ReadDir(tmp)
			if len(left) > 0 {
				t.Errorf("left in TMPDIR: %v", left)
			}
		})
	}
}
