// Package image builds rudderctl's own container image without Docker, the way ko does:
// on an empty base (scratch), one layer of CA certificates and one layer with our static Go
// binary at /rudderctl, with every timestamp fixed at the Unix epoch, so two builds from
// the same binary and certificates give the same digest. Push sends it to a registry (the
// stack's ECR repository) with go-containerregistry. docs/IMAGE.md describes the image.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths inside the image.
const (
	BinaryPath  = "/rudderctl"
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
)

// DefaultCACerts is the host's CA bundle (Debian and Ubuntu keep it there).
const DefaultCACerts = "/etc/ssl/certs/ca-certificates.crt"

// maxBinary bounds the binary read into memory.
const maxBinary = 512 << 20

// epoch is every timestamp in the image: reproducible, as ko's SOURCE_DATE_EPOCH=0.
var epoch = time.Unix(0, 0).UTC()

// BuildOptions says what goes into the image.
type BuildOptions struct {
	Binary  string // path of a static linux rudderctl; "" = the running executable
	Arch    string // amd64 | arm64; "" = the binary's
	CACerts string // PEM bundle; "" = DefaultCACerts
}

// Build makes the image. It refuses a binary that is not a static linux ELF for Arch.
func Build(ctx context.Context, o BuildOptions) (v1.Image, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bin := o.Binary
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("image: cannot find the running rudderctl (%v): pass the binary's path", err)
		}
		bin = exe
	}
	body, err := readFile(bin, maxBinary, "binary")
	if err != nil {
		return nil, err
	}
	arch, err := CheckBinary(bin, body, o.Arch)
	if err != nil {
		return nil, err
	}
	certsPath := o.CACerts
	if certsPath == "" {
		certsPath = DefaultCACerts
	}
	certs, err := readFile(certsPath, 16<<20, "CA certificates")
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(certs, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("image: %s holds no PEM certificate: the image needs the CA bundle for TLS; pass a PEM bundle (e.g. %s from the ca-certificates package)", certsPath, DefaultCACerts)
	}
	return assemble(body, certs, arch)
}

func readFile(path string, max int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("image: cannot read the %s %s: %w", what, path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("image: cannot read the %s %s: %w", what, path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("image: the %s %s is larger than %d MiB: is it the right file?", what, path, max>>20)
	}
	return b, nil
}

// goArch maps an ELF machine to GOARCH.
var goArch = map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}

// CheckBinary checks that body (read from path) is a static linux ELF executable for
// wantArch ("" = any supported) and returns its architecture.
func CheckBinary(path string, body []byte, wantArch string) (string, error) {
	rebuild := func(arch string) string {
		if arch == "" {
			arch = "amd64"
		}
		return "build it with CGO_ENABLED=0 GOOS=linux GOARCH=" + arch + " go build -trimpath -o rudderctl ./cmd/rudderctl"
	}
	if wantArch != "" && wantArch != "amd64" && wantArch != "arm64" {
		return "", fmt.Errorf("image: architecture %q is not supported: the image is linux/amd64 or linux/arm64; pass --arch amd64 or arm64", wantArch)
	}
	f, err := elf.NewFile(bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("image: %s is not a Linux executable (%v): the image runs a linux binary; %s", path, err, rebuild(wantArch))
	}
	arch, ok := goArch[f.Machine]
	if !ok || f.Class != elf.ELFCLASS64 {
		return "", fmt.Errorf("image: %s is built for %v, which the image does not support: %s", path, f.Machine, rebuild(wantArch))
	}
	if wantArch != "" && arch != wantArch {
		return "", fmt.Errorf("image: %s is a linux/%s binary but the image is for %s: %s", path, arch, wantArch, rebuild(wantArch))
	}
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP, elf.PT_DYNAMIC:
			return "", fmt.Errorf("image: %s is dynamically linked (it has %v): the image is scratch, with no C library or loader to run it; %s", path, p.Type, rebuild(arch))
		}
	}
	if f.Type != elf.ET_EXEC {
		return "", fmt.Errorf("image: %s is not a plain executable (ELF type %v; a PIE or a library?): %s", path, f.Type, rebuild(arch))
	}
	return arch, nil
}

// file is one entry of a layer.
type file struct {
	path string // inside the image, without the leading /
	mode int64
	body []byte // nil = directory
}

