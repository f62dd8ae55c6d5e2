package ecr

// The content-addressed store under STATE/ecr: blobs/sha256/<hex> (layers, configs and
// manifests, shared by every repository), uploads/<id> (registry uploads in progress) and
// unpacked/<hex> (image roots for ECS tasks).

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

const (
	maxManifest = 4 << 20 // bytes of one manifest
	maxBlob     = 4 << 30 // bytes of one layer
)

// digestRE is the one digest algorithm the registry keeps.
var digestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

type blobStore struct{ dir string }

func (s *blobStore) path(digest string) string {
	return filepath.Join(s.dir, "blobs", "sha256", digest[len("sha256:"):])
}

// size is the stored blob's size; ok is false when it is not stored.
func (s *blobStore) size(digest string) (int64, bool) {
	if !digestRE.MatchString(digest) {
		return 0, false
	}
	fi, err := os.Stat(s.path(digest))
	if err != nil {
		return 0, false
	}
	return fi.Size(), true
}

func (s *blobStore) open(digest string) (*os.File, error) {
	if !digestRE.MatchString(digest) {
		return nil, fmt.Errorf("digest %q is not sha256:<64 hex>", digest)
	}
	return os.Open(s.path(digest))
}

// read returns a stored blob of at most max bytes.
func (s *blobStore) read(digest string, max int) ([]byte, error) {
	f, err := s.open(digest)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return core.ReadLimited(f, max)
}

// put stores bytes under their own digest.
func (s *blobStore) put(b []byte) (string, error) {
	sum := sha256.Sum256(b)
	d := "sha256:" + hex.EncodeToString(sum[:])
	if _, ok := s.size(d); ok {
		return d, nil
	}
	return d, core.WriteFileAtomic(s.path(d), b)
}

// newUpload creates the file of an upload in progress.
func (s *blobStore) newUpload(id string) (string, error) {
	dir := filepath.Join(s.dir, "uploads")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, id)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", err
	}
	return p, f.Close()
}

var errBlobTooLarge = errors.New("blob too large")

// appendUpload adds a chunk to an upload file whose size is have; it returns the new size.
func appendUpload(path string, have int64, body io.Reader) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return have, err
	}
	n, err := io.Copy(f, io.LimitReader(body, maxBlob-have+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if have+n > maxBlob {
		return have + n, errBlobTooLarge
	}
	return have + n, err
}

// errDigestMismatch: the uploaded bytes are not what the client named.
var errDigestMismatch = errors.New("digest mismatch")

// commitUpload verifies that an upload file hashes to want and moves it into the store.
func (s *blobStore) commitUpload(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return err
	}
	if "sha256:"+hex.EncodeToString(h.Sum(nil)) != want {
		os.Remove(path)
		return errDigestMismatch
	}
	dst := s.path(want)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.Rename(path, dst)
}
