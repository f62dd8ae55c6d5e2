package packaging

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// The tracer finds the files the app can load, starting at its entry, the way Node resolves
// modules (CommonJS and ESM): relative files with .js/.json/.node (and .cjs/.mjs) or
// /index.*, bare specifiers through node_modules up the tree, package.json "main",
// "exports" and "imports" (conditions require, node, import, default, module-sync: all of
// them, since we cannot know which one a caller uses). Those files are never pruned.
//
// Dynamic references are handled conservatively:
//   - a template or concatenation (require(`../${v}/destinations/${h}/transform`)) makes
//     every file under its static directory prefix that matches the pattern reachable, the
//     unknown parts matching any run of characters, slashes included;
//   - a fully dynamic require(expr) makes every .js/.json/.node/.cjs/.mjs file under the
//     file's own directory reachable (in the app and in packages alike: Node could load any
//     of them; other files only when named exactly, which a dynamic name rarely does).
// References that resolve to nothing (optional dependencies behind try/catch, builtins of
// newer Nodes) are listed, not errors.

// reason says why a file is reachable: who references it and how.
type reason struct {
	from    string // the file holding the reference ("" for the entry)
	expr    string // the specifier or expression as written
	dynamic bool   // a pattern or fully dynamic require matched it
}

// Unresolved is a reference the tracer could not resolve to a file.
type Unresolved struct {
	From string `json:"from"`
	Spec string `json:"spec"`
}

// DynamicRef is a reference that is not a plain string, and what it made reachable.
type DynamicRef struct {
	From  string `json:"from"` // file:line
	Expr  string `json:"expr"`
	Under string `json:"under"` // directory whose matching files became reachable
	Files int    `json:"files"`
}

// TraceSummary is what the tracer found (in Report.Trace).
type TraceSummary struct {
	Entry      string       `json:"entry"`
	Reachable  int          `json:"reachable_files"`
	Scanned    int          `json:"scanned_files"` // JavaScript files read for references
	Millis     int64        `json:"ms"`
	Dynamic    []DynamicRef `json:"dynamic"`
	Unresolved []Unresolved `json:"unresolved"`
}

// trace is the result: reachable files by zip path.
type trace struct {
	reach map[string]reason
	sum   TraceSummary
}

// fileIndex answers "is there a file / a directory" over the collected files.
type fileIndex struct {
	files map[string]*entry
	dirs  map[string]bool
	rels  []string // sorted
	pkgs  sync.Map // dir -> *pkgInfo (nil when no readable package.json)
}

func newFileIndex(files []*entry) *fileIndex {
	ix := &fileIndex{files: make(map[string]*entry, len(files)), dirs: map[string]bool{"": true}}
	for _, f := range files {
		ix.files[f.Rel] = f
		ix.rels = append(ix.rels, f.Rel)
		for d := path.Dir(f.Rel); d != "." && !ix.dirs[d]; d = path.Dir(d) {
			ix.dirs[d] = true
		}
	}
	sort.Strings(ix.rels)
	return ix
}

func (ix *fileIndex) isFile(rel string) bool { return ix.files[rel] != nil }
func (ix *fileIndex) isDir(rel string) bool  { return ix.dirs[rel] }

// under lists the files below dir ("" = all).
func (ix *fileIndex) under(dir string) []string {
	if dir == "" {
		return ix.rels
	}
	pre := dir + "/"
	i := sort.SearchStrings(ix.rels, pre)
	j := i
	for j < len(ix.rels) && strings.HasPrefix(ix.rels[j], pre) {
		j++
	}
	return ix.rels[i:j]
}

// pkgInfo is the part of a package.json resolution reads.
type pkgInfo struct {
	Name    string          `json:"name"`
	Main    string          `json:"main"`
	Exports json.RawMessage `json:"exports"`
	Imports json.RawMessage `json:"imports"`
}

