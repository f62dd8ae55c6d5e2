package packaging

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rudderctl/rudderctl/internal/nodedist"
)

// sourceDateEpoch is what __DATE__/__TIME__ expand to in a native build (1980-01-01, the
// timestamp of every zip entry).
const sourceDateEpoch = "315532800"

// pinDirName holds the generated .symver headers inside the build directory.
const pinDirName = ".rudderctl-pins"

// buildNativeModules runs `npm rebuild` in dir (which holds node_modules) with the target
// Node, reproducibly, then makes every module it compiled loadable on Amazon Linux 2023:
// a module bound to a too-new glibc/libstdc++ symbol version is rebuilt once more with a
// force-included header pinning each such symbol to an older version the runtime has.
func buildNativeModules(ctx context.Context, dir string, dist nodedist.Dist, arch string, progress io.Writer) error {
	nm := filepath.Join(dir, "node_modules")
	gyp, err := gypPackages(nm)
	if err != nil {
		return err
	}
	what := "no package has a binding.gyp"
	if len(gyp) > 0 {
		what = "node-gyp for " + strings.Join(gypNames(gyp), ", ")
	}
	fmt.Fprintf(progress, "package: building native modules for Node %s (prebuilt binaries where a package ships them; %s)\n", dist.Version, what)
	env := reproducibleEnv(npmEnv(dist, arch), dir, dist.Dir, "")
	cache, err := openNativeCache(npmEnv(dist, arch), dist, arch)
	if err != nil {
		return err
	}
	if cache == nil || len(gyp) == 0 {
		if cache == nil && len(gyp) > 0 {
			fmt.Fprintf(progress, "package: %s=off: native packages are compiled, not taken from the cache\n", NativeCacheEnv)
		}
		if err := runNpm(ctx, dir, env, progress, "rebuild"); err != nil {
			return err
		}
		return pinTooNewSymbols(ctx, dir, gyp, dist, arch, progress)
	}
	entries, err := cacheEntries(cache, dir, gyp)
	if err != nil {
		return err
	}
	unlock, err := cache.lockKeys(ctx, entries)
	if err != nil {
		return err
	}
	defer unlock()
	hits, err := restoreFromCache(cache, dir, entries, progress)
	if err != nil {
		return err
	}
	var misses []gypPackage
	for _, e := range entries {
		if !hits[e.Pkg.Name] {
			misses = append(misses, e.Pkg)
		}
	}
	if err := rebuildMisses(ctx, dir, env, hits, progress); err != nil {
		return err
	}
	if err := pinTooNewSymbols(ctx, dir, misses, dist, arch, progress); err != nil {
		return err
	}
	for _, e := range entries {
		if hits[e.Pkg.Name] {
			continue
		}
		if err := cache.store(e.Key, e.Pkg.Dir); err != nil {
			return fmt.Errorf("storing the build of %s in the native cache %s: %w (set %s=off to build without the cache)", rel(dir, e.Pkg.Dir), cache.root, err, NativeCacheEnv)
		}
		fmt.Fprintf(progress, "package: %s: build stored in the cache (key %s)\n", e.Pkg.Name, shortKey(e.Key))
	}
	return nil
}

// cacheEntries keys every gyp package copy as installed, before anything is built.
func cacheEntries(cache *nativeCache, dir string, gyp []gypPackage) ([]nativeEntry, error) {
	var out []nativeEntry
	for _, p := range gyp {
		k, err := cache.key(dir, p)
		if err != nil {
			return nil, fmt.Errorf("hashing %s for the native cache: %w", rel(dir, p.Dir), err)
		}
		out = append(out, nativeEntry{Pkg: p, Key: k})
	}
	return out, nil
}

// restoreFromCache copies the cached build of each package whose every copy has an
// entry; a package with any copy missing is built whole (npm rebuild NAME rebuilds every
// copy).
func restoreFromCache(cache *nativeCache, dir string, entries []nativeEntry, progress io.Writer) (map[string]bool, error) {
	hits := map[string]bool{}
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(cache.entryDir(e.Key), manifestName)); err != nil {
			hits[e.Pkg.Name] = false
		} else if _, seen := hits[e.Pkg.Name]; !seen {
			hits[e.Pkg.Name] = true
		}
	}
	for _, e := range entries {
		if !hits[e.Pkg.Name] {
			continue
		}
		ok, err := cache.restore(e.Key, e.Pkg.Dir)
		if err != nil {
			return nil, fmt.Errorf("copying the cached build of %s: %w", rel(dir, e.Pkg.Dir), err)
		}
		if !ok {
			// Removed; npm rebuild NAME rebuilds every copy, also any restored already.
			hits[e.Pkg.Name] = false
			fmt.Fprintf(progress, "package: %s: the cache entry (key %s) did not match its manifest: removed, building it\n", e.Pkg.Name, shortKey(e.Key))
			continue
		}
		fmt.Fprintf(progress, "package: %s: rebuilt build reused from the cache (key %s)\n", e.Pkg.Name, shortKey(e.Key))
	}
	return hits, nil
}

