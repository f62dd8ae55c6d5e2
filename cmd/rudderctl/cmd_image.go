package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/container/image"
	"github.com/rudderctl/rudderctl/internal/config"
)

// imageCommand is `rudderctl image build|push`: rudderctl's own container image, built
// without Docker (container/image, docs/IMAGE.md).
func imageCommand() *cli.Command {
	buildFlags := []cli.Flag{
		&cli.StringFlag{Name: "binary", Usage: "static linux rudderctl `PATH` to put in the image (default: this executable)"},
		&cli.StringFlag{Name: "arch", Usage: "amd64 or arm64 (default: the binary's)"},
		&cli.StringFlag{Name: "ca-certs", Value: image.DefaultCACerts, Usage: "PEM bundle `PATH` for /etc/ssl/certs/ca-certificates.crt"},
		jsonFlag(),
	}
	return &cli.Command{
		Name:  "image",
		Usage: "build and push rudderctl's own container image (no Docker needed)",
		Subcommands: []*cli.Command{{
			Name:      "build",
			Usage:     "build the image and print its digest",
			UsageText: "rudderctl image build [--binary PATH] [--arch amd64|arm64] [--out FILE.tar] [--json]",
			Description: `Builds rudderctl's image ko-style: an empty base, a layer with the CA bundle and a
layer with the static binary at /rudderctl, every timestamp at the Unix epoch, so the same
binary and bundle always give the same digest. The binary must be a static linux ELF:
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -o rudderctl ./cmd/rudderctl.
With --out the image is also written as a tarball (docker load / crane push can read it).`,
			Flags: append(buildFlags, &cli.StringFlag{Name: "out", Usage: "also write the image as a tarball to `FILE.tar`"}),
			Action: func(c *cli.Context) error {
				if err := noArgs(c); err != nil {
					return err
				}
				img, res, err := buildImage(c)
				if err != nil {
					return err
				}
				if out := c.String("out"); out != "" {
					if err := image.WriteTarball(out, "rudderctl:"+tagFor(version), img); err != nil {
						return fmt.Errorf("image: cannot write %s: %v; check the directory exists and is writable", out, err)
					}
					res.Out = out
				}
				return printImage(c, res, res.Digest)
			},
		}, {
			Name:      "push",
			Usage:     "build the image and push it to an ECR repository",
			UsageText: "rudderctl image push --repo URI [--tag TAG] [--region R] [--binary PATH] [--json]",
			Description: `Builds the image (as image build) and pushes it to the repository URI (as ECR's
DescribeRepositories gives it), logging in with ECR GetAuthorizationToken in the region.
Against the local cloud (AWS_ENDPOINT_URL) the URI is 127.0.0.1:4566/NAME. Prints the
pushed reference by digest.`,
			Flags: append(buildFlags,
				&cli.StringFlag{Name: "repo", Usage: "repository `URI` (host/name)"},
				&cli.StringFlag{Name: "tag", Usage: "tag to push (default: this rudderctl's version)"},
				&cli.StringFlag{Name: "region", Usage: "AWS region of the repository (default: AWS_REGION, AWS_DEFAULT_REGION)"},
			),
			Action: func(c *cli.Context) error {
				if err := noArgs(c); err != nil {
					return err
				}
				tag := c.String("tag")
				if tag == "" {
					tag = tagFor(version)
				}
				if c.String("repo") == "" {
					return fmt.Errorf("image push: no repository: pass --repo URI (e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/rudderctl)")
				}
				if err := image.CheckTarget(c.String("repo"), tag); err != nil {
					return err
				}
				region := config.Region(c.String("region"), &config.File{})
				if err := config.ValidateRegion(region); err != nil {
					return err
				}
				img, res, err := buildImage(c)
				if err != nil {
					return err
				}
				auth, err := ecrLogin(c.Context, region)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.ErrWriter, "pushing %s to %s:%s\n", res.Digest, c.String("repo"), tag)
				ref, err := image.Push(c.Context, img, c.String("repo"), tag, auth)
				if err != nil {
					return fmt.Errorf("%v; %s", err, pushHint(err))
				}
				res.Ref, res.Tag = ref, tag
				return printImage(c, res, ref)
			},
		}},
	}
}

// imageResult is what image build/push print with --json.
type imageResult struct {
	Digest string `json:"digest"`
	Arch   string `json:"arch"`
	Binary string `json:"binary"`
	Out    string `json:"out,omitempty"`
	Ref    string `json:"ref,omitempty"`
	Tag    string `json:"tag,omitempty"`
}

func buildImage(c *cli.Context) (v1.Image, *imageResult, error) {
	o := image.BuildOptions{Binary: c.String("binary"), Arch: c.String("arch"), CACerts: c.String("ca-certs")}
	img, err := image.Build(c.Context, o)
	if err != nil {
		return nil, nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, nil, err
	}
	bin := o.Binary
	if bin == "" {
		bin, _ = os.Executable()
	}
	fmt.Fprintf(c.App.ErrWriter, "built rudderctl image %s (linux/%s) from %s\n", d, cf.Architecture, bin)
	return img, &imageResult{Digest: d.String(), Arch: cf.Architecture, Binary: bin}, nil
}

func printImage(c *cli.Context, res *imageResult, plain string) error {
	if c.Bool("json") {
		return printJSON(c.App.Writer, res)
	}
	_, err := fmt.Fprintln(c.App.Writer, plain)
	return err
}

// tagFor makes a version usable as an image tag ("dev" for anything that is not).
func tagFor(v string) string {
	if regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`).MatchString(v) {
		return v
	}
	return "dev"
}

// ecrLogin asks ECR (GetAuthorizationToken) for a registry login in region.
func ecrLogin(ctx context.Context, region string) (image.Auth, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return image.Auth{}, fmt.Errorf("AWS configuration unreadable: %v; check AWS_PROFILE and ~/.aws/config", err)
	}
	out, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return image.Auth{}, fmt.Errorf("ECR login failed: %v; check the credentials may call ecr:GetAuthorizationToken", err)
	}
	if len(out.AuthorizationData) == 0 {
		return image.Auth{}, fmt.Errorf("ECR login failed: GetAuthorizationToken returned no authorization data; retry")
	}
	return image.DecodeECRToken(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
}

// pushHint says what to do about a failed push.
func pushHint(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "NAME_UNKNOWN"):
		return "create the repository first (aws ecr create-repository) or fix --repo"
	case strings.Contains(msg, "TAG_INVALID") && strings.Contains(msg, "immutable"):
		return "the repository's tags are immutable: push under a new --tag"
	case strings.Contains(msg, "UNAUTHORIZED") || strings.Contains(msg, "DENIED") || strings.Contains(msg, "401"):
		return "the registry refused the login: check the credentials and the region (--region) of the repository"
	}
	return "check the repository URI and that the registry is reachable"
}
