package lambdalocal

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// MaxUnzippedBytes is Lambda's limit on a function's unpacked code (250 MB, layers included).
const MaxUnzippedBytes = 262_144_000

// Unzip extracts a Lambda zip into dir, as Lambda unpacks code into /var/task: regular
// files keep their permission bits (0644 when the zip records none), directories are
// 0755, symbolic links are kept when they point inside dir. dir must be missing or empty.
//
// It refuses, and removes everything it wrote, when an entry name would land outside dir
// (absolute, "..", or through a symlink) or when the code is larger than Lambda's 250 MB
// unzipped limit: the entries' declared sizes are checked first, and the bytes actually
// written are counted while streaming, since a crafted header can understate them.
// Entries are written by a pool of workers (directories first, symlinks last).
func Unzip(zipPath, dir string) error {
	return UnzipContext(context.Background(), zipPath, dir)
}

// UnzipContext is Unzip that gives up (and removes what it wrote) when ctx is done.
func UnzipContext(ctx context.Context, zipPath, dir string) error {
	return unzipper{limit: MaxUnzippedBytes, checkDeclared: true}.unzip(ctx, zipPath, dir)
}

// unzipper carries the knobs tests turn: the byte limit, and whether the declared sizes
// are checked up front (off to exercise the streaming count alone).
type unzipper struct {
	limit         int64
	checkDeclared bool
}

// errTooLarge is the streaming refusal; the message is completed by unzip.
var errTooLarge = errors.New("over the unzipped size limit")

// planned is one zip entry with its checked, cleaned destination.
type planned struct {
	f   *zip.File
	rel string // clean slash path inside the root
}

// plan is what the zip will create, each kind in the order it is written.
type plan struct {
	dirs  []string // slash paths, parents before children
	files []planned
	links []planned
}

func (u unzipper) unzip(ctx context.Context, zipPath, dir string) (err error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return fmt.Errorf("cannot open %s as a zip (%w): pass the Lambda zip that `rudderctl package transformer` writes", zipPath, err)
	}
	defer zr.Close()
	p, err := u.makePlan(zr.File)
	if err != nil {
		return fmt.Errorf("cannot unpack %s: %w", zipPath, err)
	}
	root, created, err := prepareRoot(dir)
	if err != nil {
		return fmt.Errorf("cannot unpack %s into %s: %w", zipPath, dir, err)
	}
	defer func() {
		if err != nil {
			removeWritten(root, created)
		}
	}()
	var written atomic.Int64
	if err := p.write(ctx, root, u.limit, &written); err != nil {
		if errors.Is(err, errTooLarge) {
			return fmt.Errorf("cannot unpack %s: its entries hold more than %d B, Lambda's limit of 250 MB unzipped (stopped after writing %d B, which was removed); shrink the package (`rudderctl package` reports its largest packages)", zipPath, u.limit, min(written.Load(), u.limit))
		}
		return fmt.Errorf("cannot unpack %s: %w", zipPath, err)
	}
	return nil
}

