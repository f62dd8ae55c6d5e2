package packaging

import (
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestScanRefs(t *testing.T) {
	src := "#!/usr/bin/env node\n" + `
// require('in-line-comment')
/* require('in-block-comment') */
const a = require('a');
const s = "require('in-a-string')";
const t = ` + "`require('in-a-template') ${require('in-subst')} done`" + `;
const r = /require\('in-a-regex'\)[/]/g, d = 4 / 2 / require('after-division');
require.resolve("./resolved");
import x, { y as z } from './esm.js';
import * as ns from "ns";
import 'side-effect';
export { q } from './reexport';
export * from './star';
const lazy = import('./lazy.mjs');
const tpl = require(` + "`../${version}/destinations/${handler}/transform`" + `);
const cat = require('./lang/' + lang + '.json');
const dyn = require(name);
const joined = require(path.join(__dirname, 'data', file));
const both = require('x' + 'y');
obj.require('not-a-require'); obj.import('not-an-import');
function require(p) { return p }
if (x) { } else { require('after-else') }
`
	var got []string
	for _, r := range scanRefs([]byte(src)) {
		switch r.kind {
		case refStatic:
			got = append(got, "static "+r.spec)
		case refPattern:
			var b strings.Builder
			for _, p := range r.parts {
				switch {
				case p.wild:
					b.WriteString("*")
				case p.dirname:
					b.WriteString("<dirname>")
				default:
					b.WriteString(p.lit)
				}
			}
			got = append(got, "pattern "+b.String())
		case refDynamic:
			got = append(got, "dynamic "+r.expr)
		}
	}
	want := []string{
		"static a",
		"static in-subst",
		"static after-division",
		"static ./resolved",
		"static ./esm.js",
		"static ns",
		"static side-effect",
		"static ./reexport",
		"static ./star",
		"static ./lazy.mjs",
		"pattern ../*/destinations/*/transform",
		"pattern ./lang/*.json",
		"dynamic name",
		"pattern <dirname>/data/*",
		"static xy",
		"static after-else",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("refs:\n got %q\nwant %q", got, want)
	}
}

// traceFixture writes files (path -> content) and traces from entry.
func traceFixture(t *testing.T, tree map[string]string, entryRel string) *trace {
	t.Helper()
	dir := t.TempDir()
	var files []*entry
	for rel, content := range tree {
		p := writeFile(t, dir, rel, content, 0o644)
		files = append(files, &entry{Rel: rel, Src: p, Size: int64(len(content))})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Rel < files[j].Rel })
	tr, err := traceApp(files, entryRel)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestTraceResolution(t *testing.T) {
	tree := map[string]string{
		"package.json":                                     `{"name":"app","imports":{"#cfg":"./dist/config.js"}}`,
		"dist/index.js":                                    `require('./adapters/network'); require('#cfg'); require('yaml'); require('ex/feature'); require('cond'); require('dirpkg'); require('fs'); require('node:path'); require('./data.json'); require('scoped-user');`,
		"dist/adapters/network.js":                         `const h = require('../../dist/test/testHelper');`,
		"dist/test/testHelper.js":                          `module.exports = {}`,
		"dist/test/other.test.js":                          `never required`,
		"dist/config.js":                                   ``,
		"dist/data.json":                                   `{}`,
		"dist/unused.js":                                   `require('unused-dep')`,
		"node_modules/yaml/package.json":                   `{"name":"yaml","main":"./dist/index.js"}`,
		"node_modules/yaml/dist/index.js":                  `var doc = require('./doc/Document.js'); exports.x = 1`,
		"node_modules/yaml/dist/doc/Document.js":           `require('./directives')`,
		"node_modules/yaml/dist/doc/directives.js":         ``,
		"node_modules/yaml/docs/README.md":                 `# docs`,
		"node_modules/ex/package.json":                     `{"name":"ex","exports":{".":"./main.js","./feature":{"import":"./esm/feature.mjs","require":"./cjs/feature.js"},"./package.json":"./package.json"}}`,
		"node_modules/ex/main.js":                          ``,
		"node_modules/ex/esm/feature.mjs":                  `export * from './shared.mjs'`,
		"node_modules/ex/esm/shared.mjs":                   ``,
		"node_modules/ex/cjs/feature.js":                   ``,
		"node_modules/ex/test/t.js":                        ``,
		"node_modules/cond/package.json":                   `{"exports":{"node":{"require":"./node.cjs"},"browser":"./browser.js","default":"./default.js"}}`,
		"node_modules/cond/node.cjs":                       ``,
		"node_modules/cond/browser.js":                     ``,
		"node_modules/cond/default.js":                     ``,
		"node_modules/dirpkg/index.js":                     `require('nested')`,
		"node_modules/dirpkg/node_modules/nested/index.js": ``,
		"node_modules/nested/index.js":                     `the outer copy: not the one dirpkg sees`,
		"node_modules/@s/user/package.json":                `{"main":"lib"}`,
		"node_modules/@s/user/lib/index.js":                ``,
		"node_modules/scoped-user/index.js":                `require('@s/user')`,
		"node_modules/unused-dep/index.js":                 ``,
	}
	tr := traceFixture(t, tree, "dist/index.js")
	for _, rel := range []string{
		"dist/index.js", "dist/adapters/network.js", "dist/test/testHelper.js", "dist/config.js", "dist/data.json", "package.json",
		"node_modules/yaml/package.json", "node_modules/yaml/dist/index.js", "node_modules/yaml/dist/doc/Document.js", "node_modules/yaml/dist/doc/directives.js",
		"node_modules/ex/esm/feature.mjs", "node_modules/ex/esm/shared.mjs", "node_modules/ex/cjs/feature.js",
		"node_modules/cond/node.cjs", "node_modules/cond/default.js",
		"node_modules/dirpkg/index.js", "node_modules/dirpkg/node_modules/nested/index.js",
		"node_modules/@s/user/lib/index.js", "node_modules/scoped-user/index.js",
	} {
		if _, ok := tr.reach[rel]; !ok {
			t.Errorf("%s is not reachable", rel)
		}
	}
	for _, rel := range []string{
		"dist/test/other.test.js", "dist/unused.js", "node_modules/unused-dep/index.js", "node_modules/yaml/docs/README.md",
		"node_modules/ex/main.js", "node_modules/ex/test/t.js", "node_modules/cond/browser.js", "node_modules/nested/index.js",
	} {
		if why, ok := tr.reach[rel]; ok {
			t.Errorf("%s is reachable (from %s via %q), should not be", rel, why.from, why.expr)
		}
	}
	if got := tr.chain("node_modules/yaml/dist/doc/directives.js"); got != "dist/index.js -> node_modules/yaml/dist/index.js -> node_modules/yaml/dist/doc/Document.js -> node_modules/yaml/dist/doc/directives.js" {
		t.Errorf("chain %q", got)
	}
	if len(tr.sum.Unresolved) != 0 {
		t.Errorf("unresolved %+v", tr.sum.Unresolved)
	}
}

func TestTraceDynamic(t *testing.T) {
	tree := map[string]string{
		"dist/index.js": "const v = 'v0';\n" +
			"const h = require(`../${v}/destinations/${name}/transform`);\n" +
			"const lang = require('./locales/' + l);\n" +
			"const plug = require('plugin-' + p);\n",
		"v0/destinations/am/transform.js":       `require('./util')`,
		"v0/destinations/am/util.js":            ``,
		"v0/destinations/bq/transform/index.js": ``,
		"v0/destinations/bq/config.json":        `not matched by the pattern`,
		"v1/destinations/x/transform.js":        ``,
		"v1/sources/y/transform.js":             `not under destinations`,
		"dist/locales/en.json":                  `{}`,
		"dist/locales/de/index.js":              ``,
		"dist/other.js":                         ``,
		"node_modules/plugin-a/index.js":        ``,
		"node_modules/plugin-a/README.md":       ``,
		"node_modules/other/index.js":           ``,
		"lib/loader.js":                         `module.exports = (n) => require(n)`,
		"lib/a.js":                              ``,
		"lib/types.d.ts":                        ``,
		"lib/sub/b.json":                        `{}`,
		"lib/node_modules/own/index.js":         ``,
	}
	tr := traceFixture(t, tree, "dist/index.js")
	reach := []string{
		"v0/destinations/am/transform.js", "v0/destinations/am/util.js", "v0/destinations/bq/transform/index.js",
		"v1/destinations/x/transform.js", "dist/locales/en.json", "dist/locales/de/index.js", "node_modules/plugin-a/index.js",
	}
	not := []string{"v0/destinations/bq/config.json", "v1/sources/y/transform.js", "dist/other.js", "node_modules/other/index.js", "node_modules/plugin-a/README.md", "lib/a.js"}
	check := func(reach, not []string) {
		t.Helper()
		for _, rel := range reach {
			if _, ok := tr.reach[rel]; !ok {
				t.Errorf("%s is not reachable", rel)
			}
		}
		for _, rel := range not {
			if _, ok := tr.reach[rel]; ok {
				t.Errorf("%s is reachable, should not be", rel)
			}
		}
	}
	check(reach, not)
	if len(tr.sum.Dynamic) != 3 || tr.sum.Dynamic[0].Under != "" || tr.sum.Dynamic[0].From != "dist/index.js:2" || tr.sum.Dynamic[1].Under != "dist/locales" {
		t.Errorf("dynamic refs %+v", tr.sum.Dynamic)
	}

	// A fully dynamic require makes its directory (not nested packages) reachable.
	tree["dist/index.js"] = `require('../lib/loader')`
	tr = traceFixture(t, tree, "dist/index.js")
	check([]string{"lib/a.js", "lib/sub/b.json", "lib/loader.js"}, []string{"lib/node_modules/own/index.js", "dist/other.js", "lib/types.d.ts"})
	if len(tr.sum.Dynamic) != 1 || tr.sum.Dynamic[0].Expr != "n" || tr.sum.Dynamic[0].Under != "lib" {
		t.Errorf("dynamic refs %+v", tr.sum.Dynamic)
	}
	_ = filepath.Join
}
