package packaging

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		glob, rel string
		want      bool
	}{
		{"*.md", "node_modules/a/README.md", true},
		{"*.md", "node_modules/a/index.js", false},
		{"fixtures", "node_modules/a/fixtures/x.json", true},
		{"node_modules/typescript", "node_modules/typescript/lib/tsc.js", true},
		{"node_modules/typescript/**", "node_modules/typescript/lib/tsc.js", true},
		{"node_modules/typescript", "node_modules/a/node_modules/typescript/lib/tsc.js", false},
		{"**/typescript", "node_modules/a/node_modules/typescript/lib/tsc.js", true},
		{"node_modules/*/docs/**", "node_modules/a/docs/x.html", true},
		{"node_modules/@types/*", "node_modules/@types/node/index.d.ts", true},
		{"dist/**/*.js", "dist/src/v0/a.js", true},
		{"dist/**/*.js", "dist/a.js", true},
		{"dist/**/*.js", "dist/a.json", false},
		{"/dist/", "dist/a.json", true},
	}
	for _, c := range cases {
		if got := globMatch(c.glob, c.rel); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.glob, c.rel, got, c.want)
		}
	}
	if err := checkGlob("node_modules/[a"); err == nil {
		t.Error("malformed glob accepted")
	}
}

func TestPkgOf(t *testing.T) {
	cases := []struct{ rel, dir, name, inner string }{
		{"node_modules/a/index.js", "node_modules/a", "a", "index.js"},
		{"node_modules/@s/a/lib/x.js", "node_modules/@s/a", "@s/a", "lib/x.js"},
		{"node_modules/a/node_modules/b/test/t.js", "node_modules/a/node_modules/b", "b", "test/t.js"},
		{"node_modules/.package-lock.json", "", "", "node_modules/.package-lock.json"},
		{"dist/index.js", "", "", "dist/index.js"},
	}
	for _, c := range cases {
		d, n, i := pkgOf(c.rel)
		if d != c.dir || n != c.name || i != c.inner {
			t.Errorf("pkgOf(%q) = %q %q %q; want %q %q %q", c.rel, d, n, i, c.dir, c.name, c.inner)
		}
	}
}

func TestPruneRules(t *testing.T) {
	rels := map[string]string{ // path -> expected rule ("" = kept)
		"package.json":                                            "",
		"dist/index.js":                                           "",
		"dist/index.js.map":                                       "source maps",
		"src/index.ts":                                            "typescript sources",
		"README.md":                                               "", // name rules never touch the app's own tree
		"test/app.test.js":                                        "",
		"dist/test/testHelper.js":                                 "",
		"docs/api.html":                                           "",
		"examples/x.js":                                           "",
		"node_modules/.bin/koa":                                   "node_modules/.bin",
		"node_modules/.package-lock.json":                         "package dotfiles",
		"node_modules/koa/package.json":                           "",
		"node_modules/koa/lib/application.js":                     "",
		"node_modules/koa/History.md":                             "docs",
		"node_modules/koa/docs/api/index.html":                    "docs",
		"node_modules/koa/index.d.ts":                             "typescript sources",
		"node_modules/koa/tsconfig.tsbuildinfo":                   "typescript sources",
		"node_modules/koa/__tests__/a.js":                         "tests",
		"node_modules/koa/examples/hello.js":                      "examples",
		"node_modules/koa/.eslintrc":                              "package dotfiles",
		"node_modules/koa/.github/workflows/ci.yml":               "package dotfiles",
		"node_modules/test/index.js":                              "", // a package named test
		"node_modules/typescript/lib/typescript.js":               "dev-tool packages",
		"node_modules/@types/node/package.json":                   "dev-tool packages",
		"node_modules/eslint-plugin-x/index.js":                   "dev-tool packages",
		"node_modules/a/node_modules/prettier/index.js":           "dev-tool packages",
		"node_modules/devonly/index.js":                           "dev-dependencies",
		"node_modules/nat/build/Release/nat.node":                 "",
		"node_modules/nat/build/Release/obj.target/nat/a.o":       "native build leftovers",
		"node_modules/nat/build/Release/obj.target/nat.node":      "native build leftovers",
		"node_modules/nat/build/Makefile":                         "native build leftovers",
		"node_modules/nat/build/Release/.deps/x.d":                "native build leftovers",
		"node_modules/nat/src/addon.cc":                           "native sources",
		"node_modules/nat/binding.gyp":                            "native sources",
		"node_modules/nat/nat-1.0.0.tgz":                          "packed tarballs",
		"node_modules/plain/build/index.js":                       "", // not a native package
		"node_modules/plain/build/Makefile":                       "",
		"node_modules/plain/assets/big.png":                       "--prune",
		"node_modules/.prisma/client/index.js":                    "",
		"node_modules/koa/node_modules/.bin/x":                    "node_modules/.bin",
		"node_modules/typescript/lib/lib.d.ts":                    "dev-tool packages",
		"node_modules/@koa/router/lib/router.js":                  "",
		"node_modules/@koa/router/node_modules/debug/src/node.js": "",
	}
	var files []*entry
	for r := range rels {
		files = append(files, &entry{Rel: r, Size: 10})
	}
	ctx := &pruneCtx{
		nativePkgs: nativePackages(files),
		devPkgs:    map[string]bool{"node_modules/devonly": true},
		user:       []string{"*.png"},
	}
	kept := prune(files, nil, ctx)
	if kept != 0 {
		t.Errorf("kept by --keep = %d, want 0", kept)
	}
	for _, f := range files {
		if f.pruned != rels[f.Rel] {
			t.Errorf("%s: pruned by %q, want %q", f.Rel, f.pruned, rels[f.Rel])
		}
	}

	// --keep wins over every rule, including --prune.
	for _, f := range files {
		f.pruned = ""
	}
	kept = prune(files, []string{"node_modules/typescript", "*.md", "node_modules/plain/assets"}, ctx)
	for _, f := range files {
		switch {
		case strings.HasPrefix(f.Rel, "node_modules/typescript/"), strings.HasSuffix(f.Rel, ".md"), strings.HasPrefix(f.Rel, "node_modules/plain/assets/"):
			if f.pruned != "" {
				t.Errorf("%s: pruned by %q despite --keep", f.Rel, f.pruned)
			}
		}
	}
	want := 0
	for r, rule := range rels {
		if rule != "" && (strings.HasPrefix(r, "node_modules/typescript/") || strings.HasSuffix(r, ".md") || strings.HasPrefix(r, "node_modules/plain/assets/")) {
			want++
		}
	}
	if kept != want {
		t.Errorf("kept by --keep = %d, want %d", kept, want)
	}

	s := summarize(files, kept)
	total := 0
	for _, rc := range s.ByRule {
		total += rc.Files
		if rc.Bytes != int64(rc.Files)*10 {
			t.Errorf("rule %s bytes %d for %d files", rc.Rule, rc.Bytes, rc.Files)
		}
	}
	if total != s.Files || s.Bytes != int64(total)*10 {
		t.Errorf("summary totals %+v", s)
	}
}

