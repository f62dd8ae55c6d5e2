package packaging

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/rudderctl/rudderctl/internal/testenv"
)

// writeFile writes content under dir, creating directories.
func writeFile(t *testing.T, dir, rel, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixtureErr  error
)

// fixtures builds, once per test binary, a trivial linux/amd64 bootstrap and real ELF
// shared objects standing in for native modules (gcc -shared).
func fixtures(t *testing.T) string {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureDir, fixtureErr = os.MkdirTemp("", "rudderctl-packaging-fixtures-")
		if fixtureErr != nil {
			return
		}
		d := fixtureDir
		mod := filepath.Join(d, "bootmod")
		os.MkdirAll(mod, 0o755)
		os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/boot\n\ngo 1.26\n"), 0o644)
		os.WriteFile(filepath.Join(mod, "main.go"), []byte("package main\n\nfunc main() { println(\"bootstrap\") }\n"), 0o644)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -buildid=", "-o", filepath.Join(d, "bootstrap"), ".")
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			fixtureErr = &fixtureError{"go build bootstrap", string(out)}
			return
		}
		if runtime.GOARCH != "amd64" {
			return
		}
		for name, src := range map[string]string{
			"v115.node": "#include <string.h>\nsize_t touch(const char*s){return strlen(s);}\nvoid node_register_module_v115(void){}\n",
			"v127.node": "#include <string.h>\nsize_t touch(const char*s){return strlen(s);}\nvoid node_register_module_v127(void){}\n",
			"napi.node": "#include <string.h>\nsize_t touch(const char*s){return strlen(s);}\nvoid* napi_register_module_v1(void*a,void*b){return b;}\n",
		} {
			c := filepath.Join(d, name+".c")
			os.WriteFile(c, []byte(src), 0o644)
			if out, err := exec.Command("gcc", "-shared", "-fPIC", "-g", "-o", filepath.Join(d, name), c).CombinedOutput(); err != nil {
				fixtureErr = &fixtureError{"gcc " + name, string(out)}
				return
			}
		}
		// Wrong architecture: a real x86_64 ELF with e_machine patched to EM_AARCH64.
		b, err := os.ReadFile(filepath.Join(d, "v127.node"))
		if err != nil {
			fixtureErr = err
			return
		}
		binary.LittleEndian.PutUint16(b[18:], 183) // EM_AARCH64
		fixtureErr = os.WriteFile(filepath.Join(d, "arm64-v127.node"), b, 0o755)
	})
	if fixtureErr != nil {
		t.Fatalf("building fixtures: %v", fixtureErr)
	}
	return fixtureDir
}

type fixtureError struct{ what, out string }

func (e *fixtureError) Error() string { return e.what + ": " + e.out }

func needNativeFixtures(t *testing.T) string {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skip("native fixtures are built with the host gcc and assume an x86_64 host")
	}
	testenv.LookPath(t, "gcc", "native fixtures are compiled with it")
	return fixtures(t)
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}
