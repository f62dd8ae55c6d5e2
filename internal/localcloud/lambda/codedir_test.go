package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rudderctl/rudderctl/internal/testfn"
)

// storeTestZip writes a zip as the cloud stores code and returns its hex sha.
func storeTestZip(t *testing.T, stateDir string, data []byte) string {
	t.Helper()
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	must(t, os.MkdirAll(filepath.Join(stateDir, "code"), 0o755))
	must(t, os.WriteFile(filepath.Join(stateDir, "code", h+".zip"), data, 0o644))
	return h
}

// leftovers lists what is in STATE/tasks besides complete task dirs.
func leftovers(t *testing.T, stateDir string) []string {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(stateDir, "tasks"))
	var out []string
	for _, e := range ents {
		if len(e.Name()) != 64 {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestTaskDirsUnpackOnce(t *testing.T) {
	state := t.TempDir()
	files := []testfn.File{{Name: "rudderctl-wrapper", Mode: 0o755, Data: []byte("#!/bin/sh\n")}}
	seen := map[string]bool{}
	for i := range 300 {
		name := filepath.Join("node_modules", "p"+string(rune('a'+i%26)), "f"+strings.Repeat("x", i%40)+".js")
		if !seen[name] {
			seen[name] = true
			files = append(files, testfn.File{Name: name, Mode: 0o644, Data: []byte(strings.Repeat("y", i))})
		}
	}
	h := storeTestZip(t, state, testfn.Zip(t, files))
	// What an interrupted earlier run left: never used, swept at start.
	must(t, os.MkdirAll(filepath.Join(state, "tasks", unpackPrefix+h+"-123", "half"), 0o755))
	var unpacks atomic.Int32
	zipPath := func(hx string) string { unpacks.Add(1); return filepath.Join(state, "code", hx+".zip") }
	td := newTaskDirs(state, zipPath, t.Logf)
	defer td.close()
	if l := leftovers(t, state); len(l) > 0 {
		t.Fatalf("not swept at start: %v", l)
	}
	var wg sync.WaitGroup
	dirs := make([]string, 8)
	errs := make([]error, 8)
	for i := range dirs {
		wg.Go(func() { dirs[i], errs[i] = td.get(context.Background(), h) })
	}
	td.prepare([]string{h, h})
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil || dirs[i] != filepath.Join(state, "tasks", h) {
			t.Fatalf("get %d: %q %v", i, dirs[i], errs[i])
		}
	}
	if n := unpacks.Load(); n != 1 {
		t.Errorf("unpacked %d times, want once", n)
	}
	if st, err := os.Stat(filepath.Join(dirs[0], "rudderctl-wrapper")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("wrapper: %v %v", st, err)
	}
	// Already on disk (e.g. after a restart): no unpack.
	td2 := newTaskDirs(state, zipPath, t.Logf)
	defer td2.close()
	if d, err := td2.get(context.Background(), h); err != nil || d != dirs[0] {
		t.Fatalf("second get: %q %v", d, err)
	}
	if n := unpacks.Load(); n != 1 {
		t.Errorf("unpacked %d times after a restart, want once", n)
	}
	td2.drop(h)
	td2.close()
	if _, err := os.Stat(dirs[0]); err == nil {
		t.Errorf("dropped task dir still there")
	}
	if l := leftovers(t, state); len(l) > 0 {
		t.Errorf("left after drop: %v", l)
	}
}

// A zip that fails half-way (here a header that understates its entry) leaves no task dir
// and no partial one, and the failure is reported again on the next get, not hidden.
func TestTaskDirsRefusedZipLeavesNothing(t *testing.T) {
	state := t.TempDir()
	good := testfn.Zip(t, []testfn.File{{Name: "a.js", Mode: 0o644, Data: []byte("a")}})
	bad := lyingZip(t)
	hg, hb := storeTestZip(t, state, good), storeTestZip(t, state, bad)
	td := newTaskDirs(state, func(hx string) string { return filepath.Join(state, "code", hx+".zip") }, t.Logf)
	defer td.close()
	for range 2 {
		if _, err := td.get(context.Background(), hb); err == nil || !strings.Contains(err.Error(), "does not match its header") {
			t.Fatalf("lying zip: %v", err)
		}
		if _, err := os.Stat(filepath.Join(state, "tasks", hb)); err == nil {
			t.Fatalf("a task dir exists for the refused zip")
		}
		if l := leftovers(t, state); len(l) > 0 {
			t.Fatalf("partial unpack left: %v", l)
		}
	}
	if _, err := td.get(context.Background(), hg); err != nil {
		t.Fatal(err)
	}
}

// lyingZip has one entry whose headers declare 10 bytes and whose data holds 1 MB.
func lyingZip(t *testing.T) []byte {
	t.Helper()
	z := testfn.Zip(t, []testfn.File{{Name: "liar.bin", Mode: 0o644, Data: make([]byte, 1<<20)}})
	// Patch the uncompressed size (local header offset 22, central directory offset 24).
	local := []byte("PK\x03\x04")
	central := []byte("PK\x01\x02")
	li, ci := indexOf(z, local), indexOf(z, central)
	if li < 0 || ci < 0 {
		t.Fatal("zip headers not found")
	}
	for _, off := range []int{li + 22, ci + 24} {
		z[off], z[off+1], z[off+2], z[off+3] = 10, 0, 0, 0
	}
	return z
}

func indexOf(b, sub []byte) int { return strings.Index(string(b), string(sub)) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
