package ecr

// UnpackImage (core.Images): an image of this registry unpacked, once per manifest digest,
// under STATE/ecr/unpacked/<hex>/rootfs for the ECS tasks the cloud runs.

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// Limits of what an image may unpack to.
const (
	maxUnpackedBytes = 8 << 30
	maxUnpackedFiles = 500_000
)

// ecrHostRE is the registry host AWS gives an account's ECR in a region; a reference
// naming this account's is an alias of the local registry.
var ecrHostRE = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$`)

// imageRef is a parsed reference to the local registry.
type imageRef struct {
	region string // "" = any region holding the repository
	repo   string
	ref    string // tag or digest
}

// parseRef splits host/repo[:tag][@digest]; mine is false for another registry.
func (r *Room) parseRef(s string) (imageRef, bool, error) {
	host, rest, ok := strings.Cut(s, "/")
	if !ok {
		return imageRef{}, false, nil
	}
	var out imageRef
	if m := ecrHostRE.FindStringSubmatch(host); m != nil {
		if m[1] != core.AccountID {
			return imageRef{}, false, nil
		}
		out.region = m[2]
	} else if !r.isRegistryHost(host) {
		return imageRef{}, false, nil
	}
	if name, d, ok := strings.Cut(rest, "@"); ok {
		out.repo, out.ref = name, d
		if !digestRE.MatchString(d) {
			return out, true, fmt.Errorf("image %s: digest %q is not sha256:<64 hex>", s, d)
		}
	} else {
		out.repo, out.ref = rest, "latest"
		if i := strings.LastIndex(rest, ":"); i >= 0 {
			out.repo, out.ref = rest[:i], rest[i+1:]
		}
	}
	if !repoNameRE.MatchString(out.repo) {
		return out, true, fmt.Errorf("image %s: %q is not a repository name", s, out.repo)
	}
	return out, true, nil
}

// isRegistryHost: the cloud's host:port, or localhost with its port.
func (r *Room) isRegistryHost(host string) bool {
	own := r.registryHost()
	if host == own {
		return true
	}
	_, port, _ := strings.Cut(own, ":")
	return strings.HasPrefix(own, "127.0.0.1:") && host == "localhost:"+port
}

// UnpackImage resolves a reference to this registry to an unpacked root filesystem.
func (r *Room) UnpackImage(ref string) (*core.UnpackedImage, bool, error) {
	ir, mine, err := r.parseRef(ref)
	if !mine || err != nil {
		return nil, mine, err
	}
	digest, err := r.resolveRef(ir)
	if err != nil {
		return nil, true, fmt.Errorf("image %s: %w", ref, err)
	}
	m, err := r.readManifest(digest)
	if err != nil {
		return nil, true, fmt.Errorf("image %s: %w", ref, err)
	}
	if isIndex(m.MediaType) || len(m.Manifests) > 0 {
		if digest, err = pickPlatform(m); err != nil {
			return nil, true, fmt.Errorf("image %s: %w", ref, err)
		}
		if m, err = r.readManifest(digest); err != nil {
			return nil, true, fmt.Errorf("image %s: %w", ref, err)
		}
	}
	img, err := r.unpackOnce(digest, m)
	if err != nil {
		return nil, true, fmt.Errorf("image %s: %w", ref, err)
	}
	return img, true, nil
}

// resolveRef finds the manifest digest of a tag or digest in the repository.
func (r *Room) resolveRef(ir imageRef) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var found []*repoRec
	for _, p := range r.st.Repos {
		if p.Name == ir.repo && (ir.region == "" || p.Region == ir.region) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("repository %s does not exist in the local ECR", ir.repo)
	case 1:
	default:
		return "", fmt.Errorf("repository %s exists in several regions; name one with %s.dkr.ecr.<region>.amazonaws.com/%s", ir.repo, core.AccountID, ir.repo)
	}
	im := found[0].lookupLocked(ir.ref)
	if im == nil {
		return "", fmt.Errorf("%s:%s not found in the repository", ir.repo, ir.ref)
	}
	return im.Digest, nil
}

func (r *Room) readManifest(digest string) (*manifest, error) {
	b, err := r.blobs.read(digest, maxManifest)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", digest, err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", digest, err)
	}
	return &m, nil
}

// pickPlatform chooses linux/<this machine's arch> from an index.
func pickPlatform(m *manifest) (string, error) {
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH {
			return d.Digest, nil
		}
	}
	return "", fmt.Errorf("the image index has no linux/%s image", runtime.GOARCH)
}

// imageConfig is the part of an image config a task needs.
type imageConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Config       struct {
		Entrypoint []string `json:"Entrypoint"`
		Cmd        []string `json:"Cmd"`
		Env        []string `json:"Env"`
		WorkingDir string   `json:"WorkingDir"`
	} `json:"config"`
}

// unpackOnce unpacks an image manifest's layers into unpacked/<hex>/rootfs the first time
// (a marker file says it is complete) and reads its config.
func (r *Room) unpackOnce(digest string, m *manifest) (*core.UnpackedImage, error) {
	if m.Config == nil {
		return nil, errors.New("manifest has no config")
	}
	cb, err := r.blobs.read(m.Config.Digest, maxManifest)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	var cfg imageConfig
	if err := json.Unmarshal(cb, &cfg); err != nil {
		return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	dir := filepath.Join(r.blobs.dir, "unpacked", digest[len("sha256:"):])
	root := filepath.Join(dir, "rootfs")
	lock := r.unpackLock(digest)
	lock.Lock()
	defer lock.Unlock()
	if _, err := os.Stat(filepath.Join(dir, "complete")); err != nil {
		if err := r.unpackLayers(dir, m.Layers); err != nil {
			return nil, err
		}
	}
	c := cfg.Config
	return &core.UnpackedImage{Digest: digest, Root: root, Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, WorkingDir: c.WorkingDir}, nil
}

func (r *Room) unpackLock(digest string) *sync.Mutex {
	r.unpackMu.Lock()
	defer r.unpackMu.Unlock()
	l := r.unpacks[digest]
	if l == nil {
		l = &sync.Mutex{}
		r.unpacks[digest] = l
	}
	return l
}

// unpackLayers applies the layers in order into a fresh dir/rootfs.
func (r *Room) unpackLayers(dir string, layers []descriptor) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	root := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	budget := &unpackBudget{bytes: maxUnpackedBytes, files: maxUnpackedFiles}
	for _, l := range layers {
		if err := r.applyLayer(root, l, budget); err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("layer %s: %w", l.Digest, err)
		}
	}
	return os.WriteFile(filepath.Join(dir, "complete"), nil, 0o644)
}

type unpackBudget struct{ bytes, files int64 }

func (r *Room) applyLayer(root string, l descriptor, budget *unpackBudget) error {
	f, err := r.blobs.open(l.Digest)
	if err != nil {
		return err
	}
	defer f.Close()
	var rd io.Reader = f
	switch {
	case strings.HasSuffix(l.MediaType, "gzip"):
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		defer gz.Close()
		rd = gz
	case strings.HasSuffix(l.MediaType, ".tar"):
	default:
		return fmt.Errorf("layer media type %q is not supported (tar or tar+gzip)", l.MediaType)
	}
	tr := tar.NewReader(rd)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if budget.files--; budget.files < 0 {
			return fmt.Errorf("more than %d files", maxUnpackedFiles)
		}
		if err := applyEntry(root, h, tr, budget); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
}

// inRoot maps a tar path into root; false when it would leave it.
func inRoot(root, name string) (string, bool) {
	clean := filepath.Clean("/" + name)
	if clean == "/" {
		return root, true
	}
	return filepath.Join(root, clean), !strings.Contains(name, "\x00")
}

// parentsAreDirs checks that no directory above p (inside root) is a symlink, so an entry
// cannot be written through a link that points out of the root.
func parentsAreDirs(root, p string) error {
	rel, err := filepath.Rel(root, filepath.Dir(p))
	if err != nil || rel == "." {
		return err
	}
	cur := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, os.ErrNotExist) {
			return os.MkdirAll(filepath.Dir(p), 0o755)
		}
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory (a symlink?); refusing to write through it", cur)
		}
	}
	return nil
}

// applyEntry writes one tar entry; whiteouts (.wh.<name>, .wh..wh..opq) delete what lower
// layers put there. Devices and FIFOs are skipped; ownership is not kept.
func applyEntry(root string, h *tar.Header, tr io.Reader, budget *unpackBudget) error {
	p, ok := inRoot(root, h.Name)
	if !ok || p == root {
		return nil
	}
	if err := parentsAreDirs(root, p); err != nil {
		return err
	}
	base := filepath.Base(p)
	if base == ".wh..wh..opq" {
		entries, _ := os.ReadDir(filepath.Dir(p))
		for _, e := range entries {
			os.RemoveAll(filepath.Join(filepath.Dir(p), e.Name()))
		}
		return nil
	}
	if gone, ok := strings.CutPrefix(base, ".wh."); ok {
		return os.RemoveAll(filepath.Join(filepath.Dir(p), gone))
	}
	mode := os.FileMode(h.Mode) & 0o777
	switch h.Typeflag {
	case tar.TypeDir:
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			return os.Chmod(p, mode|0o700)
		}
		os.RemoveAll(p)
		return os.Mkdir(p, mode|0o700)
	case tar.TypeReg:
		if budget.bytes -= h.Size; budget.bytes < 0 {
			return fmt.Errorf("the image unpacks to more than %d bytes", int64(maxUnpackedBytes))
		}
		os.RemoveAll(p)
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, io.LimitReader(tr, h.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(p, mode) // past the umask
		}
		return err
	case tar.TypeSymlink:
		os.RemoveAll(p)
		return os.Symlink(h.Linkname, p)
	case tar.TypeLink:
		target, ok := inRoot(root, h.Linkname)
		if !ok {
			return fmt.Errorf("hard link to %s leaves the root", h.Linkname)
		}
		if err := parentsAreDirs(root, target); err != nil {
			return err
		}
		if fi, err := os.Lstat(target); err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("hard link to %s: not a regular file of the image", h.Linkname)
		}
		os.RemoveAll(p)
		return os.Link(target, p)
	}
	return nil
}
