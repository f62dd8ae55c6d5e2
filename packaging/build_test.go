package packaging

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/srcroot"
	"github.com/rudderctl/rudderctl/internal/testenv"
	"github.com/rudderctl/rudderctl/lambda/manifest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixtureApp writes a small app with a node_modules tree exercising the prune rules.
func fixtureApp(t *testing.T, dir string) {
	t.Helper()
	writeFile(t, dir, "package.json", `{"name":"fx","version":"1.0.0","scripts":{"start":"node dist/index.js"},"dependencies":{"koa":"*"}}`, 0o644)
	writeFile(t, dir, "dist/index.js", "require('koa');\n", 0o644)
	writeFile(t, dir, "dist/index.js.map", "{}", 0o644)
	writeFile(t, dir, "src/index.ts", "export {}\n", 0o644)
	writeFile(t, dir, "README.md", "# fx\n", 0o644)
	writeFile(t, dir, "bin/run", "#!/bin/sh\n", 0o755)
	writeFile(t, dir, ".git/config", "[core]\n", 0o644)
	writeFile(t, dir, ".env", "SECRET=1\n", 0o600)
	writeFile(t, dir, "old.zip", "PK not really", 0o644)
	writeFile(t, dir, "node_modules/koa/package.json", `{"name":"koa","main":"lib/application.js"}`, 0o644)
	writeFile(t, dir, "node_modules/koa/lib/application.js", strings.Repeat("module.exports = {};\n", 200), 0o644)
	writeFile(t, dir, "node_modules/koa/Readme.md", "docs", 0o644)
	writeFile(t, dir, "node_modules/koa/test/app.js", "test", 0o644)
	writeFile(t, dir, "node_modules/typescript/package.json", `{"name":"typescript"}`, 0o644)
	writeFile(t, dir, "node_modules/typescript/lib/tsc.js", strings.Repeat("x", 5000), 0o644)
	if err := os.MkdirAll(filepath.Join(dir, "node_modules/.bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../koa/lib/application.js", filepath.Join(dir, "node_modules/.bin/koa")); err != nil {
		t.Fatal(err)
	}
}

func zipNames(t *testing.T, p string) map[string]*zip.File {
	t.Helper()
	r, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	m := map[string]*zip.File{}
	var names []string
	for _, f := range r.File {
		m[f.Name] = f
		names = append(names, f.Name)
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("zip entries are not sorted: %v", names)
	}
	return m
}

func TestBuildDeterministic(t *testing.T) {
	fx := fixtures(t)
	src := t.TempDir()
	fixtureApp(t, src)
	outDir := t.TempDir()
	ctx := context.Background()
	o := Options{Src: src, Out: filepath.Join(outDir, "a.zip"), Bootstrap: filepath.Join(fx, "bootstrap"), Prune: []string{"bin"}}
	var progress bytes.Buffer
	o.Progress = &progress
	r1, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	// Same content, different timestamps and permissions, built elsewhere later.
	later := time.Now().Add(48 * time.Hour)
	filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			os.Chtimes(p, later, later)
			if info.Mode().Perm() == 0o644 {
				os.Chmod(p, 0o600)
			}
		}
		return nil
	})
	o.Out = filepath.Join(t.TempDir(), "b.zip")
	r2, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(r1.Zip)
	b2, _ := os.ReadFile(r2.Zip)
	if !bytes.Equal(b1, b2) {
		t.Fatalf("two builds of the same input differ: %s vs %s", r1.SHA256, r2.SHA256)
	}
	sum := sha256.Sum256(b1)
	if r1.SHA256 != hex.EncodeToString(sum[:]) || r1.CodeSha256 != base64.StdEncoding.EncodeToString(sum[:]) || r1.ZippedBytes != int64(len(b1)) {
		t.Fatalf("report hashes/sizes do not match the file: %+v", r1)
	}
	if !strings.Contains(progress.String(), "package: writing") {
		t.Errorf("no progress lines: %q", progress.String())
	}

	files := zipNames(t, r1.Zip)
	// The app's own README.md stays: name rules (docs, tests, examples) only look inside packages.
	for _, want := range []string{manifest.BootstrapName, manifest.WrapperName, manifest.FileName, "package.json", "dist/index.js", "README.md", "node_modules/koa/lib/application.js", "node_modules/koa/package.json"} {
		if files[want] == nil {
			t.Errorf("zip lacks %s", want)
		}
	}
	for _, not := range []string{".git/config", ".env", "old.zip", "a.zip", "dist/index.js.map", "src/index.ts", "node_modules/.bin/koa", "node_modules/koa/Readme.md", "node_modules/koa/test/app.js", "node_modules/typescript/lib/tsc.js", "bin/run", "template.yaml", "a.template.yaml"} {
		if files[not] != nil {
			t.Errorf("zip has %s, which should be left out", not)
		}
	}
	if len(files) != r1.Files {
		t.Errorf("report says %d files, zip has %d", r1.Files, len(files))
	}
	var unzipped int64
	for name, f := range files {
		unzipped += int64(f.UncompressedSize64)
		if len(f.Extra) != 0 {
			t.Errorf("%s has extra fields", name)
		}
		if f.ModifiedDate != dosDate || f.ModifiedTime != dosTime {
			t.Errorf("%s timestamp %v", name, f.Modified)
		}
		want := os.FileMode(0o644)
		if name == manifest.BootstrapName || name == manifest.WrapperName {
			want = 0o755
		}
		if f.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", name, f.Mode().Perm(), want)
		}
	}
	if unzipped != r1.UnzippedBytes {
		t.Errorf("unzipped %d, report %d", unzipped, r1.UnzippedBytes)
	}
	rc, _ := files[manifest.FileName].Open()
	var mb bytes.Buffer
	mb.ReadFrom(rc)
	rc.Close()
	if !strings.Contains(mb.String(), `"entry": "dist/index.js"`) || !strings.Contains(mb.String(), `"runtime": "nodejs22.x"`) {
		t.Errorf("manifest %s", mb.String())
	}
	rc, _ = files[manifest.WrapperName].Open()
	var wb bytes.Buffer
	wb.ReadFrom(rc)
	rc.Close()
	if wb.String() != manifest.WrapperScript || !strings.HasPrefix(manifest.WrapperScript, "#!/bin/sh\n") {
		t.Errorf("wrapper %q", wb.String())
	}
	// The zip passes unzip's own check when unzip is available.
	if _, err := exec.LookPath("unzip"); err == nil {
		if out, err := exec.Command("unzip", "-tq", r1.Zip).CombinedOutput(); err != nil {
			t.Errorf("unzip -t: %v %s", err, out)
		}
	}
	// Pruning is reported by rule.
	rules := map[string]int{}
	for _, rc := range r1.Pruned.ByRule {
		rules[rc.Rule] = rc.Files
	}
	for _, r := range []string{"source maps", "typescript sources", "docs", "tests", "dev-tool packages", "node_modules/.bin", "--prune"} {
		if rules[r] == 0 {
			t.Errorf("prune report lacks rule %q: %+v", r, r1.Pruned)
		}
	}
	if len(r1.LargestPackages) == 0 || r1.Template != filepath.Join(outDir, "a.template.yaml") {
		t.Errorf("report %+v", r1)
	}
	// No temp files left beside the zip.
	ents, _ := os.ReadDir(outDir)
	if len(ents) != 2 {
		var n []string
		for _, e := range ents {
			n = append(n, e.Name())
		}
		t.Errorf("output dir holds %v, want the zip and a.template.yaml", n)
	}

	// An output inside the app directory is never packaged into itself.
	o.Out = filepath.Join(src, "self.zip")
	if _, err := Build(ctx, o); err != nil {
		t.Fatal(err)
	}
	r3, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if f := zipNames(t, r3.Zip); f["self.zip"] != nil || f["self.template.yaml"] != nil {
		t.Error("the output zip or its template was packaged into itself")
	}
}

