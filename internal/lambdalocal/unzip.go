package lambdalocal

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Unzip extracts a Lambda zip into dir (created if missing), as Lambda unpacks code into
// /var/task: regular files keep their permission bits (0644 when the zip records none),
// directories are 0755, symbolic links are kept when they point inside dir. An entry whose
// name would land outside dir (absolute, "..", or through a symlink) fails the whole call.
func Unzip(zipPath, dir string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return fmt.Errorf("cannot open %s as a zip (%w): pass the Lambda zip that `rudderctl package transformer` writes", zipPath, err)
	}
	defer zr.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for _, f := range zr.File {
		if err := extractOne(f, root); err != nil {
			return fmt.Errorf("cannot unpack %s: entry %q: %w", zipPath, f.Name, err)
		}
	}
	return nil
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

func extractOne(f *zip.File, root string) error {
	rel, err := cleanEntry(f.Name)
	if err != nil {
		return err
	}
	if rel == "" {
		return nil
	}
	target := filepath.Join(root, filepath.FromSlash(rel))
	// No parent of the target may be a symlink (a link planted by an earlier entry could
	// otherwise redirect this one outside root).
	if err := checkParents(root, filepath.Dir(target)); err != nil {
		return err
	}
	mode := f.Mode()
	switch {
	case mode.IsDir():
		return os.MkdirAll(target, 0o755)
	case mode&fs.ModeSymlink != 0:
		rc, err := f.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(rc, 4096))
		rc.Close()
		if err != nil {
			return err
		}
		link := string(b)
		if filepath.IsAbs(link) {
			return fmt.Errorf("symlink to absolute path %q", link)
		}
		resolved := filepath.Join(filepath.Dir(target), link)
		if !within(root, resolved) {
			return fmt.Errorf("symlink %q points outside the task root", link)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		_ = os.Remove(target)
		return os.Symlink(link, target)
	case mode.IsRegular() || mode&fs.ModeType == 0:
		perm := mode.Perm()
		if perm == 0 {
			perm = 0o644
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		_ = os.Remove(target)
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, rc); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		// The umask may have dropped bits the zip asks for.
		return os.Chmod(target, perm)
	default:
		return fmt.Errorf("unsupported file type %v", mode.Type())
	}
}

func within(root, p string) bool {
	r, err := filepath.Rel(root, p)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}

func checkParents(root, dir string) error {
	if !within(root, dir) {
		return fmt.Errorf("path escapes the task root")
	}
	for d := dir; d != root && len(d) > len(root); d = filepath.Dir(d) {
		st, err := os.Lstat(d)
		if err != nil {
			continue // not created yet
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("path goes through symlink %s", d)
		}
	}
	return nil
}
