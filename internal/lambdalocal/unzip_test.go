package lambdalocal

import (
	"archive/zip"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name string
	mode fs.FileMode
	body string
}

func writeZip(t *testing.T, entries []entry) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "code.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func TestUnzipKeepsModes(t *testing.T) {
	z := writeZip(t, []entry{
		{"rudderctl-wrapper", 0o755, "#!/bin/sh\n"},
		{"rudderctl-lambda.json", 0o644, "{}"},
		{"dist/", fs.ModeDir | 0o755, ""},
		{"dist/src/index.js", 0o644, "x"},
		{"node_modules/.bin/tool", fs.ModeSymlink | 0o777, "../tool/cli.js"},
		{"node_modules/tool/cli.js", 0o755, "y"},
		{"noperm", 0, "z"},
	})
	dir := filepath.Join(t.TempDir(), "root")
	if err := Unzip(z, dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{
		"rudderctl-wrapper": 0o755, "rudderctl-lambda.json": 0o644, "dist/src/index.js": 0o644,
		"node_modules/tool/cli.js": 0o755, "noperm": 0o644, "dist": fs.ModeDir | 0o755,
	} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, st.Mode(), want)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "node_modules/.bin/tool"))
	if err != nil || string(b) != "y" {
		t.Errorf("symlink: %q %v", b, err)
	}
}

func TestUnzipRefusesEscapes(t *testing.T) {
	cases := map[string][]entry{
		"dotdot":        {{"../evil", 0o644, "x"}},
		"nested dotdot": {{"a/../../evil", 0o644, "x"}},
		"absolute":      {{"/tmp/evil", 0o644, "x"}},
		"symlink out":   {{"link", fs.ModeSymlink | 0o777, "../../etc"}},
		"symlink abs":   {{"link", fs.ModeSymlink | 0o777, "/etc"}},
		"through link":  {{"d", fs.ModeSymlink | 0o777, "sub"}, {"sub/", fs.ModeDir | 0o755, ""}, {"d/x", 0o644, "x"}},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			z := writeZip(t, entries)
			parent := t.TempDir()
			err := Unzip(z, filepath.Join(parent, "root"))
			if err == nil {
				t.Fatalf("Unzip accepted %v", entries)
			}
			if _, err := os.Stat(filepath.Join(parent, "evil")); err == nil {
				t.Errorf("file written outside the task root")
			}
		})
	}
	if err := Unzip(filepath.Join(t.TempDir(), "missing.zip"), t.TempDir()); err == nil || !strings.Contains(err.Error(), "missing.zip") {
		t.Errorf("missing zip: %v", err)
	}
}