func TestBuildBadInput(t *testing.T) {
	fx := fixtures(t)
	good := t.TempDir()
	fixtureApp(t, good)
	noPkg := t.TempDir()
	writeFile(t, noPkg, "index.js", "", 0o644)
	noEntry := t.TempDir()
	writeFile(t, noEntry, "package.json", `{"main":"dist/src/index.js"}`, 0o644)
	cases := []struct {
		name string
		o    Options
		want []string
	}{
		{"runtime", Options{Src: good, Runtime: "nodejs18.x"}, []string{`runtime "nodejs18.x" is not supported`, "nodejs22.x"}},
		{"arch", Options{Src: good, Arch: "s390x"}, []string{`architecture "s390x" is not supported`, "--arch"}},
		{"missing src", Options{Src: filepath.Join(good, "nope")}, []string{"does not exist", "--src"}},
		{"no package.json", Options{Src: noPkg}, []string{"no package.json", "--src"}},
		{"entry missing", Options{Src: noEntry}, []string{"dist/src/index.js", "does not exist", "--entry"}},
		{"explicit entry missing", Options{Src: good, Entry: "nope.js"}, []string{"nope.js", "does not exist"}},
		{"not a zip", Options{Src: good, Out: "x.tar"}, []string{".zip"}},
		{"bad bootstrap", Options{Src: good, Bootstrap: filepath.Join(good, "package.json")}, []string{"not a Linux executable"}},
		{"bad glob", Options{Src: good, Keep: []string{"a/[b"}}, []string{"malformed"}},
		{"entry pruned", Options{Src: good, Prune: []string{"dist"}}, []string{"dist/index.js", `--prune "dist"`, "it is the entry", "--keep dist/index.js", "nothing was written"}},
		{"template not yaml", Options{Src: good, Template: "t.json"}, []string{"t.json", ".yaml"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			outDir := t.TempDir()
			if c.o.Out == "" {
				c.o.Out = filepath.Join(outDir, "x.zip")
			} else {
				c.o.Out = filepath.Join(outDir, c.o.Out)
			}
			if c.o.Bootstrap == "" {
				c.o.Bootstrap = filepath.Join(fx, "bootstrap")
			}
			_, err := Build(context.Background(), c.o)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
				t.Errorf("something was written: %v", ents)
			}
		})
	}
}

