package packaging

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// entry is one file of the zip.
type entry struct {
	Rel    string // slash path inside the zip
	Src    string // file on disk ("" when Data is set)
	Data   []byte // generated content
	Size   int64
	Exec   bool
	pruned string // rule that removed it ("" = kept)
}

// collectOptions say where the app's files come from.
type collectOptions struct {
	Src         string          // app directory
	NodeModules string          // production node_modules ("" = none)
	Skip        map[string]bool // absolute paths never to include (the output zip, template)
	// ModulesOurs says NodeModules is the packager's own install in its cache: its links are
	// npm's, not the user's, and are not held to the source tree.
	ModulesOurs bool
	// ModulesRoots are extra directories NodeModules' links may point into (a staging copy).
	ModulesRoots []string
}

// collect lists the app's files: everything in Src except dotfiles/dirs at its top level,
// Src/node_modules (taken from NodeModules instead), and Skip; then node_modules.
// Symlinks are followed when their target (after every link in a chain) stays inside the
// source tree; a link out of it is refused (issue #7): the zip would carry files from
// elsewhere on the machine.
func collect(o collectOptions) ([]*entry, error) {
	var out []*entry
	skipTop := func(name string) bool {
		return strings.HasPrefix(name, ".") || name == "node_modules"
	}
	realSrc, err := filepath.EvalSymlinks(o.Src)
	if err != nil {
		return nil, err
	}
	srcRoots := []string{realSrc}
	if err := walk(o.Src, "", skipTop, o.Skip, srcRoots, o.Src, &out); err != nil {
		return nil, err
	}
	if o.NodeModules != "" {
		var roots []string
		if !o.ModulesOurs {
			roots = append(append(roots, srcRoots...), o.ModulesRoots...)
			if err := checkLinkTarget(o.NodeModules, roots, o.Src); err != nil {
				return nil, err
			}
		}
		if err := walk(o.NodeModules, "node_modules", nil, o.Skip, roots, o.Src, &out); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out, nil
}

// checkLinkTarget refuses p when it resolves outside every root (roots nil = no check).
func checkLinkTarget(p string, roots []string, src string) error {
	if roots == nil {
		return nil
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	for _, r := range roots {
		if real == r || strings.HasPrefix(real, r+string(filepath.Separator)) {
			return nil
		}
	}
	shown := p
	if rel, err := filepath.Rel(src, p); err == nil && !strings.HasPrefix(rel, "..") {
		shown = rel
	}
	target := real
	if l, err := os.Readlink(p); err == nil && l != real {
		target = l + " -> ... -> " + real
	}
	return fmt.Errorf("symlink %s -> %s points outside the app directory %s: the zip would carry files from elsewhere on this machine; nothing was written; replace the link with a copy of what it points to, or move that inside the app directory", shown, target, src)
}

// walk adds the files under dir (zip prefix rel). skipTop filters names directly in dir.
// Symlinks must resolve inside roots (nil = not checked); src is for messages.
func walk(dir, rel string, skipTop func(string) bool, skip map[string]bool, roots []string, src string, out *[]*entry) error {
	seen := map[string]bool{}
	var rec func(dir, rel string, top bool) error
	rec = func(dir, rel string, top bool) error {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return err
		}
		if seen[real] {
			return nil // a symlink cycle
		}
		seen[real] = true
		defer delete(seen, real)
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			name := e.Name()
			if top && skipTop != nil && skipTop(name) {
				continue
			}
			p := filepath.Join(dir, name)
			if skip[p] {
				continue
			}
			r := name
			if rel != "" {
				r = rel + "/" + name
			}
			st, err := os.Stat(p) // follows symlinks
			if err != nil {
				if e.Type()&os.ModeSymlink != 0 {
					continue // dangling link
				}
				return err
			}
			if e.Type()&os.ModeSymlink != 0 {
				if err := checkLinkTarget(p, roots, src); err != nil {
					if isBinLink(r) {
						continue // command shims are never packaged (rule node_modules/.bin)
					}
					return err
				}
			}
			if st.IsDir() {
				if err := rec(p, r, false); err != nil {
					return err
				}
				continue
			}
			if !st.Mode().IsRegular() {
				continue
			}
			if abs, err := filepath.Abs(p); err == nil && skip[abs] {
				continue
			}
			*out = append(*out, &entry{Rel: r, Src: p, Size: st.Size(), Exec: st.Mode().Perm()&0o111 != 0})
		}
		return nil
	}
	return rec(dir, rel, true)
}