// makePlan checks every entry name and sorts the entries by kind. Nothing is written.
func (u unzipper) makePlan(files []*zip.File) (*plan, error) {
	kinds := map[string]fs.FileMode{} // rel -> type bits of the entry that claims it
	last := map[string]int{}          // rel -> index of its last file or link entry
	var entries []planned
	var declared uint64
	for _, f := range files {
		rel, err := cleanEntry(f.Name)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", f.Name, err)
		}
		if rel == "" {
			continue
		}
		declared += f.UncompressedSize64
		if declared < f.UncompressedSize64 || (u.checkDeclared && declared > uint64(u.limit)) {
			return nil, fmt.Errorf("its entries declare more than %d B unzipped, Lambda's limit of 250 MB (nothing was written); shrink the package (`rudderctl package` reports its largest packages)", u.limit)
		}
		kind := f.Mode().Type()
		if kind&^(fs.ModeDir|fs.ModeSymlink) != 0 {
			return nil, fmt.Errorf("entry %q: unsupported file type %v", f.Name, kind)
		}
		if prev, ok := kinds[rel]; ok && prev != kind {
			return nil, fmt.Errorf("entry %q: the zip has it both as %v and as %v", f.Name, typeName(prev), typeName(kind))
		}
		kinds[rel] = kind
		if kind != fs.ModeDir {
			// A repeated name: the last entry wins, as when unpacking one after another.
			if i, ok := last[rel]; ok {
				entries[i].f = f
				continue
			}
			last[rel] = len(entries)
		}
		entries = append(entries, planned{f, rel})
	}
	p := &plan{}
	dirs := map[string]bool{}
	for _, e := range entries {
		// No entry may go through a symlink the zip creates: a link could otherwise
		// redirect it outside the root.
		for d := path.Dir(e.rel); d != "."; d = path.Dir(d) {
			if kinds[d] == fs.ModeSymlink {
				return nil, fmt.Errorf("entry %q: path goes through symlink %s", e.f.Name, d)
			}
			if hasKind(kinds, d, 0) {
				return nil, fmt.Errorf("entry %q: %s is a file in the zip, not a directory", e.f.Name, d)
			}
			dirs[d] = true
		}
		switch e.f.Mode().Type() {
		case fs.ModeDir:
			dirs[e.rel] = true
		case fs.ModeSymlink:
			p.links = append(p.links, e)
		default:
			p.files = append(p.files, e)
		}
	}
	for d := range dirs {
		p.dirs = append(p.dirs, d)
	}
	sort.Strings(p.dirs) // a parent sorts before everything under it
	return p, nil
}

// hasKind reports whether rel is claimed by an entry of exactly that kind.
func hasKind(kinds map[string]fs.FileMode, rel string, kind fs.FileMode) bool {
	k, ok := kinds[rel]
	return ok && k == kind
}

func typeName(kind fs.FileMode) string {
	switch kind {
	case fs.ModeDir:
		return "a directory"
	case fs.ModeSymlink:
		return "a symlink"
	}
	return "a file"
}

// prepareRoot makes dir (when missing) and checks it is empty, so that a failure can
// remove everything under it. created says whether dir itself is ours to remove.
func prepareRoot(dir string) (root string, created bool, err error) {
	root, err = filepath.Abs(dir)
	if err != nil {
		return "", false, err
	}
	switch err := os.Mkdir(root, 0o755); {
	case err == nil:
		return root, true, nil
	case !errors.Is(err, fs.ErrExist):
		if err := os.MkdirAll(root, 0o755); err != nil {
			return "", false, err
		}
		return root, true, nil
	}
	d, err := os.Open(root)
	if err != nil {
		return "", false, err
	}
	defer d.Close()
	if names, _ := d.Readdirnames(1); len(names) > 0 {
		return "", false, errors.New("the directory is not empty; pass a new or empty directory")
	}
	return root, false, nil
}

// removeWritten undoes a failed unpack: the root when Unzip made it, else its contents.
func removeWritten(root string, created bool) {
	if created {
		_ = os.RemoveAll(root)
		return
	}
	names, _ := os.ReadDir(root)
	for _, n := range names {
		_ = os.RemoveAll(filepath.Join(root, n.Name()))
	}
}

