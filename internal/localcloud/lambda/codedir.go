package lambda

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/lambdalocal"
)

// taskDirs keeps each stored zip unpacked once, in STATE/tasks/<sha256 hex>, for every
// environment of every function that runs that code. A task dir only ever appears
// complete: the zip is unpacked into a temporary sibling and renamed into place, so a
// crash or a refused zip never leaves a half-unpacked dir that a later start would use.
// Code is unpacked as soon as a version refers to it (as Lambda prepares a function while
// it is Pending), so the first invocation after a deploy does not pay for it.
type taskDirs struct {
	root    string // STATE/tasks
	zipPath func(hexSha string) string
	logf    func(format string, args ...any)

	ctx  context.Context // cancelled by close: stops unpacks in flight
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu      sync.Mutex
	jobs    map[string]*unpackJob // in flight, by hex sha
	ready   map[string]bool       // known to be on disk
	refused map[string]bool       // failed in the background: not retried there
}

type unpackJob struct {
	done    chan struct{}
	err     error
	dropped bool // the zip was deleted meanwhile: remove the result
}

func newTaskDirs(stateDir string, zipPath func(string) string, logf func(string, ...any)) *taskDirs {
	ctx, stop := context.WithCancel(context.Background())
	t := &taskDirs{root: filepath.Join(stateDir, "tasks"), zipPath: zipPath, logf: logf, ctx: ctx, stop: stop,
		jobs: map[string]*unpackJob{}, ready: map[string]bool{}, refused: map[string]bool{}}
	t.sweep()
	return t
}

const (
	unpackPrefix = ".unpack-" // a zip being unpacked
	dropPrefix   = ".drop-"   // a task dir being removed
)

// sweep removes what an earlier process left half done. The state dir lock makes this
// process the only user of the directory.
func (t *taskDirs) sweep() {
	ents, _ := os.ReadDir(t.root)
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, unpackPrefix) || strings.HasPrefix(n, dropPrefix) || strings.HasSuffix(n, ".tmp") {
			_ = os.RemoveAll(filepath.Join(t.root, n))
		}
	}
}

func (t *taskDirs) dir(hexSha string) string { return filepath.Join(t.root, hexSha) }

// get returns the unpacked code of a zip, unpacking it (once, however many callers ask
// at the same time) when needed.
func (t *taskDirs) get(ctx context.Context, hexSha string) (string, error) {
	j, start := t.job(hexSha)
	if j == nil {
		return t.dir(hexSha), nil
	}
	if start {
		// Unpack in the background: the caller may give up, the unpack goes on.
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			t.run(hexSha, j)
		}()
	}
	select {
	case <-j.done:
		return t.dir(hexSha), j.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// prepare unpacks the given zips in the background (those not yet on disk).
func (t *taskDirs) prepare(hexShas []string) {
	for _, h := range hexShas {
		t.mu.Lock()
		skip := t.refused[h] || t.ready[h] || t.jobs[h] != nil || t.ctx.Err() != nil
		t.mu.Unlock()
		if skip {
			continue
		}
		j, start := t.job(h)
		if !start {
			continue
		}
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			t.run(h, j)
			if j.err != nil && !errors.Is(j.err, context.Canceled) {
				t.mu.Lock()
				t.refused[h] = true
				t.mu.Unlock()
				t.logf("unpack code %s: %v", h, j.err)
			}
		}()
	}
}

// job returns the unpack in flight for hexSha, or a new one the caller must run
// (start), or nil when the code is already on disk.
func (t *taskDirs) job(hexSha string) (j *unpackJob, start bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if j := t.jobs[hexSha]; j != nil {
		return j, false
	}
	if t.ready[hexSha] {
		return nil, false
	}
	if _, err := os.Stat(t.dir(hexSha)); err == nil {
		t.ready[hexSha] = true
		return nil, false
	}
	j = &unpackJob{done: make(chan struct{})}
	t.jobs[hexSha] = j
	return j, true
}

func (t *taskDirs) run(hexSha string, j *unpackJob) {
	start := time.Now()
	j.err = t.unpack(hexSha)
	if j.err == nil {
		t.logf("code %s unpacked in %s", hexSha[:min(12, len(hexSha))], time.Since(start).Round(time.Millisecond))
	}
	t.mu.Lock()
	delete(t.jobs, hexSha)
	switch {
	case j.dropped:
		t.removeLocked(hexSha)
		if j.err == nil {
			j.err = errors.New("the function's code was deleted while it was being unpacked")
		}
	case j.err == nil:
		t.ready[hexSha] = true
	}
	t.mu.Unlock()
	close(j.done)
}

// unpack writes STATE/tasks/<hex> through a temporary sibling and a rename.
func (t *taskDirs) unpack(hexSha string) error {
	if err := os.MkdirAll(t.root, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(t.root, unpackPrefix+hexSha+"-")
	if err != nil {
		return err
	}
	if err := lambdalocal.UnzipContext(t.ctx, t.zipPath(hexSha), tmp); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, t.dir(hexSha)); err != nil {
		_ = os.RemoveAll(tmp)
		if _, serr := os.Stat(t.dir(hexSha)); serr == nil {
			return nil // someone else put the same code in place first
		}
		return err
	}
	return nil
}

// drop removes the unpacked code of a zip that was deleted. It does not wait: the dir is
// renamed out of the way and removed in the background (an unpack in flight removes its
// result when it finishes).
func (t *taskDirs) drop(hexSha string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.refused, hexSha)
	if j := t.jobs[hexSha]; j != nil {
		j.dropped = true
		return
	}
	t.removeLocked(hexSha)
}

func (t *taskDirs) removeLocked(hexSha string) {
	delete(t.ready, hexSha)
	trash, err := os.MkdirTemp(t.root, dropPrefix+hexSha+"-")
	if err != nil {
		_ = os.RemoveAll(t.dir(hexSha))
		return
	}
	if err := os.Rename(t.dir(hexSha), filepath.Join(trash, "code")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		_ = os.RemoveAll(t.dir(hexSha))
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		_ = os.RemoveAll(trash)
	}()
}

// close stops the unpacks in flight and waits for the background work.
func (t *taskDirs) close() {
	t.stop()
	t.wg.Wait()
}

// codeInUseLocked lists the zips (hex sha) some function version runs. r.mu must be held.
func (r *Room) codeInUseLocked() []string {
	var out []string
	for _, f := range r.st.Functions {
		out = append(out, shaHex(f.Latest.Config.CodeSha256))
		for _, v := range f.Versions {
			out = append(out, shaHex(v.Config.CodeSha256))
		}
	}
	return out
}
