package packaging

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSymlinksOutsideTheTreeAreRefused: a link whose target (after every link of a chain)
// is outside the app directory is refused, naming the link and its target, and nothing is
// written; links that stay inside are followed (issue #7 item 1).
func TestSymlinksOutsideTheTreeAreRefused(t *testing.T) {
	fx := fixtures(t)
	outside := t.TempDir()
	writeFile(t, outside, "secret.js", "module.exports = 'outside'\n", 0o644)
	writeFile(t, outside, "pkg/index.js", "module.exports = 'outside pkg'\n", 0o644)
	writeFile(t, outside, "node_modules/x/index.js", "", 0o644)

	cases := []struct {
		name  string
		links map[string]string // link (relative to src) -> target
		want  []string          // "" = builds
		inZip map[string]string // zip path -> content, when it builds
	}{
		{"file outside", map[string]string{"dist/secret.js": filepath.Join(outside, "secret.js")},
			[]string{"symlink dist/secret.js", filepath.Join(outside, "secret.js"), "outside the app directory"}, nil},
		{"directory outside", map[string]string{"dist/lib": filepath.Join(outside, "pkg")},
			[]string{"symlink dist/lib", filepath.Join(outside, "pkg"), "outside the app directory"}, nil},
		{"chain inside->inside->outside", map[string]string{"dist/a.js": "b.js", "dist/b.js": "c.js", "dist/c.js": filepath.Join(outside, "secret.js")},
			[]string{"symlink dist/a.js", "b.js -> ... -> " + filepath.Join(outside, "secret.js")}, nil},
		{"package linked from outside", map[string]string{"node_modules/ext": filepath.Join(outside, "pkg")},
			[]string{"symlink node_modules/ext", filepath.Join(outside, "pkg")}, nil},
		{"node_modules itself outside", map[string]string{"node_modules": filepath.Join(outside, "node_modules")},
			[]string{"symlink node_modules", filepath.Join(outside, "node_modules")}, nil},
		{"links inside are followed", map[string]string{"dist/alias.js": "real.js", "dist/more": "../lib", "node_modules/.bin/tool": filepath.Join(outside, "secret.js")},
			nil, map[string]string{"dist/alias.js": "module.exports = 'real'\n", "dist/more/util.js": "exports.u = 1\n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := t.TempDir()
			writeFile(t, src, "package.json", `{"main":"dist/index.js"}`, 0o644)
			writeFile(t, src, "dist/index.js", "require('./real')\n", 0o644)
			writeFile(t, src, "dist/real.js", "module.exports = 'real'\n", 0o644)
			writeFile(t, src, "lib/util.js", "exports.u = 1\n", 0o644)
			for link, target := range c.links {
				p := filepath.Join(src, filepath.FromSlash(link))
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.Symlink(target, p); err != nil {
					t.Fatal(err)
				}
			}
			outDir := t.TempDir()
			rep, err := Build(context.Background(), Options{Src: src, Out: filepath.Join(outDir, "s.zip"), Bootstrap: filepath.Join(fx, "bootstrap"), Progress: io.Discard})
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				files := zipNames(t, rep.Zip)
				for name, content := range c.inZip {
					f := files[name]
					if f == nil {
						t.Fatalf("zip lacks %s", name)
					}
					rc, _ := f.Open()
					b, _ := io.ReadAll(rc)
					rc.Close()
					if string(b) != content {
						t.Errorf("%s = %q, want %q", name, b, content)
					}
				}
				return
			}
			if err == nil {
				t.Fatal("a link out of the app directory was accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
				t.Errorf("something was written: %v", ents)
			}
		})
	}
}