func (ix *fileIndex) pkg(dir string) *pkgInfo {
	if v, ok := ix.pkgs.Load(dir); ok {
		return v.(*pkgInfo)
	}
	var p *pkgInfo
	if f := ix.files[joinRel(dir, "package.json")]; f != nil && f.Src != "" {
		if b, err := os.ReadFile(f.Src); err == nil {
			var pi pkgInfo
			if json.Unmarshal(b, &pi) == nil {
				p = &pi
			}
		}
	}
	ix.pkgs.Store(dir, p)
	return p
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// cleanRel joins and cleans a zip path; ok is false when it leaves the zip root.
func cleanRel(dir, p string) (string, bool) {
	c := path.Clean(joinRel(dir, p))
	if c == "." {
		return "", true
	}
	if c == ".." || strings.HasPrefix(c, "../") || strings.HasPrefix(c, "/") {
		return "", false
	}
	return c, true
}

var fileExts = []string{".js", ".json", ".node", ".cjs", ".mjs"}

// resolver resolves specifiers over the index; found files go to add (with the package.json
// files Node reads on the way).
type resolver struct {
	ix  *fileIndex
	add func(rel string)
}

// loadAsFile: X, X.js, X.json, X.node (Node's order), then X.cjs, X.mjs.
func (r *resolver) loadAsFile(x string) bool {
	if r.ix.isFile(x) {
		r.add(x)
		return true
	}
	for _, e := range fileExts {
		if r.ix.isFile(x + e) {
			r.add(x + e)
			return true
		}
	}
	return false
}

func (r *resolver) loadIndex(x string) bool {
	for _, e := range fileExts {
		if r.ix.isFile(joinRel(x, "index"+e)) {
			r.add(joinRel(x, "index"+e))
			return true
		}
	}
	return false
}

func (r *resolver) loadAsDir(x string) bool {
	if !r.ix.isDir(x) {
		return false
	}
	if p := r.ix.pkg(x); p != nil {
		r.add(joinRel(x, "package.json"))
		if p.Main != "" {
			if m, ok := cleanRel(x, p.Main); ok && (r.loadAsFile(m) || r.loadIndex(m)) {
				return true
			}
		}
	}
	return r.loadIndex(x)
}

func (r *resolver) loadPath(x string) bool { return r.loadAsFile(x) || r.loadAsDir(x) }

// resolve resolves a static specifier referenced from file `from`.
func (r *resolver) resolve(from, spec string) bool {
	spec = strings.TrimSuffix(strings.SplitN(spec, "?", 2)[0], "/") // import 'x?query' (rare)
	if spec == "" {
		return false
	}
	dir := path.Dir(from)
	if dir == "." {
		dir = ""
	}
	switch {
	case strings.HasPrefix(spec, "node:") || isBuiltin(spec):
		return true
	case spec == "." || spec == ".." || strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../"):
		x, ok := cleanRel(dir, spec)
		return ok && r.loadPath(x)
	case strings.HasPrefix(spec, "/"), strings.HasPrefix(spec, "file:"):
		return false // absolute paths leave the task root
	case strings.HasPrefix(spec, "#"):
		return r.resolveImports(dir, spec)
	}
	name, sub := splitPackage(spec)
	for _, pd := range r.packageDirs(dir, name) {
		if r.resolveInPackage(pd, sub) {
			return true
		}
	}
	return false
}

// packageDirs lists node_modules/<name> directories visible from dir, nearest first.
func (r *resolver) packageDirs(dir, name string) []string {
	var out []string
	for d := dir; ; {
		if path.Base(d) != "node_modules" {
			if c := joinRel(joinRel(d, "node_modules"), name); r.ix.isDir(c) {
				out = append(out, c)
			}
		}
		if d == "" {
			return out
		}
		if d = path.Dir(d); d == "." {
			d = ""
		}
	}
}

// resolveInPackage resolves "./sub" (or "." for sub "") inside a package directory: through
// "exports" when it has them, else (and as a fallback) as plain files.
func (r *resolver) resolveInPackage(pd, sub string) bool {
	p := r.ix.pkg(pd)
	if p != nil {
		r.add(joinRel(pd, "package.json"))
		if len(p.Exports) > 0 && string(p.Exports) != "null" {
			key := "."
			if sub != "" {
				key = "./" + sub
			}
			if r.exportTargets(pd, p.Exports, key) {
				return true
			}
		}
	}
	if sub == "" {
		return r.loadAsDir(pd)
	}
	x, ok := cleanRel(pd, sub)
	return ok && r.loadPath(x)
}

// resolveImports resolves a "#name" specifier through the nearest package.json "imports".
func (r *resolver) resolveImports(dir, spec string) bool {
	for d := dir; ; {
		if p := r.ix.pkg(d); p != nil {
			r.add(joinRel(d, "package.json"))
			return len(p.Imports) > 0 && r.exportTargets(d, p.Imports, spec)
		}
		if d == "" {
			return false
		}
		if d = path.Dir(d); d == "." {
			d = ""
		}
	}
}

// exportConditions are the conditions whose targets count (all of them: a package may be
// required or imported).
var exportConditions = map[string]bool{"require": true, "node": true, "import": true, "default": true, "module-sync": true, "node-addons": true}

// exportTargets resolves key through an "exports" (or "imports") value and adds every
// target of the conditions above.
func (r *resolver) exportTargets(pd string, raw json.RawMessage, key string) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	// Sugar: a string, an array or a conditions object stand for {".": ...}.
	if m, ok := v.(map[string]any); ok && !hasDotKeys(m) && !strings.HasPrefix(key, "#") {
		v = map[string]any{".": m}
	} else if !ok {
		v = map[string]any{".": v}
	}
	m := v.(map[string]any)
	target, star, ok := matchSubpath(m, key)
	if !ok {
		return false
	}
	found := false
	r.walkTargets(pd, target, star, &found, 0)
	return found
}

