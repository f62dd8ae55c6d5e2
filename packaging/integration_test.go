package packaging

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/nodedist"
	"github.com/rudderctl/rudderctl/internal/testenv"
	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// exampleTransformer returns examples/transformer, skipping when it is not there yet.
func exampleTransformer(t *testing.T) string {
	t.Helper()
	root, err := FindModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "examples", "transformer")
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		t.Fatalf("examples/transformer/package.json is missing (%v): the example app is part of the repository", err)
	}
	return dir
}

func unzipTo(t *testing.T, zipPath, dir string) {
	t.Helper()
	r, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, f := range r.File {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		w, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, f.Mode().Perm())
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(w, rc)
		rc.Close()
		w.Close()
	}
}

// startFromZip unpacks the zip and starts its entry with the target Node the way the
// adapter would (manifest env, PORT), then waits for the health path.
// startOnNode22 runs the unpacked zip with Node 22 where this host can run the x86_64 build.
func startOnNode22(ctx context.Context, t *testing.T, rep *Report) {
	t.Helper()
	if nodedist.HostArch() != "x64" {
		return
	}
	d, err := nodedist.Ensure(ctx, 22, "x86_64", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	startFromZip(t, rep, d.Node)
}

func startFromZip(t *testing.T, rep *Report, node string) {
	t.Helper()
	task := t.TempDir()
	unzipTo(t, rep.Zip, task)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(node, rep.Entry)
	cmd.Dir = task
	cmd.Env = append(os.Environ(), "PORT="+fmt.Sprint(port), "CLUSTER_ENABLED=false", "NODE_OPTIONS=--no-node-snapshot")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, manifest.DefaultHealthPath))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the packaged app did not become healthy in 20 s; output:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// isolated-vm really loads from the package (the app requires it lazily or not at all).
	probe := exec.Command(node, "--no-node-snapshot", "-e", `const ivm=require("isolated-vm");const c=new ivm.Isolate({memoryLimit:16}).createContextSync();process.stdout.write(String(c.evalSync("6*7")))`)
	probe.Dir = task
	if b, err := probe.CombinedOutput(); err != nil || string(b) != "42" {
		t.Fatalf("isolated-vm from the zip: %v %s", err, b)
	}
}

