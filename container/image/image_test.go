package image_test

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/rudderctl/rudderctl/container/image"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

const testVersion = "image-test-1"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  string
)

// staticRudderctl builds ./cmd/rudderctl as the image wants it (CGO_ENABLED=0, linux, this
// machine's arch), once per test run.
func staticRudderctl(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rudderctl-image-test-")
		if err != nil {
			buildErr = err.Error()
			return
		}
		binPath = filepath.Join(dir, "rudderctl")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version="+testVersion, "-o", binPath, "./cmd/rudderctl")
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = err.Error() + "\n" + string(out)
		}
	})
	if buildErr != "" {
		t.Fatalf("go build ./cmd/rudderctl: %s", buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func build(t *testing.T, o image.BuildOptions) string {
	t.Helper()
	img, err := image.Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestReproducible: two builds from the same binary give the same digest; the image is
// scratch + CA layer + binary layer, epoch timestamps, root-owned /rudderctl 0755.
func TestReproducible(t *testing.T) {
	bin := staticRudderctl(t)
	d1 := build(t, image.BuildOptions{Binary: bin})
	// A copy with another mtime and path: same content, same image.
	cp := filepath.Join(t.TempDir(), "copy")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cp, b, 0o700); err != nil {
		t.Fatal(err)
	}
	d2 := build(t, image.BuildOptions{Binary: cp, Arch: runtime.GOARCH})
	if d1 != d2 {
		t.Fatalf("two builds of one binary: %s != %s", d1, d2)
	}

	img, err := image.Build(context.Background(), image.BuildOptions{Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || !cf.Created.Time.Equal(time.Unix(0, 0)) ||
		strings.Join(cf.Config.Entrypoint, " ") != "/rudderctl" || !contains(cf.Config.Env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt") {
		t.Fatalf("config: %+v", cf)
	}
	for _, h := range cf.History {
		if !h.Created.Time.Equal(time.Unix(0, 0)) {
			t.Fatalf("history with a time: %+v", h)
		}
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("layers: %d %v", len(layers), err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	seen := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[h.Name] = h
	}
	rh := seen["rudderctl"]
	if rh == nil || rh.Mode&0o7777 != 0o755 || rh.Uid != 0 || rh.Gid != 0 || !rh.ModTime.Equal(time.Unix(0, 0)) || rh.Size != int64(len(b)) {
		t.Fatalf("/rudderctl entry: %+v", rh)
	}
	if seen["etc/ssl/certs/ca-certificates.crt"] == nil {
		t.Fatalf("no CA bundle in %v", seen)
	}

	// Other certificates: another CA layer, another digest.
	certs := filepath.Join(t.TempDir(), "ca.pem")
	ca, err := os.ReadFile(image.DefaultCACerts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certs, append(ca, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if d3 := build(t, image.BuildOptions{Binary: bin, CACerts: certs}); d3 == d1 {
		t.Fatal("different CA bundles gave the same digest")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestRefusesBadBinaries: a dynamic binary, a wrong-arch binary, a non-ELF file and a
// bundle without certificates are refused with what to do.
func TestRefusesBadBinaries(t *testing.T) {
	bin := staticRudderctl(t)
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	text := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(text, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		o    image.BuildOptions
		want []string
	}{
		{"dynamic", image.BuildOptions{Binary: "/bin/sh"}, []string{"dynamically linked", "CGO_ENABLED=0 GOOS=linux GOARCH="}},
		{"wrong arch", image.BuildOptions{Binary: bin, Arch: other}, []string{"linux/" + runtime.GOARCH + " binary", "GOARCH=" + other}},
		{"not ELF", image.BuildOptions{Binary: text}, []string{"not a Linux executable", "CGO_ENABLED=0"}},
		{"no certs", image.BuildOptions{Binary: bin, CACerts: text}, []string{"no PEM certificate"}},
		{"bad arch", image.BuildOptions{Binary: bin, Arch: "riscv64"}, []string{"not supported"}},
	}
	for _, c := range cases {
		_, err := image.Build(context.Background(), c.o)
		if err == nil {
			t.Errorf("%s: built", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v (want %q)", c.name, err, w)
			}
		}
	}
}

// TestBuildPushRun: build -> push to the local ECR with a GetAuthorizationToken login ->
// unpack as an ECS task would -> run the binary from the image's root.
func TestBuildPushRun(t *testing.T) {
	bin := staticRudderctl(t)
	c, err := localcloud.Start(context.Background(), localcloud.Options{Addr: "127.0.0.1:0", StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl := ecr.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(c.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("x", "x", "")})
	ctx := context.Background()
	repo, err := cl.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("rudderctl")})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cl.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := image.DecodeECRToken(*tok.AuthorizationData[0].AuthorizationToken)
	if err != nil {
		t.Fatal(err)
	}
	img, err := image.Build(ctx, image.BuildOptions{Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := image.Push(ctx, img, *repo.Repository.RepositoryUri, "v1", auth)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	if ref != *repo.Repository.RepositoryUri+"@"+d.String() {
		t.Fatalf("push returned %s", ref)
	}
	if _, err := image.Push(ctx, img, *repo.Repository.RepositoryUri, "v2", image.Auth{Username: "AWS", Password: "nope"}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("push with a bad password: %v", err)
	}

	u, mine, err := core.Peer[core.Images](c).UnpackImage(*repo.Repository.RepositoryUri + ":v1")
	if !mine || err != nil {
		t.Fatalf("unpack: %v %v", mine, err)
	}
	if u.Digest != d.String() || strings.Join(u.Entrypoint, " ") != "/rudderctl" {
		t.Fatalf("unpacked: %+v", u)
	}
	fi, err := os.Stat(filepath.Join(u.Root, "rudderctl"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("/rudderctl in the root: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(u.Root, "etc/ssl/certs/ca-certificates.crt")); err != nil {
		t.Fatal(err)
	}
	// Run the entrypoint as a task would: from the image's root, with the image's env only.
	cmd := exec.Command(filepath.Join(u.Root, u.Entrypoint[0]), "--version")
	cmd.Dir, cmd.Env = u.Root, u.Env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), testVersion) {
		t.Fatalf("%s --version: %v\n%s", u.Entrypoint[0], err, out)
	}
}

// TestOtherArch: the architecture comes from the ELF (an arm64 binary built here makes an
// arm64 image, and is refused for amd64).
func TestOtherArch(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"go.mod": "module hi\n\ngo 1.26\n", "main.go": "package main\n\nfunc main() { println(\"hi\") }\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	bin := filepath.Join(dir, "hi")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+other, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for %s: %v\n%s", other, err, out)
	}
	img, err := image.Build(context.Background(), image.BuildOptions{Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil || cf.Architecture != other {
		t.Fatalf("architecture %q (%v), want %s", cf.Architecture, err, other)
	}
	if _, err := image.Build(context.Background(), image.BuildOptions{Binary: bin, Arch: runtime.GOARCH}); err == nil || !strings.Contains(err.Error(), "linux/"+other+" binary") {
		t.Fatalf("an %s binary for %s: %v", other, runtime.GOARCH, err)
	}
}
