package pgcluster

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// CopyDir copies a directory tree (a stopped cluster's data directory) to dst, which must
// not exist, keeping modes and owners: PostgreSQL insists its data directory belongs to
// the user it runs as and is not readable by others.
func CopyDir(src, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("pgcluster: copy to %s: it already exists", dst)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.Name() == "postmaster.pid" || d.Name() == "postmaster.opts" {
			return nil // belong to the server that ran there, not to the data
		}
		return copyEntry(path, filepath.Join(dst, rel), d)
	})
	if err != nil {
		_ = os.RemoveAll(dst)
		return fmt.Errorf("pgcluster: copy %s to %s: %w", src, dst, err)
	}
	return nil
}

func copyEntry(src, dst string, d fs.DirEntry) error {
	info, err := os.Lstat(src)
	if err != nil {
		return err
	}
	switch {
	case d.IsDir():
		if err := os.Mkdir(dst, info.Mode().Perm()); err != nil {
			return err
		}
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
	case info.Mode().IsRegular():
		if err := copyFile(src, dst, info.Mode().Perm()); err != nil {
			return err
		}
	default:
		return nil // sockets and the like are not data
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if info.Mode()&fs.ModeSymlink == 0 {
		return os.Chmod(dst, info.Mode().Perm())
	}
	return nil
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