// TestIntegrationExampleTransformer packages examples/transformer as it stands (its own
// node_modules if installed, else a cached npm ci with Node 22) twice: same bytes. The
// adapter is built from ./lambda/bootstrap. Then the unpacked zip is started with Node 22.
func TestIntegrationExampleTransformer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: builds the adapter, may run npm; skipped with -short")
	}
	src := exampleTransformer(t)
	if os.Getenv("RUDDERCTL_CACHE") == "" {
		t.Setenv("RUDDERCTL_CACHE", filepath.Join(os.TempDir(), "rudderctl-test-cache"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var reps []*Report
	for i := 0; i < 2; i++ {
		var progress bytes.Buffer
		rep, err := Build(ctx, Options{Src: src, Out: filepath.Join(t.TempDir(), "transformer.zip"), Runtime: "nodejs22.x", Arch: "x86_64", Progress: &progress})
		if err != nil {
			t.Fatalf("build %d: %v\n%s", i+1, err, progress.String())
		}
		reps = append(reps, rep)
	}
	a, _ := os.ReadFile(reps[0].Zip)
	b, _ := os.ReadFile(reps[1].Zip)
	if !bytes.Equal(a, b) || reps[0].CodeSha256 != reps[1].CodeSha256 {
		t.Fatalf("two packages of examples/transformer differ: %s vs %s", reps[0].SHA256, reps[1].SHA256)
	}
	rep := reps[0]
	t.Logf("examples/transformer: %d files, %d B zipped, %d B unzipped, CodeSha256 %s, pruned %d files", rep.Files, rep.ZippedBytes, rep.UnzippedBytes, rep.CodeSha256, rep.Pruned.Files)
	files := zipNames(t, rep.Zip)
	var nodes []string
	for n := range files {
		if strings.HasSuffix(n, ".node") {
			nodes = append(nodes, n)
		}
	}
	if len(nodes) == 0 || len(rep.NativeModules) != len(nodes) {
		t.Fatalf("native modules in the zip %v, report %+v", nodes, rep.NativeModules)
	}
	for _, n := range rep.NativeModules {
		if n.Kind != "node-abi-127" && n.Kind != "n-api" || n.Machine != "x86_64" {
			t.Errorf("native module %+v does not fit nodejs22.x/x86_64", n)
		}
	}
	if rep.S3Upload || rep.UnzippedBytes > MaxUnzippedBytes {
		t.Errorf("unexpected sizes %+v", rep)
	}
	startOnNode22(ctx, t, rep)
}

// TestIntegrationInstallsDependencies packages a copy of examples/transformer without
// node_modules: production dependencies are installed with Node 22 (npm ci, cached) and
// native modules built or picked for ABI 127; the result runs under Node 22.
func TestIntegrationInstallsDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs npm ci against the registry; skipped with -short")
	}
	testenv.LookPath(t, "npm", "installs the example's dependencies")
	example := exampleTransformer(t)
	src := t.TempDir()
	for _, n := range []string{"package.json", "package-lock.json"} {
		if b, err := os.ReadFile(filepath.Join(example, n)); err == nil {
			os.WriteFile(filepath.Join(src, n), b, 0o644)
		}
	}
	if err := exec.Command("cp", "-a", filepath.Join(example, "src"), filepath.Join(src, "src")).Run(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RUDDERCTL_CACHE", t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	fx := fixtures(t)
	var progress bytes.Buffer
	o := Options{Src: src, Out: filepath.Join(t.TempDir(), "t.zip"), Runtime: "nodejs22.x", Bootstrap: filepath.Join(fx, "bootstrap"), Progress: &progress}
	rep, err := Build(ctx, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if !strings.Contains(progress.String(), "npm ci") {
		t.Errorf("no npm ci in the progress:\n%s", progress.String())
	}
	if _, err := os.Stat(filepath.Join(src, "node_modules")); err == nil {
		t.Error("the install wrote node_modules into the app directory")
	}
	// The second build reuses the cached install and gives the same bytes.
	progress.Reset()
	o.Out = filepath.Join(t.TempDir(), "t.zip")
	rep2, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.SHA256 != rep.SHA256 || !strings.Contains(progress.String(), "from the cache") {
		t.Fatalf("second build: %s vs %s\n%s", rep2.SHA256, rep.SHA256, progress.String())
	}
	startOnNode22(ctx, t, rep)
}

// TestRebuildNative compiles a real node-gyp addon: a copy built for the wrong ABI fails
// the check (naming the file); --rebuild-native rebuilds it with Node 22's headers in a
// staging copy (the app's own node_modules stays as it was). The addon waits on a
// std::condition_variable, which GCC 12 binds to GLIBCXX_3.4.30: the rebuild pins it to
// GLIBCXX_3.4.11, the unpacked zip runs it with Node 22, and a second run gives the same
// bytes (the addon is built with -g, so build paths would otherwise change its build id).
func TestRebuildNative(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles an addon with node-gyp; skipped with -short")
	}
	fx := needNativeFixtures(t)
	needTools(t, "npm", "make", "g++", "python3", "objdump")
	plainCondvarModule(t) // the premise: this g++ binds the wait to GLIBCXX_3.4.30
	emptyNativeCache(t)
	src := t.TempDir()
	writeFile(t, src, "package.json", `{"name":"rb","main":"index.js","dependencies":{"tiny":"1.0.0"}}`, 0o644)
	writeFile(t, src, "index.js", `process.stdout.write(require("tiny").hello())`, 0o644)
	writeFile(t, src, "node_modules/tiny/package.json", `{"name":"tiny","version":"1.0.0","main":"index.js","gypfile":true}`, 0o644)
	writeFile(t, src, "node_modules/tiny/index.js", `module.exports = require("./build/Release/tiny.node");`, 0o644)
	writeFile(t, src, "node_modules/tiny/binding.gyp", `{"targets":[{"target_name":"tiny","sources":["tiny.cc"],"cflags":["-g"]}]}`, 0o644)
	writeFile(t, src, "node_modules/tiny/tiny.cc", `#include <node.h>
#include <condition_variable>
#include <mutex>
#include <thread>
namespace tiny {
// Hello really waits on a condition variable another thread signals, then says hi.
void Hello(const v8::FunctionCallbackInfo<v8::Value>& args) {
  std::mutex m;
  std::condition_variable cv;
  bool ready = false;
  std::thread t([&] { std::lock_guard<std::mutex> g(m); ready = true; cv.notify_one(); });
  { std::unique_lock<std::mutex> l(m); cv.wait(l, [&] { return ready; }); }
  t.join();
  args.GetReturnValue().Set(v8::String::NewFromUtf8(args.GetIsolate(), ready ? "hi" : "no").ToLocalChecked());
}
void Init(v8::Local<v8::Object> exports) { NODE_SET_METHOD(exports, "hello", Hello); }
NODE_MODULE(NODE_GYP_MODULE_NAME, Init)
}
`, 0o644)
	stale := filepath.Join(src, "node_modules/tiny/build/Release/tiny.node")
	copyFile(t, filepath.Join(fx, "v115.node"), stale)
	before, _ := os.ReadFile(stale)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	o := Options{Src: src, Out: filepath.Join(t.TempDir(), "rb.zip"), Bootstrap: filepath.Join(fx, "bootstrap")}
	_, err := Build(ctx, o)
	if err == nil || !strings.Contains(err.Error(), "node_modules/tiny/build/Release/tiny.node") || !strings.Contains(err.Error(), "--rebuild-native") {
		t.Fatalf("want the ABI error naming tiny.node, got %v", err)
	}
	var progress bytes.Buffer
	o.RebuildNative, o.Progress = true, &progress
	rep, err := Build(ctx, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if len(rep.NativeModules) != 1 || rep.NativeModules[0].Kind != "node-abi-127" {
		t.Fatalf("native modules %+v", rep.NativeModules)
	}
	if after, _ := os.ReadFile(stale); !bytes.Equal(before, after) {
		t.Error("--rebuild-native modified the app's own node_modules")
	}
	d, err := nodedist.Ensure(ctx, 22, "x86_64", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	task := t.TempDir()
	unzipTo(t, rep.Zip, task)
	cmd := exec.Command(d.Node, rep.Entry)
	cmd.Dir = task
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "hi" {
		t.Fatalf("rebuilt addon from the zip: %v %q", err, out)
	}
	// The first build bound the wait to GLIBCXX_3.4.30; the packaged one binds 3.4.11.
	if !strings.Contains(progress.String(), condvarWait+"] GLIBCXX_3.4.30 -> GLIBCXX_3.4.11") {
		t.Errorf("no pin of the condition_variable wait in the progress:\n%s", progress.String())
	}
	packaged := filepath.Join(task, "node_modules/tiny/build/Release/tiny.node")
	if v := objdumpVersion(t, packaged, condvarWait); v != "GLIBCXX_3.4.11" {
		t.Errorf("objdump: the packaged tiny.node binds the wait to %q", v)
	}
	if _, probs, _, err := CheckNative(packaged, "tiny.node", "x86_64", 127); err != nil || len(probs) > 0 {
		t.Errorf("the packaged tiny.node fails the Amazon Linux 2023 check: %v %v", probs, err)
	}
	if !strings.Contains(progress.String(), "tiny: build stored in the cache") {
		t.Errorf("the cold build stored nothing in the native cache:\n%s", progress.String())
	}

	// A second rebuild (another staging directory) takes tiny from the cache: no compiler
	// or make runs (shims that fail and log come first on PATH), and the zip has the
	// same bytes.
	compiles := compilerShims(t)
	progress.Reset()
	o.Out = filepath.Join(t.TempDir(), "rb2.zip")
	rep2, err := Build(ctx, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if !strings.Contains(progress.String(), "tiny: rebuilt build reused from the cache (key ") {
		t.Errorf("the second rebuild did not reuse the cached build:\n%s", progress.String())
	}
	if b, _ := os.ReadFile(compiles); len(b) > 0 {
		t.Errorf("a compiler ran on a cache hit:\n%s", b)
	}
	sameZip(t, rep, rep2, "a cold build and a cache hit")

	// RUDDERCTL_NATIVE_CACHE=off compiles again (the shims are off PATH) and gives the same bytes.
	t.Setenv("PATH", strings.TrimPrefix(os.Getenv("PATH"), filepath.Dir(compiles)+string(os.PathListSeparator)))
	t.Setenv(NativeCacheEnv, "off")
	progress.Reset()
	o.Out = filepath.Join(t.TempDir(), "rb3.zip")
	rep3, err := Build(ctx, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if strings.Contains(progress.String(), "from the cache (key") || !strings.Contains(progress.String(), "GLIBCXX_3.4.30 -> GLIBCXX_3.4.11") {
		t.Errorf("%s=off did not compile:\n%s", NativeCacheEnv, progress.String())
	}
	sameZip(t, rep, rep3, "a cache hit and a build without the cache")

	// A change in tiny's source misses the cache and is compiled.
	t.Setenv(NativeCacheEnv, "")
	f, err := os.OpenFile(filepath.Join(src, "node_modules/tiny/tiny.cc"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "// changed")
	f.Close()
	progress.Reset()
	o.Out = filepath.Join(t.TempDir(), "rb4.zip")
	if _, err := Build(ctx, o); err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if strings.Contains(progress.String(), "from the cache (key") || !strings.Contains(progress.String(), "tiny: build stored in the cache") {
		t.Errorf("a changed source did not miss the cache:\n%s", progress.String())
	}
}

// emptyNativeCache points RUDDERCTL_CACHE at an empty directory for the test, sharing
// only the downloaded Node (its own lock-protected directory) with the usual cache.
func emptyNativeCache(t *testing.T) {
	t.Helper()
	shared, err := nodedist.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	fresh := t.TempDir()
	if err := os.MkdirAll(filepath.Join(shared, "node"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(shared, "node"), filepath.Join(fresh, "node")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RUDDERCTL_CACHE", fresh)
	t.Setenv(NativeCacheEnv, "")
}

// compilerShims puts cc, c++, gcc, g++ and make first on PATH: asked for --version (part
// of the cache key) or -print-file-name (where the pins are read from) they answer as
// the real tool, otherwise they log the call and fail.
// It returns the log.
func compilerShims(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "calls.log")
	for _, tool := range []string{"cc", "c++", "gcc", "g++", "make"} {
		real, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		script := fmt.Sprintf("#!/bin/sh\ncase \"$1\" in --version|-print-file-name=*) exec %s \"$@\";; esac\necho \"%s $*\" >> %s\nexit 1\n", real, tool, log)
		writeFile(t, dir, tool, script, 0o755)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}

func sameZip(t *testing.T, a, b *Report, what string) {
	t.Helper()
	x, _ := os.ReadFile(a.Zip)
	y, _ := os.ReadFile(b.Zip)
	if a.SHA256 != b.SHA256 || !bytes.Equal(x, y) {
		t.Fatalf("%s gave different zips: %s vs %s", what, a.SHA256, b.SHA256)
	}
}
