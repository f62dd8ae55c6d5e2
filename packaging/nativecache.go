package packaging

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/rudderctl/rudderctl/internal/nodedist"
)

// nativeCacheFormat is part of every key: bump it when what is keyed or stored changes.
const nativeCacheFormat = "rudderctl-native v1"

// NativeCacheEnv set to "off" makes every native build compile (no lookup, no store).
const NativeCacheEnv = "RUDDERCTL_NATIVE_CACHE"

// nativeCacheOff reports whether the user asked for fresh native builds.
func nativeCacheOff() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(NativeCacheEnv)))
	return v == "off" || v == "0" || v == "false" || v == "no"
}

// buildOutputDirs are the top-level directories of a gyp package its build writes
// (node-gyp's build/, isolated-vm's out/); they are not inputs of the key.
var buildOutputDirs = map[string]bool{"build": true, "out": true}

// nativeCache is the content-addressed store of rebuilt gyp packages under
// $RUDDERCTL_CACHE/native/<key>: a hit is a copy instead of a compile.
type nativeCache struct {
	root    string
	toolKey []byte // what every key shares: Node, arch, toolchain, flags, pin policy
}

// nativeEntry is one gyp package copy in the build tree and where it lives in the cache.
type nativeEntry struct {
	Pkg gypPackage
	Key string
}

// openNativeCache returns nil when the cache is switched off.
func openNativeCache(env []string, dist nodedist.Dist, arch string) (*nativeCache, error) {
	if nativeCacheOff() {
		return nil, nil
	}
	dir, err := nodedist.CacheDir()
	if err != nil {
		return nil, err
	}
	tk, err := toolchainKey(env, dist, arch)
	if err != nil {
		return nil, err
	}
	return &nativeCache{root: filepath.Join(dir, "native"), toolKey: tk}, nil
}

// toolchainKey hashes everything outside a package that decides its build output.
func toolchainKey(env []string, dist nodedist.Dist, arch string) ([]byte, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\nnode %s\narch %s\n", nativeCacheFormat, dist.Version, arch)
	if err := hashHeaders(h, dist.Dir); err != nil {
		return nil, err
	}
	// The flags rudderctl adds, with the build directory (varies) mapped away as it is.
	flags := reproducibleEnv(nil, "<dir>", "<node>", "<pins>")
	fmt.Fprintf(h, "flags %q\nuser CFLAGS %q CXXFLAGS %q LDFLAGS %q SOURCE_DATE_EPOCH %q\n", flags,
		os.Getenv("CFLAGS"), os.Getenv("CXXFLAGS"), os.Getenv("LDFLAGS"), os.Getenv("SOURCE_DATE_EPOCH"))
	fmt.Fprintf(h, "pins GLIBC_%s GLIBCXX_%s CXXABI_%s\n", MaxGLIBC, MaxGLIBCXX, MaxCXXABI)
	h.Write(toolIdentity(env))
	return h.Sum(nil), nil
}

var (
	toolIdentityMu    sync.Mutex
	toolIdentityCache = map[string][]byte{}
)

// toolIdentity hashes the compilers', npm's (node-gyp's) and python's versions as the
// build would find them, and the libraries the pins are read from; remembered per
// PATH/CC/CXX for the life of the process (running them takes seconds under load).
func toolIdentity(env []string) []byte {
	id := getEnv(env, "PATH") + "\x00" + getEnv(env, "CC") + "\x00" + getEnv(env, "CXX") + "\x00" + os.Getenv("CXX")
	toolIdentityMu.Lock()
	defer toolIdentityMu.Unlock()
	if b, ok := toolIdentityCache[id]; ok {
		return b
	}
	h := sha256.New()
	for _, tool := range [][]string{{envOr(env, "CC", "cc"), "--version"}, {envOr(env, "CXX", "c++"), "--version"}, {"npm", "--version"}, {"python3", "--version"}} {
		cmd := exec.Command(tool[0], tool[1:]...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		fmt.Fprintf(h, "%s: %v\n%s\n", strings.Join(tool, " "), err, out)
	}
	// The pins come from this machine's libraries: their contents are part of the key.
	for _, so := range []string{"libstdc++.so.6", "libc.so.6"} {
		if p, err := libraryPath(so); err == nil {
			if b, err := os.ReadFile(p); err == nil {
				fmt.Fprintf(h, "%s %d\n", so, len(b))
				h.Write(b)
			}
		}
	}
	toolIdentityCache[id] = h.Sum(nil)
	return toolIdentityCache[id]
}

func envOr(env []string, k, def string) string {
	if v := getEnv(env, k); v != "" {
		return v
	}
	return def
}

// hashHeaders hashes the Node headers node-gyp compiles against (include/node).
func hashHeaders(h hash.Hash, nodeDir string) error {
	if nodeDir == "" {
		return nil
	}
	return hashTree(h, filepath.Join(nodeDir, "include", "node"), nil)
}

// hashTree writes every path, type, mode and content under root into h, in lexical
// order, skipping nested node_modules and the top-level directories in skipTop.
func hashTree(h hash.Hash, root string, skipTop map[string]bool) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r := rel(root, p)
		if d.IsDir() {
			if p != root && (d.Name() == "node_modules" || (skipTop[r])) {
				return filepath.SkipDir
			}
			fmt.Fprintf(h, "d %s\n", r)
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "l %s %s\n", r, t)
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fmt.Fprintf(h, "f %s %o %d\n", r, info.Mode().Perm(), info.Size())
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(h, f)
		return err
	})
}