// rebuildMisses runs npm rebuild for everything but the packages restored from the
// cache: plain `npm rebuild` when nothing was, `npm rebuild NAME...` for the other
// packages with install scripts otherwise, nothing when none is left.
func rebuildMisses(ctx context.Context, dir string, env []string, hits map[string]bool, progress io.Writer) error {
	anyHit := false
	for _, h := range hits {
		anyHit = anyHit || h
	}
	if !anyHit {
		return runNpm(ctx, dir, env, progress, "rebuild")
	}
	names, err := scriptPackages(filepath.Join(dir, "node_modules"))
	if err != nil {
		return err
	}
	var rest []string
	for _, n := range names {
		if !hits[n] {
			rest = append(rest, n)
		}
	}
	if len(rest) == 0 {
		fmt.Fprintf(progress, "package: every package with a build script came from the cache: npm rebuild not run\n")
		return nil
	}
	return runNpm(ctx, dir, env, progress, append([]string{"rebuild"}, rest...)...)
}

// gypPackage is a package in node_modules that compiles with node-gyp.
type gypPackage struct {
	Dir  string // absolute
	Name string // from its package.json
}

// gypPackages lists the packages under nm that have a binding.gyp.
func gypPackages(nm string) ([]gypPackage, error) {
	var out []gypPackage
	err := filepath.WalkDir(nm, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == nm {
				return filepath.SkipAll
			}
			return err
		}
		if d.IsDir() && d.Name() == "build" && p != nm {
			return filepath.SkipDir // node-gyp output (and copies of binding.gyp in it)
		}
		if d.IsDir() || d.Name() != "binding.gyp" {
			return nil
		}
		pkg := filepath.Dir(p)
		if !isPackageDir(pkg) {
			return nil // an example or test inside a package (isolated-vm/native-example)
		}
		if name := packageName(pkg); name != "" {
			out = append(out, gypPackage{Dir: pkg, Name: name})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	return out, err
}

// isPackageDir reports whether dir is an installed package: node_modules/NAME or
// node_modules/@SCOPE/NAME.
func isPackageDir(dir string) bool {
	parent := filepath.Dir(dir)
	if strings.HasPrefix(filepath.Base(parent), "@") {
		parent = filepath.Dir(parent)
	}
	return filepath.Base(parent) == "node_modules"
}

func gypNames(pkgs []gypPackage) []string {
	var names []string
	for _, p := range pkgs {
		if !contains(names, p.Name) {
			names = append(names, p.Name)
		}
	}
	return names
}

func packageName(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return ""
	}
	var p struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(b, &p)
	return p.Name
}

// reproducibleEnv adds the compiler and linker flags that make two builds of the same
// sources byte-identical wherever they run: no build id, no build-directory or header
// paths (debug info, __FILE__), fixed __DATE__/__TIME__. pinHeader, if set, is
// force-included into every C and C++ compile (node-gyp's Makefiles append the
// environment's CFLAGS/CXXFLAGS/LDFLAGS to their own).
func reproducibleEnv(env []string, dir, nodeDir, pinHeader string) []string {
	flags := []string{"-ffile-prefix-map=" + dir + "=."}
	if nodeDir != "" {
		flags = append(flags, "-ffile-prefix-map="+nodeDir+"=/node")
	}
	if pinHeader != "" {
		flags = append(flags, "-include", pinHeader)
	}
	for _, k := range []string{"CFLAGS", "CXXFLAGS"} {
		env = setEnv(env, k, strings.TrimSpace(getEnv(env, k)+" "+strings.Join(flags, " ")))
	}
	env = setEnv(env, "LDFLAGS", strings.TrimSpace(getEnv(env, "LDFLAGS")+" -Wl,--build-id=none"))
	if getEnv(env, "SOURCE_DATE_EPOCH") == "" {
		env = setEnv(env, "SOURCE_DATE_EPOCH", sourceDateEpoch)
	}
	return env
}

func getEnv(env []string, k string) string {
	v := ""
	for _, e := range env {
		if s, ok := strings.CutPrefix(e, k+"="); ok {
			v = s
		}
	}
	return v
}