func hasDotKeys(m map[string]any) bool {
	for k := range m {
		if strings.HasPrefix(k, ".") {
			return true
		}
	}
	return false
}

// matchSubpath picks the entry for key: an exact key, else the pattern ("./x/*", "#x/*")
// with the longest prefix, else a legacy folder key ("./x/").
func matchSubpath(m map[string]any, key string) (target any, star string, ok bool) {
	if t, ok := m[key]; ok {
		return t, "", true
	}
	best := ""
	for k := range m {
		i := strings.IndexByte(k, '*')
		if i < 0 {
			if strings.HasSuffix(k, "/") && strings.HasPrefix(key, k) && len(k) > len(best) {
				best = k
			}
			continue
		}
		pre, suf := k[:i], k[i+1:]
		if strings.HasPrefix(key, pre) && strings.HasSuffix(key, suf) && len(key) >= len(pre)+len(suf) && len(k) > len(best) {
			best = k
		}
	}
	if best == "" {
		return nil, "", false
	}
	if i := strings.IndexByte(best, '*'); i >= 0 {
		return m[best], key[i : len(key)-(len(best)-i-1)], true
	}
	return m[best], "\x00folder:" + strings.TrimPrefix(key, best), true
}

func (r *resolver) walkTargets(pd string, t any, star string, found *bool, depth int) {
	if depth > 8 {
		return
	}
	switch t := t.(type) {
	case string:
		if !strings.HasPrefix(t, "./") {
			if strings.HasPrefix(t, "#") || t == "" {
				return
			}
			// "imports" may map to a bare package.
			if r.resolve(joinRel(pd, "package.json"), t) {
				*found = true
			}
			return
		}
		switch {
		case strings.HasPrefix(star, "\x00folder:"):
			t += strings.TrimPrefix(star, "\x00folder:")
		case star != "":
			t = strings.ReplaceAll(t, "*", star)
		}
		if x, ok := cleanRel(pd, t); ok && (r.loadAsFile(x) || r.loadAsDir(x)) {
			*found = true
		}
	case []any:
		for _, e := range t {
			r.walkTargets(pd, e, star, found, depth+1)
		}
	case map[string]any:
		for k, e := range t {
			if exportConditions[k] {
				r.walkTargets(pd, e, star, found, depth+1)
			}
		}
	}
}

// splitPackage splits "x/a/b" into "x", "a/b" and "@s/x/a" into "@s/x", "a".
func splitPackage(spec string) (name, sub string) {
	segs := strings.SplitN(spec, "/", 3)
	if strings.HasPrefix(spec, "@") && len(segs) >= 2 {
		name = segs[0] + "/" + segs[1]
		if len(segs) == 3 {
			sub = segs[2]
		}
		return name, sub
	}
	name, sub, _ = strings.Cut(spec, "/")
	return name, sub
}

