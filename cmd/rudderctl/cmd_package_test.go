package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// runPackage runs `rudderctl package ...` in-process.
func runPackage(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	app := &cli.App{Name: "rudderctl", Writer: &out, ErrWriter: &out, Commands: []*cli.Command{packageCommand()}, ExitErrHandler: func(*cli.Context, error) {}}
	err := app.RunContext(context.Background(), append([]string{"rudderctl", "package"}, args...))
	return out.String(), err
}

// packagingTestApp copies packaging/testdata/smokeapp (its deps/ becoming node_modules/).
func packagingTestApp(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	if out, err := exec.Command("cp", "-a", "../../packaging/testdata/smokeapp/.", src).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if err := os.Rename(filepath.Join(src, "deps"), filepath.Join(src, "node_modules")); err != nil {
		t.Fatal(err)
	}
	return src
}

// TestPackageCommand: the template is named after the zip (or --template), --json carries
// the trace, the files kept because the app loads them and the smoke result; the human
// summary reports the smoke start.
func TestPackageCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the adapter and smoke-starts an app under the RIE; skipped with -short")
	}
	if os.Getenv("RUDDERCTL_CACHE") == "" {
		t.Setenv("RUDDERCTL_CACHE", filepath.Join(os.TempDir(), "rudderctl-test-cache"))
	}
	src := packagingTestApp(t)
	out := t.TempDir()
	arch := lambdaArch(runtime.GOARCH)

	// Two zips in one directory keep one template each; --template puts one elsewhere.
	stdout, err := runPackage(t, "transformer", "--src", src, "--out", filepath.Join(out, "a.zip"), "--arch", arch, "--no-smoke", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	var rep struct {
		Template string `json:"template"`
		Pruned   struct {
			KeptReachable int `json:"kept_reachable"`
			Files         []struct {
				Path, Rule string
				By         string `json:"required_by"`
			} `json:"kept_reachable_files"`
		} `json:"pruned"`
		Trace struct {
			Reachable int `json:"reachable_files"`
			Dynamic   []struct{ Expr string }
		} `json:"trace"`
		Smoke struct {
			OK      bool   `json:"ok"`
			Skipped string `json:"skipped"`
		} `json:"smoke"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if rep.Template != filepath.Join(out, "a.template.yaml") || rep.Smoke.OK || !strings.Contains(rep.Smoke.Skipped, "--no-smoke") ||
		rep.Pruned.KeptReachable != 1 || rep.Pruned.Files[0].Path != "node_modules/docyaml/dist/doc/Document.js" || rep.Trace.Reachable == 0 || len(rep.Trace.Dynamic) != 1 {
		t.Fatalf("report: %+v", rep)
	}
	custom := filepath.Join(t.TempDir(), "sam", "b-sam.yaml")
	if stdout, err = runPackage(t, "transformer", "--src", src, "--out", filepath.Join(out, "b.zip"), "--arch", arch, "--template", custom); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if !strings.Contains(stdout, "smoke      ok: the health path answered 200") || !strings.Contains(stdout, "template   "+custom) || !strings.Contains(stdout, "1 kept because the app loads them") {
		t.Errorf("summary:\n%s", stdout)
	}
	tmpl, err := os.ReadFile(custom)
	if err != nil || !bytes.Contains(tmpl, []byte(`CodeUri: "`+filepath.Join(mustRel(t, filepath.Dir(custom), out), "b.zip")+`"`)) {
		t.Errorf("template %s: %v\n%s", custom, err, tmpl)
	}
	ents, _ := os.ReadDir(out)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "a.template.yaml a.zip b.zip" {
		t.Errorf("output dir holds %v", names)
	}
}

func mustRel(t *testing.T, base, target string) string {
	t.Helper()
	r, err := filepath.Rel(base, target)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