func TestNativeChecks(t *testing.T) {
	fx := needNativeFixtures(t)
	cases := []struct {
		fixture string
		arch    string
		want    []string // "" = passes
	}{
		{"v127.node", "x86_64", nil},
		{"napi.node", "x86_64", nil},
		{"v115.node", "x86_64", []string{"node_modules/nat/build/Release/nat.node", "Node ABI 115 (Node 20)", "ABI 127 (Node 22)", "--rebuild-native"}},
		{"arm64-v127.node", "x86_64", []string{"node_modules/nat/build/Release/nat.node", "built for arm64", "runs on x86_64"}},
		{"v127.node", "arm64", []string{"node_modules/nat/build/Release/nat.node", "built for x86_64", "runs on arm64", "arm64 machine"}},
	}
	for _, c := range cases {
		t.Run(c.fixture+"-"+c.arch, func(t *testing.T) {
			src := t.TempDir()
			writeFile(t, src, "package.json", `{"main":"index.js"}`, 0o644)
			writeFile(t, src, "index.js", "", 0o644)
			writeFile(t, src, "node_modules/nat/package.json", `{"name":"nat"}`, 0o644)
			copyFile(t, filepath.Join(fx, c.fixture), filepath.Join(src, "node_modules/nat/build/Release/nat.node"))
			writeFile(t, src, "node_modules/nat/build/Release/obj.target/nat/addon.o", "obj", 0o644)
			outDir := t.TempDir()
			boot := filepath.Join(fx, "bootstrap")
			if c.arch == "arm64" {
				boot = filepath.Join(fx, "arm64-bootstrap")
				b, _ := os.ReadFile(filepath.Join(fx, "bootstrap"))
				b[18], b[19] = 183, 0
				os.WriteFile(boot, b, 0o755)
			}
			rep, err := Build(context.Background(), Options{Src: src, Out: filepath.Join(outDir, "n.zip"), Arch: c.arch, Bootstrap: boot})
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.NativeModules) != 1 || !rep.NativeModules[0].Stripped {
					t.Fatalf("native modules %+v", rep.NativeModules)
				}
				files := zipNames(t, rep.Zip)
				f := files["node_modules/nat/build/Release/nat.node"]
				if f == nil || f.Mode().Perm() != 0o755 {
					t.Fatalf("nat.node missing or not 0755: %v", f)
				}
				if files["node_modules/nat/build/Release/obj.target/nat/addon.o"] != nil {
					t.Error("build leftovers packaged")
				}
				if st, _ := os.Stat(filepath.Join(fx, c.fixture)); int64(f.UncompressedSize64) >= st.Size() {
					t.Errorf("nat.node not stripped: %d >= %d", f.UncompressedSize64, st.Size())
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
				t.Errorf("something was written: %v", ents)
			}
		})
	}
}

