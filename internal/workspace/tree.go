package workspace

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// readInside reads a file named relative to dir, refusing anything that leaves dir: an
// absolute path, a `..` step, or a symlink (of the file or a folder on the way) that
// points outside. what names the entry in errors.
func readInside(dir, rel, what string) ([]byte, error) {
	if rel == "" {
		return nil, fmt.Errorf("%s has no file: name its .js file, relative to the workspace file", what)
	}
	if filepath.IsAbs(rel) {
		return nil, fmt.Errorf("%s: file %q is absolute: name it relative to the workspace file's directory (%s)", what, rel, dir)
	}
	clean := filepath.Clean(rel)
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("%s: file %q leaves the workspace directory %s: keep function files inside it", what, rel, dir)
	}
	if filepath.Ext(clean) != ".js" {
		return nil, fmt.Errorf("%s: file %q is not a .js file: user functions and libraries are JavaScript files ending in .js", what, rel)
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: resolving the workspace directory %s: %w", what, dir, err)
	}
	full := filepath.Join(dir, clean)
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: file %s does not exist: create it or fix the path (relative to %s)", what, rel, dir)
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if r, err := filepath.Rel(realDir, real); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("%s: file %s is a symlink to %s, outside the workspace directory %s: copy the file into the workspace instead", what, rel, real, dir)
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s is not a regular file", what, rel)
	}
	return os.ReadFile(real)
}

// SyntaxChecker checks that code parses as a JavaScript module; name is for messages.
type SyntaxChecker func(ctx context.Context, name string, code []byte) error

// NodeChecker checks syntax with `node --check` on a copy named .mjs: user functions are
// ES modules (`export function transformEvent`), and node checks a .js file as CommonJS.
// node is the binary ("" finds node on PATH).
func NodeChecker(node string) SyntaxChecker {
	return func(ctx context.Context, name string, code []byte) error {
		key := sha256.Sum256(code)
		if _, ok := parsedOK.Load(key); ok {
			return nil
		}
		if err := nodeCheck(ctx, node, name, code); err != nil {
			return err
		}
		parsedOK.Store(key, true)
		return nil
	}
}

// parsedOK remembers code that parsed: a process renders the same files repeatedly.
var parsedOK sync.Map // sha256 -> true

// nodeCheck runs node --check on a temporary .mjs copy of code.
func nodeCheck(ctx context.Context, node, name string, code []byte) error {
	bin := node
	if bin == "" {
		p, err := exec.LookPath("node")
		if err != nil {
			return errors.New("node not found on PATH: it checks that function files parse; install Node.js >= 20 or put it on PATH")
		}
		bin = p
	}
	tmp, err := os.MkdirTemp("", "rudderctl-jscheck-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	file := filepath.Join(tmp, "function.mjs")
	if err := os.WriteFile(file, code, 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--check", file)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			return fmt.Errorf("running %s --check: %w", bin, err)
		}
		return fmt.Errorf("%s does not parse as JavaScript: %s; fix the code", name, nodeSyntaxError(out.String(), file, name))
	}
	return nil
}

// nodeSyntaxError turns node's report (location line, code line, caret line, error line,
// stack) into "file:line: SyntaxError: ...: `code`", naming the user's file, not the copy.
func nodeSyntaxError(out, tmpFile, name string) string {
	out = strings.ReplaceAll(out, tmpFile, name)
	var loc, code, msg string
	for i, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case i == 0 && strings.HasPrefix(t, name+":"):
			loc = t
		case i == 1 && loc != "":
			code = t
		case msg == "" && strings.Contains(t, "Error") && !strings.HasPrefix(t, "at "):
			msg = t
		}
	}
	switch {
	case msg == "":
		return strings.TrimSpace(out)
	case loc == "":
		return msg
	case code == "":
		return loc + ": " + msg
	}
	return loc + ": " + msg + ": `" + code + "`"
}

var (
	importFromPattern = regexp.MustCompile(`(?m)^\s*import\s+[^;'"]*?\bfrom\s*["']([^"']+)["']`)
	importBarePattern = regexp.MustCompile(`(?m)^\s*import\s*["']([^"']+)["']`)
	entryPattern      = regexp.MustCompile(`\btransform(Event|Batch)\b`)
)

// importsOf lists the module names code imports statically (what the transformer matches
// against library names).
func importsOf(code []byte) []string {
	var names []string
	seen := map[string]bool{}
	for _, p := range []*regexp.Regexp{importFromPattern, importBarePattern} {
		for _, m := range p.FindAllSubmatch(code, -1) {
			n := string(m[1])
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names
}