// builtModule is a compiled .node file of a gyp package and what it needs that is too new.
type builtModule struct {
	Path  string
	Needs []SymbolNeed
}

// tooNewModules lists the .node files of pkg (its build/ output or wherever its build
// script puts them; not prebuilt candidates for other platforms, not nested packages)
// that bind a too-new version.
func tooNewModules(pkg gypPackage) ([]builtModule, error) {
	var out []builtModule
	err := filepath.WalkDir(pkg.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".node") || isPrebuild(rel(pkg.Dir, p)) {
			return nil
		}
		f, err := elf.Open(p)
		if err != nil {
			return nil // not ELF: the native check reports it
		}
		defer f.Close()
		needs, err := tooNewImports(f)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		if len(needs) > 0 {
			out = append(out, builtModule{Path: p, Needs: needs})
		}
		return nil
	})
	return out, err
}

// pinTooNewSymbols rebuilds, once, each gyp package whose fresh build binds a symbol
// version newer than Amazon Linux 2023 has, with those symbols pinned to older versions,
// and checks the result really binds only versions the runtime has.
func pinTooNewSymbols(ctx context.Context, dir string, pkgs []gypPackage, dist nodedist.Dist, arch string, progress io.Writer) error {
	rebuilt := map[string]bool{}
	for _, pkg := range pkgs {
		if rebuilt[pkg.Name] {
			continue // `npm rebuild NAME` rebuilt every copy of it
		}
		mods, err := tooNewModules(pkg)
		if err != nil {
			return err
		}
		if len(mods) == 0 {
			continue
		}
		var needs []SymbolNeed
		for _, m := range mods {
			needs = append(needs, m.Needs...)
		}
		pins, unpinnable, err := planPins(needs)
		if err != nil {
			return err
		}
		if len(unpinnable) > 0 {
			return fmt.Errorf("%s cannot be made to load on Amazon Linux 2023: no older version of these symbols exists in this machine's libraries: %s\nthe module uses functions added after glibc %s / GCC 11; build node_modules on Amazon Linux 2023 (e.g. in the public.ecr.aws/lambda/nodejs image), or use a version of %s with prebuilt binaries",
				rel(dir, pkg.Dir), strings.Join(describeSymbols(unpinnable), ", "), MaxGLIBC, pkg.Name)
		}
		hdr, err := writePinHeader(dir, pkg.Name, pins)
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, "package: %s binds %d symbol(s) newer than Amazon Linux 2023 has; rebuilding it with them pinned (%s):\n", pkg.Name, len(pins), rel(dir, hdr))
		for _, p := range pins {
			fmt.Fprintf(progress, "package:   %s %s -> %s\n", demangle(p.Name), p.From, p.To)
		}
		// Compile even if the package's script could fetch a prebuilt binary instead.
		env := setEnv(reproducibleEnv(npmEnv(dist, arch), dir, dist.Dir, hdr), "npm_config_build_from_source", "true")
		if err := runNpm(ctx, dir, env, progress, "rebuild", pkg.Name); err != nil {
			return fmt.Errorf("rebuilding %s with pinned symbol versions: %w", pkg.Name, err)
		}
		rebuilt[pkg.Name] = true
		for _, other := range pkgs {
			if other.Name != pkg.Name {
				continue
			}
			left, err := tooNewModules(other)
			if err != nil {
				return err
			}
			if len(left) > 0 {
				m := left[0]
				return fmt.Errorf("%s still needs %s after rebuilding with the symbols pinned (link-time optimisation or a static libstdc++ can defeat .symver): build node_modules on Amazon Linux 2023 instead", rel(dir, m.Path), strings.Join(describeSymbols(m.Needs), ", "))
			}
		}
	}
	return nil
}

func describeSymbols(needs []SymbolNeed) []string {
	var out []string
	for _, n := range needs {
		out = append(out, fmt.Sprintf("%s@%s (%s)", demangle(n.Name), n.Version, orDash(n.Library)))
	}
	return out
}

// writePinHeader writes the .symver header for one package inside the build directory,
// under a name that does not depend on where that directory is.
func writePinHeader(dir, pkgName string, pins []Pin) (string, error) {
	d := filepath.Join(dir, pinDirName)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	name := strings.NewReplacer("/", "+", "@", "").Replace(pkgName) + ".h"
	p := filepath.Join(d, name)
	return p, os.WriteFile(p, pinHeader(pins), 0o644)
}

func rel(base, p string) string {
	if r, err := filepath.Rel(base, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}