func TestPrebuildsForOtherPlatformsArePruned(t *testing.T) {
	fx := needNativeFixtures(t)
	src := t.TempDir()
	writeFile(t, src, "package.json", `{"main":"index.js"}`, 0o644)
	writeFile(t, src, "index.js", "", 0o644)
	writeFile(t, src, "node_modules/pb/package.json", `{"name":"pb"}`, 0o644)
	copyFile(t, filepath.Join(fx, "v127.node"), filepath.Join(src, "node_modules/pb/prebuilds/linux-x64/pb.abi127.glibc.node"))
	copyFile(t, filepath.Join(fx, "v115.node"), filepath.Join(src, "node_modules/pb/prebuilds/linux-x64/pb.abi115.glibc.node"))
	copyFile(t, filepath.Join(fx, "arm64-v127.node"), filepath.Join(src, "node_modules/pb/prebuilds/linux-arm64/pb.abi127.glibc.node"))
	writeFile(t, src, "node_modules/pb/prebuilds/darwin-x64/pb.abi127.node", "\xcf\xfa\xed\xfe not elf", 0o644)
	rep, err := Build(context.Background(), Options{Src: src, Out: filepath.Join(t.TempDir(), "p.zip"), Bootstrap: filepath.Join(fixtures(t), "bootstrap")})
	if err != nil {
		t.Fatal(err)
	}
	files := zipNames(t, rep.Zip)
	if files["node_modules/pb/prebuilds/linux-x64/pb.abi127.glibc.node"] == nil {
		t.Error("the matching prebuild was dropped")
	}
	for _, n := range []string{"linux-x64/pb.abi115.glibc.node", "linux-arm64/pb.abi127.glibc.node", "darwin-x64/pb.abi127.node"} {
		if files["node_modules/pb/prebuilds/"+n] != nil {
			t.Errorf("%s packaged", n)
		}
	}

	// --keep on the whole package ships the foreign candidates too, without an error.
	rep, err = Build(context.Background(), Options{Src: src, Out: filepath.Join(t.TempDir(), "p.zip"), Keep: []string{"node_modules/pb"}, Bootstrap: filepath.Join(fixtures(t), "bootstrap")})
	if err != nil {
		t.Fatal(err)
	}
	if files := zipNames(t, rep.Zip); files["node_modules/pb/prebuilds/darwin-x64/pb.abi127.node"] == nil {
		t.Error("--keep did not keep the foreign prebuild")
	}

	// If no candidate fits, that is an error naming the package.
	os.Remove(filepath.Join(src, "node_modules/pb/prebuilds/linux-x64/pb.abi127.glibc.node"))
	_, err = Build(context.Background(), Options{Src: src, Out: filepath.Join(t.TempDir(), "p.zip"), Bootstrap: filepath.Join(fixtures(t), "bootstrap")})
	if err == nil || !strings.Contains(err.Error(), "node_modules/pb") || !strings.Contains(err.Error(), "prebuilt") {
		t.Fatalf("want an error about node_modules/pb: %v", err)
	}
}

