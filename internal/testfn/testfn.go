// Package testfn is test support, imported only from _test.go files (never by rudderctl's
// commands): it builds tiny Go Lambda functions (aws-lambda-go) and lays them out as a
// rudderctl task root or zip (docs/CONTRACTS.md §1) — the function as rudderctl-bootstrap
// behind rudderctl-wrapper, optionally with a manifest and more files — so tests can run them
// in the Runtime Interface Emulator, the local cloud or a deploy.
//
// What a function does is the Go source of its main package; each test package keeps its own
// under testdata/ and passes that directory to Build.
package testfn

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/lambda/manifest"
)

type build struct {
	once sync.Once
	path string
	err  error
}

var (
	mu     sync.Mutex
	builds = map[string]*build{} // by absolute package directory
	binDir string                // where the binaries go; removed by Cleanup
)

// Build compiles the Go main package in dir (e.g. "./testdata/fn", relative to the test's
// working directory, which is its package directory) for linux and the host architecture,
// with CGO off and -trimpath, once per test binary, and returns the binary's path. A failed
// build fails the test.
func Build(t testing.TB, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	b := builds[abs]
	if b == nil {
		b = &build{}
		builds[abs] = b
	}
	mu.Unlock()
	b.once.Do(func() { b.path, b.err = goBuild(abs) })
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func goBuild(dir string) (string, error) {
	mu.Lock()
	if binDir == "" {
		d, err := os.MkdirTemp("", "rudderctl-testfn-")
		if err != nil {
			mu.Unlock()
			return "", err
		}
		binDir = d
	}
	out := filepath.Join(binDir, filepath.Base(dir)+"-"+strconv.Itoa(len(builds)))
	mu.Unlock()
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the test function %s: %v\n%s", dir, err, msg)
	}
	return out, nil
}

// Cleanup removes the binaries Build made; call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if binDir != "" {
		os.RemoveAll(binDir)
		binDir = ""
		builds = map[string]*build{}
	}
}

// HostArch is the Lambda architecture of this machine: arm64 or x86_64.
func HostArch() string {
	if runtime.GOARCH == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

// File is one file of a task root.
type File struct {
	Name string // slash path relative to the task root
	Mode fs.FileMode
	Data []byte
}

// Files is a task root around the function binary bin: rudderctl-wrapper and bin as
// rudderctl-bootstrap, then the manifest m unless it is nil, then extra.
func Files(t testing.TB, bin string, m *manifest.Manifest, extra ...File) []File {
	t.Helper()
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	files := []File{
		{manifest.WrapperName, 0o755, []byte(manifest.WrapperScript)},
		{manifest.BootstrapName, 0o755, b},
	}
	if m != nil {
		files = append(files, File{manifest.FileName, 0o644, m.Bytes()})
	}
	return append(files, extra...)
}

// TaskRoot writes files into a new t.TempDir() and returns it.
func TaskRoot(t testing.TB, files []File) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Zip is files as a zip, in order and with a fixed time: the same files give the same bytes
// (and CodeSha256).
func Zip(t testing.TB, files []File) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		h.SetMode(f.Mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// WriteZip writes Zip(files) to name in a new t.TempDir() and returns its path.
func WriteZip(t testing.TB, name string, files []File) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, Zip(t, files), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
