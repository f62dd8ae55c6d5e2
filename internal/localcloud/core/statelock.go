package core

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFile is STATE/localcloud.lock: flock-ed by the cloud using the state dir, holding
// its pid for the error message of a second one. The kernel drops the lock when the
// process dies, so a file left by a dead process does not block.
const lockFile = "localcloud.lock"

// ErrStateDirInUse is returned by Start when another local cloud holds the state dir.
var ErrStateDirInUse = errors.New("state dir in use")

type stateLock struct{ f *os.File }

func lockStateDir(dir string) (*stateLock, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("localcloud: cannot open the state lock %s: %w", path, err)
	}
	if err := flockNB(f); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := "another process"
			if b, rerr := os.ReadFile(path); rerr == nil {
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
					holder = fmt.Sprintf("process %d", pid)
				}
			}
			return nil, fmt.Errorf("localcloud: the state dir %s is in use by another local cloud (%s holds %s): %w; stop that one, or pass another --state-dir", dir, holder, path, ErrStateDirInUse)
		}
		return nil, fmt.Errorf("localcloud: cannot lock the state dir (%s): %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &stateLock{f: f}, nil
}

func flockNB(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// release empties the pid and drops the lock (nil-safe).
func (l *stateLock) release() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}