func isBinLink(rel string) bool {
	return strings.HasPrefix(rel, "node_modules/.bin/") || strings.Contains(rel, "/node_modules/.bin/")
}

// pkgOf splits a zip path into the innermost package directory ("node_modules/@s/x"),
// the package name ("@s/x") and the path inside it. App files have pkgDir "".
func pkgOf(rel string) (pkgDir, name, inner string) {
	segs := strings.Split(rel, "/")
	i := -1
	for k := len(segs) - 2; k >= 0; k-- {
		if segs[k] == "node_modules" {
			i = k
			break
		}
	}
	if i < 0 {
		return "", "", rel
	}
	n := 1
	if strings.HasPrefix(segs[i+1], "@") {
		n = 2
	}
	if i+1+n > len(segs)-1 {
		return "", "", rel // a file directly in node_modules (or a scope dir)
	}
	pkgDir = strings.Join(segs[:i+1+n], "/")
	name = strings.Join(segs[i+1:i+1+n], "/")
	inner = strings.Join(segs[i+1+n:], "/")
	return pkgDir, name, inner
}

// topPackage is the first-level package a path belongs to ("(app)" for app files).
func topPackage(rel string) string {
	switch rel {
	case manifest.BootstrapName, manifest.WrapperName, manifest.FileName:
		return "(rudderctl adapter)"
	}
	segs := strings.Split(rel, "/")
	if len(segs) < 3 || segs[0] != "node_modules" {
		return "(app)"
	}
	if strings.HasPrefix(segs[1], "@") && len(segs) >= 4 {
		return segs[1] + "/" + segs[2]
	}
	return segs[1]
}

// rule is one prune rule.
type rule struct {
	Name string
	Desc string
	// match reports whether the rule removes a file; ctx has package facts.
	match func(rel, pkgDir, name, inner string, ctx *pruneCtx) bool
}

type pruneCtx struct {
	nativePkgs map[string]bool // package dirs holding a .node file
	devPkgs    map[string]bool // package dirs the lockfile marks dev
	user       []string        // --prune globs
}

var devToolPackages = []string{"typescript", "prettier", "eslint", "eslint-*", "@eslint/*", "@typescript-eslint/*", "@types/*", "ts-node", "husky", "nodemon", "jest", "@jest/*", "mocha", "nyc"}

var docDirs = map[string]bool{"doc": true, "docs": true}
var testDirs = map[string]bool{"test": true, "tests": true, "__tests__": true, "spec": true, "__mocks__": true}
var exampleDirs = map[string]bool{"example": true, "examples": true}
var junkDotDirs = map[string]bool{".github": true, ".vscode": true, ".idea": true, ".git": true, ".circleci": true, ".nyc_output": true, ".cache": true, ".husky": true}

// dirHas reports whether a directory segment of inner (not the file name) is in set.
func dirHas(inner string, set map[string]bool) bool {
	segs := strings.Split(inner, "/")
	for _, s := range segs[:len(segs)-1] {
		if set[s] {
			return true
		}
	}
	return false
}

func base(rel string) string { return path.Base(rel) }

