package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/localcloud"
)

func runImageCLI(args ...string) (string, string, error) {
	var out, errw bytes.Buffer
	app := &cli.App{Name: "rudderctl", Writer: &out, ErrWriter: &errw, Commands: []*cli.Command{imageCommand()},
		ExitErrHandler: func(*cli.Context, error) {}}
	err := app.RunContext(context.Background(), append([]string{"rudderctl"}, args...))
	return out.String(), errw.String(), err
}

// TestImageCLI: image build prints one digest for one binary, refuses a dynamic binary,
// and image push lands the image in the local ECR under the tag.
func TestImageCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rudderctl")
	}
	bin := filepath.Join(t.TempDir(), "rudderctl")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var first struct{ Digest, Arch string }
	out, _, err := runImageCLI("image", "build", "--binary", bin, "--json")
	if err != nil || json.Unmarshal([]byte(out), &first) != nil || !strings.HasPrefix(first.Digest, "sha256:") || first.Arch != runtime.GOARCH {
		t.Fatalf("image build --json: %v\n%s", err, out)
	}
	tarPath := filepath.Join(t.TempDir(), "img.tar")
	out, _, err = runImageCLI("image", "build", "--binary", bin, "--out", tarPath)
	if err != nil || strings.TrimSpace(out) != first.Digest {
		t.Fatalf("second build: %v %q, want %s", err, out, first.Digest)
	}
	if fi, err := os.Stat(tarPath); err != nil || fi.Size() == 0 {
		t.Fatalf("--out: %v", err)
	}
	if _, _, err := runImageCLI("image", "build", "--binary", "/bin/sh"); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Fatalf("a dynamic binary: %v", err)
	}

	c := awstest.Cloud(t, localcloud.Delays{})
	t.Setenv("AWS_REGION", awstest.Region)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cl := ecr.NewFromConfig(cfg)
	repo, err := cl.CreateRepository(context.Background(), &ecr.CreateRepositoryInput{RepositoryName: aws.String("rudderctl")})
	if err != nil {
		t.Fatal(err)
	}
	before := c.Stats().Calls
	if _, _, err := runImageCLI("image", "push", "--binary", bin, "--repo", "http://"+*repo.Repository.RepositoryUri); err == nil || c.Stats().Calls != before {
		t.Fatalf("a URL as --repo: %v, %d AWS calls", err, c.Stats().Calls-before)
	}
	out, _, err = runImageCLI("image", "push", "--binary", bin, "--repo", *repo.Repository.RepositoryUri, "--tag", "t1")
	if err != nil || strings.TrimSpace(out) != *repo.Repository.RepositoryUri+"@"+first.Digest {
		t.Fatalf("image push: %v %q", err, out)
	}
	missing := strings.Replace(*repo.Repository.RepositoryUri, "/rudderctl", "/absent", 1)
	if _, _, err := runImageCLI("image", "push", "--binary", bin, "--repo", missing, "--tag", "t1"); err == nil || !strings.Contains(err.Error(), "create the repository first") {
		t.Fatalf("push to a missing repository: %v", err)
	}
	di, err := cl.DescribeImages(context.Background(), &ecr.DescribeImagesInput{RepositoryName: aws.String("rudderctl")})
	if err != nil || len(di.ImageDetails) != 1 || *di.ImageDetails[0].ImageDigest != first.Digest || di.ImageDetails[0].ImageTags[0] != "t1" {
		t.Fatalf("describe images: %v %+v", err, di)
	}
}