// key hashes one package copy as installed (without its build outputs), where it sits
// in the tree (its path is in __FILE__ and debug info), the packages it depends on (e.g.
// nan or node-addon-api headers) and the shared toolchain key.
func (c *nativeCache) key(dir string, pkg gypPackage) (string, error) {
	h := sha256.New()
	h.Write(c.toolKey)
	fmt.Fprintf(h, "package %s at %s\n", pkg.Name, rel(dir, pkg.Dir))
	if err := hashTree(h, pkg.Dir, buildOutputDirs); err != nil {
		return "", err
	}
	deps, err := dependencyDirs(pkg.Dir)
	if err != nil {
		return "", err
	}
	for _, d := range deps {
		fmt.Fprintf(h, "dependency %s\n", rel(dir, d))
		if err := hashTree(h, d, nil); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// dependencyDirs resolves, the way Node does (nearest node_modules upwards), every
// package pkgDir depends on, transitively, in a stable order.
func dependencyDirs(pkgDir string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	var visit func(dir string) error
	visit = func(dir string) error {
		for _, name := range packageDeps(dir) {
			d := resolvePackage(dir, name)
			if d == "" || seen[d] {
				continue // an optional dependency not installed
			}
			seen[d] = true
			out = append(out, d)
			if err := visit(d); err != nil {
				return err
			}
		}
		return nil
	}
	err := visit(pkgDir)
	sort.Strings(out)
	return out, err
}

func packageDeps(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil
	}
	var p struct {
		Dependencies         map[string]string `json:"dependencies"`
		OptionalDependencies map[string]string `json:"optionalDependencies"`
	}
	_ = json.Unmarshal(b, &p)
	var names []string
	for n := range p.Dependencies {
		names = append(names, n)
	}
	for n := range p.OptionalDependencies {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func resolvePackage(from, name string) string {
	for d := from; ; d = filepath.Dir(d) {
		if filepath.Base(d) != "node_modules" {
			p := filepath.Join(d, "node_modules", filepath.FromSlash(name))
			if st, err := os.Stat(filepath.Join(p, "package.json")); err == nil && !st.IsDir() {
				return p
			}
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// entryDir is where a key's package copy is stored; its manifest lists each file's hash.
func (c *nativeCache) entryDir(key string) string { return filepath.Join(c.root, key) }

const manifestName = "manifest.json"

// entryManifest is what an entry holds: relative path -> sha256 (files) or "->target" (symlinks).
type entryManifest struct {
	Files map[string]string `json:"files"`
	Modes map[string]uint32 `json:"modes"`
}

// restore replaces pkgDir's contents (except its nested node_modules) with the cached
// copy; false when there is no entry or it does not match its manifest (then it is
// removed, and the package is built).
func (c *nativeCache) restore(key, pkgDir string) (bool, error) {
	entry := c.entryDir(key)
	b, err := os.ReadFile(filepath.Join(entry, manifestName))
	if err != nil {
		return false, nil
	}
	var m entryManifest
	if err := json.Unmarshal(b, &m); err != nil || len(m.Files) == 0 {
		_ = os.RemoveAll(entry)
		return false, nil
	}
	files := filepath.Join(entry, "pkg")
	if !verifyEntry(files, m) {
		_ = os.RemoveAll(entry)
		return false, nil
	}
	if err := clearPackage(pkgDir); err != nil {
		return false, err
	}
	return true, copyTree(files, pkgDir, nil)
}

// verifyEntry checks every file of a stored entry against its manifest, and that
// nothing is missing or extra.
func verifyEntry(files string, m entryManifest) bool {
	got := entryManifest{Files: map[string]string{}, Modes: map[string]uint32{}}
	if err := describeTree(files, &got); err != nil || len(got.Files) != len(m.Files) {
		return false
	}
	for p, sum := range m.Files {
		if got.Files[p] != sum || got.Modes[p] != m.Modes[p] {
			return false
		}
	}
	return true
}

// clearPackage removes everything in pkgDir but its nested node_modules.
func clearPackage(pkgDir string) error {
	ents, err := os.ReadDir(pkgDir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Name() == "node_modules" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(pkgDir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// store saves pkgDir as it stands after the final build (without nested node_modules)
// under key: written to a temporary directory, then renamed into place, so a reader
// sees a whole entry or none.
func (c *nativeCache) store(key, pkgDir string) error {
	if err := os.MkdirAll(c.root, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(c.root, ".tmp-"+key[:8]+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	files := filepath.Join(tmp, "pkg")
	if err := copyTree(pkgDir, files, map[string]bool{"node_modules": true}); err != nil {
		return err
	}
	m := entryManifest{Files: map[string]string{}, Modes: map[string]uint32{}}
	if err := describeTree(files, &m); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, manifestName), b, 0o644); err != nil {
		return err
	}
	entry := c.entryDir(key)
	_ = os.RemoveAll(entry) // a broken one (we hold the key's lock)
	return os.Rename(tmp, entry)
}

// describeTree records each file's sha256 and mode, each symlink's target.
func describeTree(root string, m *entryManifest) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		r := rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		m.Modes[r] = uint32(info.Mode())
		if d.Type()&fs.ModeSymlink != 0 {
			t, err := os.Readlink(p)
			m.Files[r] = "->" + t
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m.Files[r] = hex.EncodeToString(sum[:])
		return nil
	})
}

// copyTree copies files, directories and symlinks from src into dst (created), keeping
// permission bits, skipping directories whose name is in skip.
func copyTree(src, dst string, skip map[string]bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != src && skip[d.Name()] {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel(src, p))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(t, target)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm())
		}
		return nil
	})
}

// lockKeys takes the lock of every key, in sorted order (no deadlock between packagers
// sharing some packages), so a concurrent packager waits for our entry instead of
// compiling the same package.
func (c *nativeCache) lockKeys(ctx context.Context, entries []nativeEntry) (func(), error) {
	var keys []string
	for _, e := range entries {
		if !contains(keys, e.Key) {
			keys = append(keys, e.Key)
		}
	}
	sort.Strings(keys)
	var unlocks []func()
	release := func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}
	for _, k := range keys {
		u, err := nodedist.Lock(ctx, filepath.Join(c.root, k+".lock"))
		if err != nil {
			release()
			return nil, err
		}
		unlocks = append(unlocks, u)
	}
	return release, nil
}

// scriptPackages lists the names of packages under nm that npm rebuild runs something
// for: an install/preinstall/postinstall script, or a binding.gyp (npm's default install
// is node-gyp rebuild).
func scriptPackages(nm string) ([]string, error) {
	var names []string
	err := filepath.WalkDir(nm, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == nm {
				return filepath.SkipAll
			}
			return err
		}
		if d.IsDir() && p != nm && d.Name() != "node_modules" && !isPackageDir(p) && !strings.HasPrefix(d.Name(), "@") {
			return filepath.SkipDir // inside a package: only its node_modules hold packages
		}
		if !d.IsDir() || !isPackageDir(p) {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "package.json"))
		if err != nil {
			return nil
		}
		var pj struct {
			Name    string            `json:"name"`
			Scripts map[string]string `json:"scripts"`
		}
		_ = json.Unmarshal(b, &pj)
		_, gyp := os.Stat(filepath.Join(p, "binding.gyp"))
		has := gyp == nil || pj.Scripts["install"] != "" || pj.Scripts["preinstall"] != "" || pj.Scripts["postinstall"] != ""
		if has && pj.Name != "" && !contains(names, pj.Name) {
			names = append(names, pj.Name)
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// shortKey is a key as progress shows it.
func shortKey(k string) string { return k[:12] }