// Rules are the built-in prune rules, in the order they are tried.
var Rules = []rule{
	{"old zips", "*.zip in the app outside node_modules (earlier packages) and packagers' temp files", func(rel, pkgDir, _, _ string, _ *pruneCtx) bool {
		if pkgDir != "" || strings.HasPrefix(rel, "node_modules/") {
			return false
		}
		b := strings.ToLower(base(rel))
		return strings.HasSuffix(b, ".zip") || strings.Contains(b, ".zip.tmp-") || strings.HasPrefix(b, ".") && (strings.Contains(b, ".yaml.tmp-") || strings.Contains(b, ".yml.tmp-"))
	}},
	{"node_modules/.bin", "command links of installed packages (not used at run time)", func(rel, _, _, _ string, _ *pruneCtx) bool {
		return strings.HasPrefix(rel, "node_modules/.bin/") || strings.Contains(rel, "/node_modules/.bin/")
	}},
	{"dev-dependencies", "packages the lockfile marks dev (installed by a plain npm install)", func(_, pkgDir, _, _ string, c *pruneCtx) bool {
		return pkgDir != "" && c.devPkgs[pkgDir]
	}},
	{"dev-tool packages", "typescript, eslint*, @types/*, prettier, jest, ... pulled in as dependencies", func(_, pkgDir, name, _ string, _ *pruneCtx) bool {
		if pkgDir == "" {
			return false
		}
		for _, g := range devToolPackages {
			if ok, _ := path.Match(g, name); ok {
				return true
			}
		}
		return false
	}},
	{"native build leftovers", "object files and makefiles under build/ of a package with a .node binary", func(_, pkgDir, _, inner string, c *pruneCtx) bool {
		if pkgDir == "" || !c.nativePkgs[pkgDir] || !strings.HasPrefix(inner, "build/") {
			return false
		}
		segs := strings.Split(inner, "/")
		for _, s := range segs[1 : len(segs)-1] {
			if s == "obj.target" || s == "obj" || s == ".deps" || s == "deps" {
				return true
			}
		}
		b := segs[len(segs)-1]
		switch {
		case b == "Makefile", b == "config.gypi", strings.HasSuffix(b, ".mk"), strings.HasSuffix(b, ".o"),
			strings.HasSuffix(b, ".a"), strings.HasSuffix(b, ".d"), strings.HasPrefix(b, "gyp-"), strings.HasSuffix(b, ".stamp"):
			return true
		}
		return false
	}},
	{"native sources", "C/C++ sources, headers and gyp files of a package with a .node binary", func(rel, pkgDir, _, _ string, c *pruneCtx) bool {
		if pkgDir == "" || !c.nativePkgs[pkgDir] {
			return false
		}
		switch path.Ext(rel) {
		case ".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".gyp", ".gypi":
			return true
		}
		return strings.HasPrefix(base(rel), "Dockerfile")
	}},
	{"packed tarballs", "*.tgz, *.tar.gz inside node_modules", func(rel, pkgDir, _, _ string, _ *pruneCtx) bool {
		return pkgDir != "" && (strings.HasSuffix(rel, ".tgz") || strings.HasSuffix(rel, ".tar.gz"))
	}},
	{"source maps", "*.map", func(rel, _, _, _ string, _ *pruneCtx) bool {
		return strings.HasSuffix(rel, ".map")
	}},
	{"typescript sources", "*.ts, *.d.ts, *.mts, *.cts, *.tsbuildinfo", func(rel, _, _, _ string, _ *pruneCtx) bool {
		b := base(rel)
		return strings.HasSuffix(b, ".ts") || strings.HasSuffix(b, ".mts") || strings.HasSuffix(b, ".cts") || strings.HasSuffix(b, ".tsbuildinfo")
	}},
	// Name rules look only inside packages: the app's own dist/test/ or docs/ may be code
	// (rudder-transformer's dist/test/testHelper.js is required at start).
	{"docs", "*.md, *.markdown, doc/ and docs/ directories inside packages", func(rel, pkgDir, _, inner string, _ *pruneCtx) bool {
		if pkgDir == "" {
			return false
		}
		b := strings.ToLower(base(rel))
		return strings.HasSuffix(b, ".md") || strings.HasSuffix(b, ".markdown") || dirHas(inner, docDirs)
	}},
	{"tests", "test/, tests/, __tests__/, spec/, __mocks__/ directories inside packages", func(_, pkgDir, _, inner string, _ *pruneCtx) bool {
		return pkgDir != "" && dirHas(inner, testDirs)
	}},
	{"examples", "example/ and examples/ directories inside packages", func(_, pkgDir, _, inner string, _ *pruneCtx) bool {
		return pkgDir != "" && dirHas(inner, exampleDirs)
	}},
	{"package dotfiles", "dotfiles (.eslintrc, .npmignore, ...) and .github/.vscode-style dirs inside node_modules", func(rel, pkgDir, _, inner string, _ *pruneCtx) bool {
		if !strings.HasPrefix(rel, "node_modules/") {
			return false
		}
		if pkgDir == "" {
			inner = rel
		}
		if strings.HasPrefix(base(inner), ".") {
			return true
		}
		return dirHas(inner, junkDotDirs)
	}},
	{"--prune", "your --prune globs", func(rel, _, _, _ string, c *pruneCtx) bool {
		for _, g := range c.user {
			if globMatch(g, rel) {
				return true
			}
		}
		return false
	}},
}