func TestReadDevPackages(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "package-lock.json", `{"lockfileVersion":3,"packages":{
		"":{"name":"x"},
		"node_modules/koa":{"version":"3.0.0"},
		"node_modules/jest":{"version":"1.0.0","dev":true},
		"node_modules/a/node_modules/b":{"dev":true},
		"node_modules/opt":{"devOptional":true}}}`, 0o644)
	got := readDevPackages(dir, filepath.Join(dir, "node_modules"))
	want := map[string]bool{"node_modules/jest": true, "node_modules/a/node_modules/b": true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("dev packages %v, want %v", got, want)
	}
	// The hidden lockfile in node_modules wins (it describes what is installed).
	writeFile(t, dir, "node_modules/.package-lock.json", `{"packages":{"node_modules/other":{"dev":true}}}`, 0o644)
	got = readDevPackages(dir, filepath.Join(dir, "node_modules"))
	if !reflect.DeepEqual(got, map[string]bool{"node_modules/other": true}) {
		t.Fatalf("hidden lockfile: %v", got)
	}
	os.RemoveAll(filepath.Join(dir, "node_modules"))
}

func TestStartScriptEntry(t *testing.T) {
	cases := map[string]string{
		"node dist/src/index.js":                             "dist/src/index.js",
		"NODE_ENV=production node --enable-source-maps a.js": "a.js",
		"cross-env A=1 node -r dotenv/config server.js":      "server.js",
		"node ./index.js && echo done":                       "./index.js",
		"ts-node src/index.ts":                               "",
		"npm run build":                                      "",
		"/usr/bin/node app.js":                               "app.js",
	}
	for in, want := range cases {
		if got := StartScriptEntry(in); got != want {
			t.Errorf("StartScriptEntry(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDetectEntry(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "dist/src/index.js", "", 0o644)
	writeFile(t, dir, "lib/main.js", "", 0o644)
	writeFile(t, dir, "srv/index.js", "", 0o644)
	cases := []struct {
		pkg, explicit, want, from string
	}{
		{`{"main":"lib/main.js","scripts":{"start":"node dist/src/index.js"}}`, "", "lib/main.js", "main"},
		{`{"scripts":{"start":"node dist/src/index.js"}}`, "", "dist/src/index.js", "scripts.start"},
		{`{"main":"./lib/main"}`, "", "lib/main.js", "main"},
		{`{"main":"srv"}`, "", "srv/index.js", "main"},
		{`{"main":"lib/main.js"}`, "dist/src/index.js", "dist/src/index.js", "--entry"},
		{`{"main":"index.js","scripts":{"start":"node dist/src/index.js"}}`, "", "dist/src/index.js", "scripts.start"},
	}
	for _, c := range cases {
		writeFile(t, dir, "package.json", c.pkg, 0o644)
		got, from, err := DetectEntry(dir, c.explicit)
		if err != nil || got != c.want || !strings.Contains(from, c.from) {
			t.Errorf("%s (explicit %q): got %q from %q, %v; want %q", c.pkg, c.explicit, got, from, err, c.want)
		}
	}
	writeFile(t, dir, "package.json", `{"main":"dist/nope.js"}`, 0o644)
	if _, _, err := DetectEntry(dir, ""); err == nil || !strings.Contains(err.Error(), "dist/nope.js") || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing main: %v", err)
	}
	if _, _, err := DetectEntry(dir, "../outside.js"); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("escaping entry: %v", err)
	}
	writeFile(t, dir, "package.json", `{not json`, 0o644)
	if _, _, err := DetectEntry(dir, ""); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("bad json: %v", err)
	}
}