var builtins = map[string]bool{}

func init() {
	for _, b := range strings.Fields(`assert async_hooks buffer child_process cluster console constants crypto dgram
		diagnostics_channel dns domain events fs http http2 https inspector module net os path perf_hooks
		process punycode querystring readline repl stream string_decoder sys timers tls trace_events tty url
		util v8 vm wasi worker_threads zlib test sqlite sea`) {
		builtins[b] = true
	}
}

// isBuiltin reports a Node core module ("fs", "fs/promises", "stream/web", ...).
func isBuiltin(spec string) bool {
	name, _, _ := strings.Cut(spec, "/")
	return builtins[name]
}

// isModuleFile reports whether require() can reach a file by its extension probing.
func isModuleFile(rel string) bool {
	for _, e := range fileExts {
		if strings.HasSuffix(rel, e) {
			return true
		}
	}
	return false
}

// isScript reports whether a file is JavaScript to read for references.
func isScript(rel string) bool {
	return strings.HasSuffix(rel, ".js") || strings.HasSuffix(rel, ".cjs") || strings.HasSuffix(rel, ".mjs")
}

// traceApp finds what the entry can load. files are all collected files (before pruning).
func traceApp(files []*entry, entryRel string) (*trace, error) {
	start := time.Now()
	ix := newFileIndex(files)
	if !ix.isFile(entryRel) {
		return nil, fmt.Errorf("entry %s is not among the files packaged (top-level dotfiles and node_modules/.bin never are): the app could not start; pass --entry with a file of the app", entryRel)
	}
	tr := &trace{reach: map[string]reason{}, sum: TraceSummary{Entry: entryRel, Dynamic: []DynamicRef{}, Unresolved: []Unresolved{}}}
	var queue []string
	mark := func(rel string, why reason) {
		if _, ok := tr.reach[rel]; ok {
			return
		}
		tr.reach[rel] = why
		if isScript(rel) {
			queue = append(queue, rel)
		}
	}
	mark(entryRel, reason{expr: "the entry"})

	// Files are read and lexed in parallel; resolving and marking happen here, in order,
	// so the result does not depend on scheduling.
	type scanned struct {
		rel  string
		refs []moduleRef
		src  []byte
	}
	workers := min(runtime.NumCPU(), 4)
	for len(queue) > 0 {
		batch := queue
		queue = nil
		results := make([]scanned, len(batch))
		var wg sync.WaitGroup
		next := make(chan int)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					f := ix.files[batch[i]]
					b, err := os.ReadFile(f.Src)
					if err != nil {
						continue
					}
					refs := scanRefs(b)
					results[i] = scanned{rel: batch[i], refs: refs}
					for _, r := range refs {
						if r.kind != refStatic {
							results[i].src = b // for line numbers
							break
						}
					}
				}
			}()
		}
		for i := range batch {
			next <- i
		}
		close(next)
		wg.Wait()
		tr.sum.Scanned += len(batch)
		for _, s := range results {
			for _, ref := range s.refs {
				tr.follow(ix, s.rel, s.src, ref, mark)
			}
		}
	}
	tr.sum.Reachable = len(tr.reach)
	tr.sum.Millis = time.Since(start).Milliseconds()
	return tr, nil
}

