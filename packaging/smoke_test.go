package packaging

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/apigwlocal"
	"github.com/rudderctl/rudderctl/internal/lambdalocal"
	"github.com/rudderctl/rudderctl/internal/nodedist"
	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// smokeApp copies testdata/smokeapp into a temporary app directory, its deps/ becoming
// node_modules/ (git ignores node_modules).
func smokeApp(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	if out, err := exec.Command("cp", "-a", "testdata/smokeapp/.", src).CombinedOutput(); err != nil {
		t.Fatalf("copying the test app: %v %s", err, out)
	}
	if err := os.Rename(filepath.Join(src, "deps"), filepath.Join(src, "node_modules")); err != nil {
		t.Fatal(err)
	}
	return src
}

var (
	adapterOnce sync.Once
	adapterPath string
	adapterErr  error
)

// realAdapter builds ./lambda/bootstrap for this machine once per test binary.
func realAdapter(t *testing.T) string {
	t.Helper()
	adapterOnce.Do(func() {
		root, err := FindModuleRoot()
		if err != nil {
			adapterErr = err
			return
		}
		adapterPath = filepath.Join(fixtures(t), "real-adapter")
		adapterErr = BuildBootstrap(context.Background(), root, hostLambdaArch(), adapterPath)
	})
	if adapterErr != nil {
		t.Fatal(adapterErr)
	}
	return adapterPath
}

// needSmoke skips with -short: a smoke start fetches Node 22 and builds the RIE.
func needSmoke(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("smoke start: runs Node 22 under the Runtime Interface Emulator; skipped with -short")
	}
	if os.Getenv("RUDDERCTL_CACHE") == "" {
		t.Setenv("RUDDERCTL_CACHE", filepath.Join(os.TempDir(), "rudderctl-test-cache"))
	}
}