func TestInspectELFGlibc(t *testing.T) {
	fx := needNativeFixtures(t)
	in, err := InspectELF(filepath.Join(fx, "v127.node"))
	if err != nil {
		t.Fatal(err)
	}
	if in.ABI != 127 || in.NAPI || in.GLIBC == "" {
		t.Fatalf("%+v", in)
	}
	if !versionLess("2.34", "2.35") || versionLess("2.34", "2.34") || !versionLess("", "2.2.5") || !versionLess("3.4.29", "3.4.30") {
		t.Fatal("versionLess")
	}
}

func TestSizeLimits(t *testing.T) {
	fx := fixtures(t)
	src := t.TempDir()
	writeFile(t, src, "package.json", `{"main":"index.js"}`, 0o644)
	writeFile(t, src, "index.js", "", 0o644)
	// A sparse file just over the unzipped limit: no disk used, the size check refuses it.
	f, err := os.Create(filepath.Join(src, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(MaxUnzippedBytes + 1)
	f.Close()
	outDir := t.TempDir()
	_, err = Build(context.Background(), Options{Src: src, Out: filepath.Join(outDir, "big.zip"), Bootstrap: filepath.Join(fx, "bootstrap")})
	if err == nil || !strings.Contains(err.Error(), "above Lambda's limit of 250 MB") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("want the unzipped-limit error, got %v", err)
	}
	if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
		t.Errorf("something was written: %v", ents)
	}
	if testing.Short() {
		t.Skip("the S3 case compresses 51 MB; skipped with -short")
	}
	// Incompressible content above 50 MB zipped: S3 upload.
	os.Remove(filepath.Join(src, "big.bin"))
	rnd := make([]byte, MaxDirectUpload+1)
	rand.Read(rnd)
	os.WriteFile(filepath.Join(src, "random.bin"), rnd, 0o644)
	rep, err := Build(context.Background(), Options{Src: src, Out: filepath.Join(outDir, "big.zip"), Bootstrap: filepath.Join(fx, "bootstrap")})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.S3Upload || rep.ZippedBytes <= MaxDirectUpload {
		t.Fatalf("S3Upload=%v zipped=%d", rep.S3Upload, rep.ZippedBytes)
	}
}

func TestTemplateGolden(t *testing.T) {
	got, err := RenderTemplate(TemplateData{CodeUri: "transformer.zip", Runtime: "nodejs22.x", Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "template.golden.yaml")
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./packaging -run TestTemplateGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("template differs from %s:\n%s", golden, got)
	}
	// One template per zip (issue #12): named after it, beside it.
	for zip, want := range map[string]string{
		"build/transformer.zip": "build/transformer.template.yaml",
		"a.ZIP":                 "a.template.yaml",
		"/out/t.v2.zip":         "/out/t.v2.template.yaml",
	} {
		if got := TemplatePathFor(zip); got != filepath.FromSlash(want) {
			t.Errorf("TemplatePathFor(%q) = %q, want %q", zip, got, want)
		}
	}
	for _, s := range []string{"AWS::Serverless::Function", "Handler: rudderctl.handler", "AWS_LAMBDA_EXEC_WRAPPER: /var/task/rudderctl-wrapper", "Path: /{proxy+}", "Method: ANY", "MemorySize: 1024", "Timeout: 30", "Type: HttpApi"} {
		if !bytes.Contains(got, []byte(s)) {
			t.Errorf("template lacks %q", s)
		}
	}
}

