package srcroot

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFindFromThisCheckout(t *testing.T) {
	root, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "srcroot", "srcroot.go")); err != nil {
		t.Errorf("Find = %s, which does not hold this package: %v", root, err)
	}
}

func TestIsRoot(t *testing.T) {
	for body, want := range map[string]bool{
		"module " + ModulePath + "\n\ngo 1.26\n":          true,
		"// c\nmodule \"" + ModulePath + "\"\n":           true,
		"module\t" + ModulePath + " // ours\n":            true,
		"module " + ModulePath + "/sub\n":                 false,
		"module example.com/other\n":                      false,
		"go 1.26\n":                                       false,
		"modulegithub.com/rudderctl/rudderctl\ngo 1.26\n": false,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := IsRoot(dir); got != want {
			t.Errorf("IsRoot(%q) = %v, want %v", body, got, want)
		}
	}
	if IsRoot(t.TempDir()) {
		t.Error("IsRoot of a directory without go.mod")
	}
}

func TestNotFound(t *testing.T) {
	// The test binary lives in a temporary directory, so from another one nothing is found.
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	if IsRoot(filepath.Dir(exe)) {
		t.Skip("the test binary sits in a checkout")
	}
	t.Chdir(t.TempDir())
	if _, err := Find(); !errors.Is(err, ErrNotFound) {
		t.Errorf("outside a checkout: %v, want ErrNotFound", err)
	}
}