// follow resolves one reference of file `from` and marks what it reaches.
func (tr *trace) follow(ix *fileIndex, from string, src []byte, ref moduleRef, mark func(string, reason)) {
	switch ref.kind {
	case refStatic:
		r := &resolver{ix: ix, add: func(rel string) { mark(rel, reason{from: from, expr: ref.spec}) }}
		if !r.resolve(from, ref.spec) {
			tr.sum.Unresolved = append(tr.sum.Unresolved, Unresolved{From: from, Spec: ref.spec})
		}
	case refPattern:
		under, re := patternDir(from, ref.parts)
		d := DynamicRef{From: fmt.Sprintf("%s:%d", from, lineOf(src, ref.pos)), Expr: ref.expr, Under: under}
		if re != nil {
			why := reason{from: from, expr: ref.expr, dynamic: true}
			for _, rel := range ix.under(under) {
				if re.MatchString(strings.TrimPrefix(rel, under+"/")) {
					mark(rel, why)
					d.Files++
				}
			}
		} else {
			// A pattern naming a package ("lodash/" + x, `@s/p/${x}`): its matching files.
			d.Files = tr.followBarePattern(ix, from, ref, mark)
		}
		tr.sum.Dynamic = append(tr.sum.Dynamic, d)
	case refDynamic:
		dir := path.Dir(from)
		if dir == "." {
			dir = ""
		}
		d := DynamicRef{From: fmt.Sprintf("%s:%d", from, lineOf(src, ref.pos)), Expr: ref.expr, Under: dir}
		why := reason{from: from, expr: ref.expr, dynamic: true}
		for _, rel := range ix.under(dir) {
			if rel == from || strings.Contains(strings.TrimPrefix(rel, dir+"/"), "node_modules/") {
				continue // nested packages are reached through their own references
			}
			if !isModuleFile(rel) {
				continue // require(x) finds other files only when x names them exactly
			}
			mark(rel, why)
			d.Files++
		}
		tr.sum.Dynamic = append(tr.sum.Dynamic, d)
	}
}

// suffixRE is what Node may append to a pattern's last part.
const suffixRE = `(\.js|\.json|\.node|\.cjs|\.mjs|/index\.(js|json|node|cjs|mjs)|/package\.json)?`

// patternDir turns a relative pattern into the directory holding its static prefix and a
// regular expression for paths below it. For a bare pattern it returns re == nil unless the
// package part is literal (then under is "" and the caller resolves it).
func patternDir(from string, parts []part) (under string, re *regexp.Regexp) {
	dir := path.Dir(from)
	if dir == "." {
		dir = ""
	}
	// Render with \x00 for unknown runs; __dirname becomes "./".
	var sb strings.Builder
	for i, p := range parts {
		switch {
		case p.dirname:
			if i == 0 {
				sb.WriteString("./")
			}
		case p.wild:
			sb.WriteByte(0)
		default:
			sb.WriteString(p.lit)
		}
	}
	s := strings.ReplaceAll(sb.String(), "//", "/")
	if !(strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../")) {
		return "", nil
	}
	wild := strings.IndexByte(s, 0)
	if wild < 0 {
		wild = len(s) // __dirname + literals only
	}
	prefix := s[:strings.LastIndexByte(s[:wild], '/')+1]
	under, ok := cleanRel(dir, prefix)
	if !ok {
		return "", nil
	}
	return under, compilePattern(s[len(prefix):])
}

// compilePattern makes an anchored regexp of a pattern with \x00 for unknown runs.
func compilePattern(rest string) *regexp.Regexp {
	var rx strings.Builder
	rx.WriteString("^")
	for i, lit := range strings.Split(rest, "\x00") {
		if i > 0 {
			rx.WriteString(".*")
		}
		rx.WriteString(regexp.QuoteMeta(strings.TrimPrefix(lit, "./")))
	}
	rx.WriteString(suffixRE + "$")
	re, err := regexp.Compile(rx.String())
	if err != nil {
		return nil
	}
	return re
}

// followBarePattern handles a pattern starting with a package name ("lodash/" + x): every
// visible package whose name matches, and within it the files matching the rest.
func (tr *trace) followBarePattern(ix *fileIndex, from string, ref moduleRef, mark func(string, reason)) int {
	var sb strings.Builder
	for _, p := range ref.parts {
		if p.wild {
			sb.WriteByte(0)
		} else {
			sb.WriteString(p.lit)
		}
	}
	s := sb.String()
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "\x00") {
		return 0
	}
	dir := path.Dir(from)
	if dir == "." {
		dir = ""
	}
	why := reason{from: from, expr: ref.expr, dynamic: true}
	n := 0
	name, sub := splitPackage(s)
	nameRE := compileName(name)
	seen := map[string]bool{}
	for d := dir; ; {
		if path.Base(d) != "node_modules" {
			nm := joinRel(d, "node_modules")
			for _, rel := range ix.under(nm) {
				pname, pdir := packageOfRel(nm, rel)
				if pname == "" || seen[pdir] || !nameRE.MatchString(pname) {
					continue
				}
				seen[pdir] = true
				r := &resolver{ix: ix, add: func(x string) { mark(x, why) }}
				if sub == "" {
					if r.resolveInPackage(pdir, "") {
						n++
					}
					continue
				}
				re := compilePattern(sub)
				for _, f := range ix.under(pdir) {
					if re != nil && re.MatchString(strings.TrimPrefix(f, pdir+"/")) {
						mark(f, why)
						n++
					}
				}
			}
		}
		if d == "" {
			return n
		}
		if d = path.Dir(d); d == "." {
			d = ""
		}
	}
}

