package lambdalocal

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/testfn"
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

// dirBytes is the number of bytes in regular files under dir (0 when dir is gone).
func dirBytes(t *testing.T, dir string) (files int, size int64) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			st, _ := d.Info()
			files++
			size += st.Size()
		}
		return nil
	})
	return files, size
}

// TestUnzipRefusesBombs: code over Lambda's 250 MB unzipped limit is refused and nothing
// is left behind, whether one entry, many entries, or a header lying about the size.
func TestUnzipRefusesBombs(t *testing.T) {
	const over = MaxUnzippedBytes + 1<<20
	cases := map[string][]testfn.BombEntry{
		"one huge entry":                   {{Name: "huge.bin", N: over}},
		"many entries":                     {{Name: "a.bin", N: MaxUnzippedBytes / 2}, {Name: "b.bin", N: MaxUnzippedBytes / 2}, {Name: "c/d.bin", N: 2 << 20}},
		"header claims less than it holds": {{Name: "ok.txt", N: 10}, {Name: "liar.bin", N: over, Claim: 1000}},
		"header claims more than allowed":  {{Name: "liar.bin", N: 1000, Claim: MaxUnzippedBytes + 1}},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			z := testfn.WriteBombZip(t, entries...)
			for _, fresh := range []bool{true, false} {
				dir := filepath.Join(t.TempDir(), "root")
				if !fresh {
					if err := os.Mkdir(dir, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				err := Unzip(z, dir)
				if err == nil {
					t.Fatalf("Unzip accepted %v", entries)
				}
				if n, size := dirBytes(t, dir); n > 0 {
					t.Errorf("%d files (%d B) left in %s after: %v", n, size, dir, err)
				}
				if _, serr := os.Stat(dir); fresh == (serr == nil) {
					t.Errorf("root left behind = %v, want %v (Unzip made it: %v)", serr == nil, !fresh, fresh)
				}
				t.Logf("%v", err)
			}
		})
	}
}

// TestUnzipCountsWrittenBytes checks the limit on the bytes actually written, with the
// declared sizes not consulted, so that it holds whatever the headers say.
func TestUnzipCountsWrittenBytes(t *testing.T) {
	const limit = 1 << 20
	u := unzipper{limit: limit}
	cases := map[string][]testfn.BombEntry{
		"one entry":         {{Name: "big.bin", N: limit + 1}},
		"entries add up":    {{Name: "a.bin", N: limit / 2}, {Name: "d/b.bin", N: limit / 2}, {Name: "d/c.bin", N: 2}},
		"exactly the limit": {{Name: "a.bin", N: limit / 2}, {Name: "b.bin", N: limit / 2}},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "root")
			err := u.unzip(context.Background(), testfn.WriteBombZip(t, entries...), dir)
			if name == "exactly the limit" {
				if err != nil {
					t.Fatalf("%d B (the limit) refused: %v", limit, err)
				}
				if _, size := dirBytes(t, dir); size != limit {
					t.Errorf("wrote %d B, want %d", size, limit)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "250 MB") {
				t.Fatalf("over the limit: err = %v", err)
			}
			if _, serr := os.Stat(dir); serr == nil {
				t.Errorf("%s left behind", dir)
			}
		})
	}
}

// TestUnzipManyFiles unpacks enough entries to keep every worker busy and checks each.
func TestUnzipManyFiles(t *testing.T) {
	var entries []entry
	for i := range 500 {
		entries = append(entries, entry{fmt.Sprintf("node_modules/p%d/lib/f%d.js", i%23, i), 0o644, strings.Repeat(fmt.Sprint(i), i)})
	}
	entries = append(entries, entry{"node_modules/p1/lib/f1.js", 0o755, "last one wins"})
	dir := filepath.Join(t.TempDir(), "root")
	if err := Unzip(writeZip(t, entries), dir); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, e := range entries {
		want[e.name] = e.body
	}
	for name, body := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != body {
			t.Fatalf("%s: %d B, want %d (%v)", name, len(b), len(body), err)
		}
	}
	if n, _ := dirBytes(t, dir); n != len(want) {
		t.Errorf("%d files, want %d", n, len(want))
	}
	if err := Unzip(writeZip(t, entries[:1]), dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("unpacking into a non-empty directory: %v", err)
	}
}

func TestUnzipContextCancelled(t *testing.T) {
	var entries []entry
	for i := range 200 {
		entries = append(entries, entry{fmt.Sprintf("d%d/f%d", i%7, i), 0o644, "x"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := filepath.Join(t.TempDir(), "root")
	if err := UnzipContext(ctx, writeZip(t, entries), dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled unpack: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s left behind", dir)
	}
}
