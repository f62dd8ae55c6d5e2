package packaging

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rudderctl/rudderctl/internal/nodedist"
)

// fakeDist is a Node "distribution" with only the headers the key reads.
func fakeDist(t *testing.T, version, nodeVersionH string) nodedist.Dist {
	d := t.TempDir()
	writeFile(t, d, "include/node/node_version.h", nodeVersionH, 0o644)
	return nodedist.Dist{Version: version, Dir: d}
}

// addonTree writes node_modules/addon (with a dependency on nan) under a new directory.
func addonTree(t *testing.T) (dir string, pkg gypPackage) {
	dir = t.TempDir()
	writeFile(t, dir, "node_modules/addon/package.json", `{"name":"addon","dependencies":{"nan":"2"}}`, 0o644)
	writeFile(t, dir, "node_modules/addon/binding.gyp", `{"targets":[{"target_name":"addon","sources":["a.cc"]}]}`, 0o644)
	writeFile(t, dir, "node_modules/addon/a.cc", "int f() { return 1; }\n", 0o644)
	writeFile(t, dir, "node_modules/nan/package.json", `{"name":"nan"}`, 0o644)
	writeFile(t, dir, "node_modules/nan/nan.h", "#define NAN 1\n", 0o644)
	return dir, gypPackage{Dir: filepath.Join(dir, "node_modules/addon"), Name: "addon"}
}

func cacheKey(t *testing.T, dist nodedist.Dist, dir string, pkg gypPackage) string {
	t.Helper()
	c, err := openNativeCache(os.Environ(), dist, "x86_64")
	if err != nil || c == nil {
		t.Fatalf("openNativeCache: %v %v", c, err)
	}
	k, err := c.key(dir, pkg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestNativeCacheKey: the key follows the package's sources, its dependencies, the Node
// version and headers and the arch; not its build outputs or where the tree is.
func TestNativeCacheKey(t *testing.T) {
	t.Setenv("RUDDERCTL_CACHE", t.TempDir())
	t.Setenv(NativeCacheEnv, "")
	const h22 = "#define NODE_MAJOR_VERSION 22\n"
	dist := fakeDist(t, "22.23.5", h22)
	dir, pkg := addonTree(t)
	base := cacheKey(t, dist, dir, pkg)

	dir2, pkg2 := addonTree(t) // the same tree elsewhere (another staging directory)
	if k := cacheKey(t, dist, dir2, pkg2); k != base {
		t.Errorf("the same package in another directory got another key: %s vs %s", k, base)
	}
	writeFile(t, dir, "node_modules/addon/build/Release/addon.node", "old build", 0o755)
	writeFile(t, dir, "node_modules/addon/out/addon.node", "old build", 0o755)
	if k := cacheKey(t, dist, dir, pkg); k != base {
		t.Errorf("build outputs changed the key")
	}

	misses := map[string]func() string{
		"Node version": func() string { return cacheKey(t, fakeDist(t, "22.24.0", h22), dir, pkg) },
		"Node headers": func() string {
			return cacheKey(t, fakeDist(t, "22.23.5", h22+"#define NODE_MINOR_VERSION 24\n"), dir, pkg)
		},
		"source": func() string {
			d, p := addonTree(t)
			writeFile(t, d, "node_modules/addon/a.cc", "int f() { return 2; }\n", 0o644)
			return cacheKey(t, dist, d, p)
		},
		"dependency": func() string {
			d, p := addonTree(t)
			writeFile(t, d, "node_modules/nan/nan.h", "#define NAN 2\n", 0o644)
			return cacheKey(t, dist, d, p)
		},
		"arch": func() string {
			c, err := openNativeCache(os.Environ(), dist, "arm64")
			if err != nil {
				t.Fatal(err)
			}
			k, _ := c.key(dir, pkg)
			return k
		},
	}
	for what, k := range misses {
		if got := k(); got == base {
			t.Errorf("a change of the %s kept the key %s", what, base)
		}
	}
	t.Setenv("CXXFLAGS", os.Getenv("CXXFLAGS")+" -O3")
	if k := cacheKey(t, dist, dir, pkg); k == base {
		t.Errorf("a change of the user's CXXFLAGS kept the key %s", base)
	}

	t.Setenv(NativeCacheEnv, "off")
	if c, err := openNativeCache(os.Environ(), dist, "x86_64"); c != nil || err != nil {
		t.Errorf("%s=off still opened the cache: %v %v", NativeCacheEnv, c, err)
	}
}

// TestNativeCacheEntry: a stored entry restores the package as it was built (nested
// node_modules kept), and a damaged entry is refused and removed.
func TestNativeCacheEntry(t *testing.T) {
	t.Setenv("RUDDERCTL_CACHE", t.TempDir())
	t.Setenv(NativeCacheEnv, "")
	c, err := openNativeCache(os.Environ(), fakeDist(t, "22.23.5", "x"), "x86_64")
	if err != nil {
		t.Fatal(err)
	}
	dir, pkg := addonTree(t)
	writeFile(t, dir, "node_modules/addon/build/Release/addon.node", "built", 0o755)
	writeFile(t, dir, "node_modules/addon/node_modules/dep/package.json", `{"name":"dep"}`, 0o644)
	key, err := c.key(dir, pkg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.store(key, pkg.Dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(c.entryDir(key), "pkg/node_modules")); err == nil {
		t.Error("the entry holds the package's nested node_modules")
	}

	dst, dpkg := addonTree(t)
	writeFile(t, dst, "node_modules/addon/build/stale.o", "stale", 0o644)
	writeFile(t, dst, "node_modules/addon/node_modules/own/package.json", `{"name":"own"}`, 0o644)
	ok, err := c.restore(key, dpkg.Dir)
	if err != nil || !ok {
		t.Fatalf("restore: %v %v", ok, err)
	}
	if b, err := os.ReadFile(filepath.Join(dpkg.Dir, "build/Release/addon.node")); err != nil || string(b) != "built" {
		t.Errorf("restored addon.node: %q %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(dpkg.Dir, "build/Release/addon.node")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("restored addon.node mode: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(dpkg.Dir, "build/stale.o")); err == nil {
		t.Error("a file the cached build does not have survived the restore")
	}
	if _, err := os.Stat(filepath.Join(dpkg.Dir, "node_modules/own/package.json")); err != nil {
		t.Error("the restore removed the package's own nested node_modules")
	}

	// Damage the entry: it must be refused (and removed), never copied.
	writeFile(t, c.entryDir(key), "pkg/build/Release/addon.node", "truncat", 0o755)
	dst3, p3 := addonTree(t)
	if ok, err := c.restore(key, p3.Dir); ok || err != nil {
		t.Fatalf("a damaged entry was used: %v %v", ok, err)
	}
	if _, err := os.Stat(filepath.Join(dst3, "node_modules/addon/a.cc")); err != nil {
		t.Error("a refused entry still cleared the package")
	}
	if _, err := os.Stat(c.entryDir(key)); err == nil {
		t.Error("the damaged entry was kept")
	}
}