// readDevPackages returns the package dirs ("node_modules/x/node_modules/y") a lockfile
// marks "dev": true. It reads node_modules/.package-lock.json, else package-lock.json.
func readDevPackages(src, nodeModules string) map[string]bool {
	dev := map[string]bool{}
	var b []byte
	var err error
	if nodeModules != "" {
		b, err = os.ReadFile(filepath.Join(nodeModules, ".package-lock.json"))
	}
	if nodeModules == "" || err != nil {
		b, err = os.ReadFile(filepath.Join(src, "package-lock.json"))
	}
	if err != nil {
		return dev
	}
	var lock struct {
		Packages map[string]struct {
			Dev bool `json:"dev"`
		} `json:"packages"`
	}
	if json.Unmarshal(b, &lock) != nil {
		return dev
	}
	for k, v := range lock.Packages {
		if v.Dev && strings.HasPrefix(k, "node_modules/") {
			dev[k] = true
		}
	}
	return dev
}

// prune marks entries removed by the rules, unless a --keep glob matches.
func prune(files []*entry, keep []string, ctx *pruneCtx) (kept int) {
	for _, f := range files {
		pkgDir, name, inner := pkgOf(f.Rel)
		if pkgDir == "" {
			inner = f.Rel
		}
		for _, r := range Rules {
			if !r.match(f.Rel, pkgDir, name, inner, ctx) {
				continue
			}
			if keepMatch(keep, f.Rel) {
				kept++
				break
			}
			f.pruned = r.Name
			break
		}
	}
	return kept
}

func keepMatch(keep []string, rel string) bool {
	for _, g := range keep {
		if globMatch(g, rel) {
			return true
		}
	}
	return false
}

// nativePackages lists package dirs holding a .node file (and the app, as "", if it has one).
func nativePackages(files []*entry) map[string]bool {
	m := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f.Rel, ".node") {
			d, _, _ := pkgOf(f.Rel)
			m[d] = true
		}
	}
	return m
}

// summarize counts pruned entries by rule (rules in table order).
func summarize(files []*entry, kept int) PruneSummary {
	by := map[string]*RuleCount{}
	var s PruneSummary
	for _, f := range files {
		if f.pruned == "" {
			continue
		}
		rc := by[f.pruned]
		if rc == nil {
			rc = &RuleCount{Rule: f.pruned}
			by[f.pruned] = rc
		}
		rc.Files++
		rc.Bytes += f.Size
		s.Files++
		s.Bytes += f.Size
	}
	for _, r := range append(Rules, rule{Name: ruleForeignPrebuild}) {
		if rc := by[r.Name]; rc != nil {
			s.ByRule = append(s.ByRule, *rc)
		}
	}
	s.Kept = kept
	return s
}

// checkGlob rejects a malformed glob early.
func checkGlob(g string) error {
	if g == "" {
		return fmt.Errorf("empty glob in --keep/--prune; pass e.g. --keep 'node_modules/typescript/**'")
	}
	for _, s := range strings.Split(strings.Trim(g, "/"), "/") {
		if _, err := path.Match(s, ""); err != nil {
			return fmt.Errorf("glob %q is malformed (%v); use *, ?, [...] within a path segment and ** for any number of segments", g, err)
		}
	}
	return nil
}

// globMatch matches a slash path against a glob. A glob without "/" matches any single
// path segment (a file or directory name anywhere, like .gitignore); otherwise it is
// anchored at the zip root, "**" matches any number of segments, and matching a parent
// directory matches everything under it.
func globMatch(g, rel string) bool {
	g = strings.Trim(g, "/")
	segs := strings.Split(rel, "/")
	if !strings.Contains(g, "/") && g != "**" {
		for _, s := range segs {
			if ok, _ := path.Match(g, s); ok {
				return true
			}
		}
		return false
	}
	return matchSegs(strings.Split(g, "/"), segs)
}

func matchSegs(pat, segs []string) bool {
	if len(pat) == 0 {
		return true // the pattern named a parent directory (or the file itself)
	}
	if pat[0] == "**" {
		for i := 0; i <= len(segs); i++ {
			if matchSegs(pat[1:], segs[i:]) {
				return true
			}
		}
		return false
	}
	if len(segs) == 0 {
		return false
	}
	if ok, _ := path.Match(pat[0], segs[0]); !ok {
		return false
	}
	return matchSegs(pat[1:], segs[1:])
}