// invokeZip unpacks a zip and sends one GET through the RIE, as API Gateway would.
func invokeZip(t *testing.T, zipPath, reqPath string) apigwlocal.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	task := t.TempDir()
	if err := lambdalocal.Unzip(zipPath, task); err != nil {
		t.Fatal(err)
	}
	d, err := nodedist.Ensure(ctx, 22, hostLambdaArch(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	var mu sync.Mutex
	inst, err := lambdalocal.Start(ctx, lambdalocal.Function{TaskRoot: task, Runtime: "nodejs22.x", Arch: hostLambdaArch(), Handler: Handler,
		Env: map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/" + manifest.WrapperName}, Timeout: 30 * time.Second},
		lambdalocal.Options{Node: d.Node, Log: func(l string) { mu.Lock(); log.WriteString(l + "\n"); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://x"+reqPath, nil)
	ev, err := apigwlocal.BuildEvent(req, nil, apigwlocal.EventContext{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := inst.Invoke(ctx, ev)
	if err != nil || res.FunctionError != "" {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("GET %s: %v %s\n%s", reqPath, err, res.Payload, log.String())
	}
	resp, err := apigwlocal.ParseResponse(res.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestSmokeStartTracedApp packages an app that, at start, requires its own
// dist/test/helper.js, a dependency's dist/doc/ code and handlers through a template
// require (the shapes of issue #6). Nothing it loads is pruned, though rules match it; the
// smoke start passes; the zip answers through the RIE.
func TestSmokeStartTracedApp(t *testing.T) {
	needSmoke(t)
	src := smokeApp(t)
	outDir := t.TempDir()
	var progress bytes.Buffer
	rep, err := Build(context.Background(), Options{Src: src, Out: filepath.Join(outDir, "smoke.zip"), Arch: hostLambdaArch(), Bootstrap: realAdapter(t), Smoke: true, Progress: &progress})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if rep.Smoke == nil || !rep.Smoke.OK || rep.Smoke.Status != 200 {
		t.Fatalf("smoke %+v\n%s", rep.Smoke, progress.String())
	}
	files := zipNames(t, rep.Zip)
	for _, want := range []string{"dist/test/helper.js", "dist/test/helper.test.js", "dist/handlers/greet/handler.js", "dist/handlers/bye/handler.js",
		"node_modules/docyaml/dist/index.js", "node_modules/docyaml/dist/doc/Document.js", "node_modules/docyaml/package.json"} {
		if files[want] == nil {
			t.Errorf("zip lacks %s", want)
		}
	}
	for _, not := range []string{"node_modules/docyaml/docs/guide.md", "node_modules/docyaml/README.md", "node_modules/docyaml/test/parse.test.js"} {
		if files[not] != nil {
			t.Errorf("zip has %s: the rules should still prune what nothing loads", not)
		}
	}
	found := false
	for _, k := range rep.Pruned.KeptReachableFiles {
		if k.Path == "node_modules/docyaml/dist/doc/Document.js" && k.Rule == "docs" && k.By == "node_modules/docyaml/dist/index.js" {
			found = true
		}
	}
	if !found || rep.Pruned.KeptReachable != len(rep.Pruned.KeptReachableFiles) {
		t.Errorf("the report does not show Document.js kept from the docs rule: %+v", rep.Pruned)
	}
	if rep.Trace == nil || len(rep.Trace.Dynamic) != 1 || !strings.Contains(rep.Trace.Dynamic[0].Expr, "handlers/${name}/handler") || rep.Trace.Dynamic[0].Files != 2 {
		t.Errorf("trace %+v", rep.Trace)
	}
	if _, err := os.Stat(filepath.Join(outDir, "smoke.template.yaml")); err != nil {
		t.Errorf("template not named after the zip: %v", err)
	}

	// And it runs: the health answer shows the helper and the dependency's code loaded; a
	// handler loaded through the template require answers.
	health := invokeZip(t, rep.Zip, "/health")
	if health.StatusCode != 200 || !strings.Contains(health.Body, `"helper":"helper-ok"`) || !strings.Contains(health.Body, `"answer":42`) {
		t.Errorf("/health: %d %s", health.StatusCode, health.Body)
	}
	if greet := invokeZip(t, rep.Zip, "/bye/world"); greet.StatusCode != 200 || greet.Body != "bye world" {
		t.Errorf("/bye/world: %d %q", greet.StatusCode, greet.Body)
	}
}

// TestSmokeStartRefusesBrokenApp: an app that throws at start is refused with its own
// output, and nothing is written.
func TestSmokeStartRefusesBrokenApp(t *testing.T) {
	needSmoke(t)
	src := smokeApp(t)
	writeFile(t, src, "dist/src/index.js", "console.error('smokeapp: reading the configuration');\nthrow new Error('boom: SMOKEAPP_CONFIG is not set');\n", 0o644)
	outDir := t.TempDir()
	_, err := Build(context.Background(), Options{Src: src, Out: filepath.Join(outDir, "broken.zip"), Arch: hostLambdaArch(), Bootstrap: realAdapter(t), Smoke: true, Progress: io.Discard})
	if err == nil {
		t.Fatal("an app that throws at start was packaged")
	}
	for _, w := range []string{"smoke start failed", "smokeapp: reading the configuration", "boom: SMOKEAPP_CONFIG is not set", "nothing was written", "--no-smoke"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
		t.Errorf("something was written: %v", ents)
	}
}

// TestSmokeSkippedForForeignArch: an arm64 zip cannot run on this x86_64 machine; the smoke
// start is skipped with a notice, and the zip is written.
func TestSmokeSkippedForForeignArch(t *testing.T) {
	fx := fixtures(t)
	if hostLambdaArch() != "x86_64" {
		t.Skip("the foreign-arch case is written for an x86_64 host")
	}
	src := smokeApp(t)
	boot := filepath.Join(t.TempDir(), "arm64-bootstrap")
	b, _ := os.ReadFile(filepath.Join(fx, "bootstrap"))
	b[18], b[19] = 183, 0 // EM_AARCH64
	os.WriteFile(boot, b, 0o755)
	var progress bytes.Buffer
	rep, err := Build(context.Background(), Options{Src: src, Out: filepath.Join(t.TempDir(), "arm.zip"), Arch: "arm64", Bootstrap: boot, Smoke: true, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Smoke == nil || rep.Smoke.OK || !strings.Contains(rep.Smoke.Skipped, "arm64") || !strings.Contains(progress.String(), "smoke start skipped") {
		t.Fatalf("smoke %+v\n%s", rep.Smoke, progress.String())
	}
}

// TestPruneOfRequiredFileIsRefused: a --prune glob that removes a file the app loads is
// refused, naming the file, the glob and who requires it; --keep resolves it.
func TestPruneOfRequiredFileIsRefused(t *testing.T) {
	fx := fixtures(t)
	src := smokeApp(t)
	cases := []struct {
		prune string
		want  []string
	}{
		{"test", []string{"dist/test/helper.js (matched by --prune \"test\")", "dist/src/index.js requires it as '../test/helper'", "--keep dist/test/helper.js"}},
		{"node_modules/docyaml/dist/doc", []string{"node_modules/docyaml/dist/doc/Document.js", "node_modules/docyaml/dist/index.js requires it as './doc/Document.js'",
			"dist/src/index.js -> node_modules/docyaml/dist/index.js -> node_modules/docyaml/dist/doc/Document.js"}},
		{"dist/handlers/bye", []string{"dist/handlers/bye/handler.js", "dist/src/index.js may load it through the dynamic require(`../handlers/${name}/handler`)"}},
	}
	for _, c := range cases {
		outDir := t.TempDir()
		_, err := Build(context.Background(), Options{Src: src, Out: filepath.Join(outDir, "p.zip"), Bootstrap: filepath.Join(fx, "bootstrap"), Prune: []string{c.prune}})
		if err == nil {
			t.Errorf("--prune %s: accepted", c.prune)
			continue
		}
		for _, w := range append(c.want, "nothing was written") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("--prune %s: error lacks %q:\n%v", c.prune, w, err)
			}
		}
		if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
			t.Errorf("something was written: %v", ents)
		}
	}
	// With --keep for the required file, the rest of the glob applies.
	rep, err := Build(context.Background(), Options{Src: src, Out: filepath.Join(t.TempDir(), "p.zip"), Bootstrap: filepath.Join(fx, "bootstrap"), Prune: []string{"test"}, Keep: []string{"dist/test/helper.js"}})
	if err != nil {
		t.Fatal(err)
	}
	files := zipNames(t, rep.Zip)
	if files["dist/test/helper.js"] == nil || files["dist/test/helper.test.js"] != nil {
		t.Errorf("--keep with --prune: helper.js kept %v, helper.test.js pruned %v", files["dist/test/helper.js"] != nil, files["dist/test/helper.test.js"] == nil)
	}
}