func compileName(name string) *regexp.Regexp {
	var rx strings.Builder
	rx.WriteString("^")
	for i, lit := range strings.Split(name, "\x00") {
		if i > 0 {
			rx.WriteString("[^/]*")
		}
		rx.WriteString(regexp.QuoteMeta(lit))
	}
	rx.WriteString("$")
	return regexp.MustCompile(rx.String())
}

// packageOfRel names the package directly under node_modules dir nm that rel is in.
func packageOfRel(nm, rel string) (name, dir string) {
	rest := strings.TrimPrefix(rel, nm+"/")
	segs := strings.SplitN(rest, "/", 3)
	if len(segs) < 2 {
		return "", ""
	}
	if strings.HasPrefix(segs[0], "@") {
		if len(segs) < 3 {
			return "", ""
		}
		return segs[0] + "/" + segs[1], nm + "/" + segs[0] + "/" + segs[1]
	}
	return segs[0], nm + "/" + segs[0]
}

// chain is how the entry reaches rel: "entry -> a.js -> b.js" (at most 8 steps shown).
func (tr *trace) chain(rel string) string {
	var steps []string
	seen := map[string]bool{}
	for cur := rel; cur != "" && !seen[cur]; cur = tr.reach[cur].from {
		seen[cur] = true
		steps = append(steps, cur)
	}
	if len(steps) > 8 {
		steps = append(steps[:4], append([]string{"..."}, steps[len(steps)-3:]...)...)
	}
	for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
		steps[i], steps[j] = steps[j], steps[i]
	}
	return strings.Join(steps, " -> ")
}

// describeReason says who loads rel: "required by X as 'spec' (entry -> ... -> rel)".
func describeReason(tr *trace, rel string, why reason) string {
	if why.from == "" {
		return "it is the entry"
	}
	if why.dynamic {
		return fmt.Sprintf("%s may load it through the dynamic require(%s) (%s)", why.from, why.expr, tr.chain(rel))
	}
	return fmt.Sprintf("%s requires it as '%s' (%s)", why.from, why.expr, tr.chain(rel))
}

// protectReachable un-prunes files the app loads that a built-in rule matched (returned,
// for the report) and refuses when a --prune glob matches one and no --keep saves it.
func protectReachable(files []*entry, tr *trace, keep, userPrune []string) ([]KeptFile, error) {
	kept := []KeptFile{}
	var refused []string
	var keepHints []string
	for _, f := range files {
		why, ok := tr.reach[f.Rel]
		if !ok || keepMatch(keep, f.Rel) {
			continue
		}
		if g := firstGlob(userPrune, f.Rel); g != "" {
			if len(refused) < 10 {
				refused = append(refused, fmt.Sprintf("  %s (matched by --prune %q): %s", f.Rel, g, describeReason(tr, f.Rel, why)))
				keepHints = append(keepHints, "--keep "+f.Rel)
			} else if len(refused) == 10 {
				refused = append(refused, "  ... and more")
			}
			continue
		}
		if f.pruned != "" && f.pruned != ruleForeignPrebuild {
			kept = append(kept, KeptFile{Path: f.Rel, Rule: f.pruned, By: why.from})
			f.pruned = ""
		}
	}
	if len(refused) > 0 {
		return nil, fmt.Errorf("--prune would remove files the app loads, so it would crash at start; nothing was written:\n%s\nfix: narrow the glob so it spares them, or keep them with %s", strings.Join(refused, "\n"), strings.Join(keepHints, " "))
	}
	return kept, nil
}

func firstGlob(globs []string, rel string) string {
	for _, g := range globs {
		if globMatch(g, rel) {
			return g
		}
	}
	return ""
}
