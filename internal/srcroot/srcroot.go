// Package srcroot finds the rudderctl source checkout a command runs from: the directory
// whose go.mod declares ModulePath. Packaging needs it to build the adapter, local runs to
// run the Runtime Interface Emulator pinned as a tool in go.mod.
package srcroot

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// ModulePath is this repository's Go module.
const ModulePath = "github.com/rudderctl/rudderctl"

// ErrNotFound is returned by Find outside a rudderctl checkout; callers say what to do instead.
var ErrNotFound = errors.New("no go.mod of " + ModulePath + " above the working directory or the rudderctl executable")

// Find walks up from the working directory, then from the (symlink-resolved) executable's
// directory, to a go.mod declaring ModulePath, and returns its directory.
func Find() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		starts = append(starts, filepath.Dir(exe))
	}
	for _, d := range starts {
		for {
			if IsRoot(d) {
				return d, nil
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return "", ErrNotFound
}

// IsRoot reports whether dir holds a go.mod declaring ModulePath.
func IsRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == ModulePath
		}
	}
	return false
}