// write creates the directories, then the files in parallel, then the symlinks.
func (p *plan) write(ctx context.Context, root string, limit int64, written *atomic.Int64) error {
	for _, d := range p.dirs {
		if err := os.Mkdir(filepath.Join(root, filepath.FromSlash(d)), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	if err := p.writeFiles(ctx, root, limit, written); err != nil {
		return err
	}
	for _, e := range p.links {
		if err := writeLink(e, root, limit, written); err != nil {
			return fmt.Errorf("entry %q: %w", e.f.Name, err)
		}
	}
	return nil
}

// unzipWorkers is how many files are written at once: inflating is CPU work, creating
// files mostly waiting on the kernel, so a few more workers than cores keep both busy.
func unzipWorkers(files int) int {
	return max(1, min(files, 2*runtime.GOMAXPROCS(0)+2, 16))
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func (p *plan) writeFiles(ctx context.Context, root string, limit int64, written *atomic.Int64) error {
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { first = err })
		failed.Store(true)
	}
	stop := context.AfterFunc(ctx, func() { fail(ctx.Err()) })
	defer stop()
	for range unzipWorkers(len(p.files)) {
		wg.Go(func() {
			buf := copyBufs.Get().(*[]byte)
			defer copyBufs.Put(buf)
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(p.files) {
					return
				}
				e := p.files[i]
				if err := writeFile(e, root, *buf, limit, written, &failed); err != nil {
					switch {
					case errors.Is(err, errTooLarge):
						fail(err)
					case errors.Is(err, zip.ErrFormat), errors.Is(err, zip.ErrChecksum):
						fail(fmt.Errorf("entry %q: its data does not match its header (%w): the zip is damaged or was not written by a zip tool; rebuild it with `rudderctl package transformer`", e.f.Name, err))
					default:
						fail(fmt.Errorf("entry %q: %w", e.f.Name, err))
					}
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err() // cancelled after the last file
	}
	return first
}

// writeFile streams one entry to a new file, counting its bytes against limit.
func writeFile(e planned, root string, buf []byte, limit int64, written *atomic.Int64, stop *atomic.Bool) error {
	perm := e.f.Mode().Perm()
	if perm == 0 {
		perm = 0o644
	}
	rc, err := e.f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(filepath.Join(root, filepath.FromSlash(e.rel)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if err := copyCounted(out, rc, buf, limit, written, stop); err != nil {
		out.Close()
		return err
	}
	// The umask may have dropped bits the zip asks for.
	if perm&processUmask() != 0 {
		if err := out.Chmod(perm); err != nil {
			out.Close()
			return err
		}
	}
	return out.Close()
}

// processUmask reads the umask without setting it (syscall.Umask would change it for the
// whole process for a moment); unknown means "chmod every file".
var processUmask = sync.OnceValue(func() fs.FileMode {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0o777
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return fs.FileMode(m)
			}
		}
	}
	return 0o777
})

// copyCounted copies r to w, adding every chunk to written before writing it and
// refusing the chunk that would take the total over limit. It gives up when stop is set.
func copyCounted(w io.Writer, r io.Reader, buf []byte, limit int64, written *atomic.Int64, stop *atomic.Bool) error {
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if written.Add(int64(n)) > limit {
				return errTooLarge
			}
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
		if stop.Load() {
			return errors.New("stopped: another entry failed")
		}
	}
}

func writeLink(e planned, root string, limit int64, written *atomic.Int64) error {
	rc, err := e.f.Open()
	if err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(rc, 4096))
	rc.Close()
	if err != nil {
		return err
	}
	if written.Add(int64(len(b))) > limit {
		return errTooLarge
	}
	link := string(b)
	target := filepath.Join(root, filepath.FromSlash(e.rel))
	if filepath.IsAbs(link) {
		return fmt.Errorf("symlink to absolute path %q", link)
	}
	if !within(root, filepath.Join(filepath.Dir(target), link)) {
		return fmt.Errorf("symlink %q points outside the task root", link)
	}
	return os.Symlink(link, target)
}

// cleanEntry checks a zip entry name and returns it as a clean relative slash path.
func cleanEntry(name string) (string, error) {
	n := strings.ReplaceAll(name, `\`, "/")
	if n == "" || strings.HasPrefix(n, "/") || strings.Contains(n, "\x00") || (len(n) >= 2 && n[1] == ':') {
		return "", fmt.Errorf("unsafe path")
	}
	for _, seg := range strings.Split(n, "/") {
		if seg == ".." {
			return "", fmt.Errorf("unsafe path (..)")
		}
	}
	c := path.Clean(n)
	if c == "." {
		return "", nil
	}
	return c, nil
}

func within(root, p string) bool {
	r, err := filepath.Rel(root, p)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}