// layer is a tar of files with fixed owners and times, gzipped by go-containerregistry
// (no name or time in the gzip header): the same files give the same digest.
func layer(files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.path, Mode: f.mode, ModTime: epoch, Uid: 0, Gid: 0, Format: tar.FormatPAX}
		if f.body == nil {
			h.Typeflag, h.Name = tar.TypeDir, f.path+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

// assemble builds the OCI image: CA layer, binary layer, config.
func assemble(bin, certs []byte, arch string) (v1.Image, error) {
	caLayer, err := layer([]file{
		{path: "etc", mode: 0o755}, {path: "etc/ssl", mode: 0o755}, {path: "etc/ssl/certs", mode: 0o755},
		{path: strings.TrimPrefix(CACertsPath, "/"), mode: 0o644, body: certs},
	})
	if err != nil {
		return nil, err
	}
	binLayer, err := layer([]file{{path: strings.TrimPrefix(BinaryPath, "/"), mode: 0o755, body: bin}})
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	created := v1.Time{Time: epoch}
	img, err := mutate.Append(base,
		mutate.Addendum{Layer: caLayer, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "rudderctl image build: CA certificates", Comment: CACertsPath}},
		mutate.Addendum{Layer: binLayer, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "rudderctl image build: binary", Comment: BinaryPath}},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Created = arch, "linux", created
	cf.Config.Entrypoint = []string{BinaryPath}
	cf.Config.Cmd = nil
	cf.Config.Env = []string{"PATH=/", "SSL_CERT_FILE=" + CACertsPath}
	cf.Config.WorkingDir = "/"
	return mutate.ConfigFile(img, cf)
}

// Auth is a registry login: for ECR, username AWS and the password of
// GetAuthorizationToken (see DecodeECRToken).
type Auth struct {
	Username string
	Password string
}

// DecodeECRToken splits an ECR authorizationToken (base64 "user:password").
func DecodeECRToken(token string) (Auth, error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return Auth{}, fmt.Errorf("image: the ECR authorization token is not base64 (%v): pass authorizationData[0].authorizationToken of GetAuthorizationToken", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || pass == "" {
		return Auth{}, errors.New("image: the ECR authorization token is not user:password: pass authorizationData[0].authorizationToken of GetAuthorizationToken")
	}
	return Auth{Username: user, Password: pass}, nil
}

// Push writes img to repoURI:tag (a repository URI as ECR gives it, host/name, no tag)
// and returns the reference by digest (repoURI@sha256:...). A loopback registry (the
// local cloud's) is spoken to over plain HTTP.
func Push(ctx context.Context, img v1.Image, repoURI, tag string, auth Auth) (string, error) {
	ref, err := target(repoURI, tag)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuth(&authn.Basic{Username: auth.Username, Password: auth.Password})); err != nil {
		return "", fmt.Errorf("image: push to %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return repoURI + "@" + d.String(), nil
}

// CheckTarget checks a repository URI and tag before anything is built or pushed.
func CheckTarget(repoURI, tag string) error {
	_, err := target(repoURI, tag)
	return err
}

func target(repoURI, tag string) (name.Tag, error) {
	if strings.Contains(repoURI, "://") || strings.Contains(repoURI, "@") || !strings.Contains(repoURI, "/") {
		return name.Tag{}, fmt.Errorf("image: %q is not a repository URI: pass one as ECR gives it, host/name (e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/rudderctl), without scheme, tag or digest", repoURI)
	}
	host, path, _ := strings.Cut(repoURI, "/")
	if strings.Contains(path, ":") {
		return name.Tag{}, fmt.Errorf("image: %q carries a tag: pass the repository URI alone and the tag separately", repoURI)
	}
	opts := []name.Option{name.StrictValidation}
	if isLoopback(host) {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewTag(repoURI+":"+tag, opts...)
	if err != nil {
		return name.Tag{}, fmt.Errorf("image: %s:%s is not a valid image reference (%v): check the repository URI and the tag", repoURI, tag, err)
	}
	return ref, nil
}

// isLoopback: localhost or a loopback address, with or without a port.
func isLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// WriteTarball saves img as a docker-loadable tarball tagged ref (e.g. "rudderctl:dev").
func WriteTarball(path, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image: %q is not an image tag (%v): use name:tag", ref, err)
	}
	return tarball.WriteToFile(path, tag, img)
}