// TestBuildBootstrapReproducible builds an adapter from a stand-in module carrying our
// module path: two builds give the same bytes, and the ELF matches the target.
func TestBuildBootstrapReproducible(t *testing.T) {
	testenv.LookPath(t, "go", "builds the adapter")
	root := t.TempDir()
	writeFile(t, root, "go.mod", "module "+ModulePath+"\n\ngo 1.26\n", 0o644)
	writeFile(t, root, "lambda/bootstrap/main.go", "package main\n\nfunc main() { println(\"adapter\") }\n", 0o644)
	ctx := context.Background()
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, out := range []string{a, b} {
		if err := BuildBootstrap(ctx, root, "arm64", out); err != nil {
			t.Fatal(err)
		}
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ba, bb) {
		t.Fatal("two adapter builds differ")
	}
	if err := checkBootstrap(a, "arm64"); err != nil {
		t.Fatal(err)
	}
	if err := checkBootstrap(a, "x86_64"); err == nil || !strings.Contains(err.Error(), "built for arm64") {
		t.Fatalf("arch mismatch not caught: %v", err)
	}
	os.Remove(filepath.Join(root, "lambda/bootstrap/main.go"))
	os.Remove(filepath.Join(root, "lambda/bootstrap"))
	if err := BuildBootstrap(ctx, root, "x86_64", a); err == nil || !strings.Contains(err.Error(), "--bootstrap") {
		t.Fatalf("missing package: %v", err)
	}
	if !srcroot.IsRoot(root) {
		t.Fatal("srcroot.IsRoot")
	}
}

// TestConcurrentBuilds runs packagers at once into the same output: each renames a complete
// zip into place, so the survivor is whole and identical to a lone build.
func TestConcurrentBuilds(t *testing.T) {
	fx := fixtures(t)
	src := t.TempDir()
	fixtureApp(t, src)
	out := filepath.Join(t.TempDir(), "c.zip")
	o := Options{Src: src, Out: out, Bootstrap: filepath.Join(fx, "bootstrap")}
	errs := make(chan error, 4)
	sums := make(chan string, 4)
	for i := 0; i < 4; i++ {
		go func() {
			r, err := Build(context.Background(), o)
			if err == nil {
				sums <- r.SHA256
			}
			errs <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(sums)
	first := ""
	for s := range sums {
		if first == "" {
			first = s
		} else if s != first {
			t.Fatalf("concurrent builds differ: %s %s", first, s)
		}
	}
	b, _ := os.ReadFile(out)
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != first {
		t.Fatal("the zip on disk is not what the builds reported")
	}
	ents, _ := os.ReadDir(filepath.Dir(out))
	if len(ents) != 2 {
		t.Fatalf("leftovers beside the zip: %d entries", len(ents))
	}
}

// TestTemplatePerZip: two zips packaged into one directory keep a template each (issue #12);
// --template writes it elsewhere with CodeUri relative to it.
func TestTemplatePerZip(t *testing.T) {
	fx := fixtures(t)
	src := t.TempDir()
	fixtureApp(t, src)
	out := t.TempDir()
	for _, name := range []string{"a", "b"} {
		if _, err := Build(context.Background(), Options{Src: src, Out: filepath.Join(out, name+".zip"), Bootstrap: filepath.Join(fx, "bootstrap")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"a", "b"} {
		b, err := os.ReadFile(filepath.Join(out, name+".template.yaml"))
		if err != nil || !bytes.Contains(b, []byte(`CodeUri: "`+name+`.zip"`)) {
			t.Errorf("%s.template.yaml: %v\n%s", name, err, b)
		}
	}
	custom := filepath.Join(out, "sam", "stack.yaml")
	rep, err := Build(context.Background(), Options{Src: src, Out: filepath.Join(out, "c.zip"), Template: custom, Bootstrap: filepath.Join(fx, "bootstrap")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(custom)
	if err != nil || rep.Template != custom || !bytes.Contains(b, []byte(`CodeUri: "../c.zip"`)) {
		t.Errorf("--template: %v %s\n%s", err, rep.Template, b)
	}
	if _, err := os.Stat(filepath.Join(out, "c.template.yaml")); err == nil {
		t.Error("--template also wrote the default template")
	}
}
