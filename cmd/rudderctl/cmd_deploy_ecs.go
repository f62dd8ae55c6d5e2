package main

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/container"
	"github.com/rudderctl/rudderctl/container/image"
)

// The --ecs side of `deploy|plan|logs|rollback transformer`: the user-functions service
// on ECS Fargate behind an internal ALB (package container, docs/ECS.md).

// ecsFlags are the flags only --ecs takes.
func ecsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "ecs", Usage: "the user-functions transformer on ECS Fargate behind an internal load balancer (config: ecs: in rudderctl.yaml; docs/ECS.md)"},
		&cli.StringFlag{Name: "tag", Usage: "with --ecs: the image tag to run (overrides ecs.tag)"},
		&cli.StringFlag{Name: "image-binary", Usage: "with --ecs: the static linux rudderctl to put in rudderctl's own image (default: the running one)"},
	}
}

// lambdaOnly are the flags that mean nothing to --ecs: refused rather than ignored.
var lambdaOnly = []string{"src", "zip", "runtime", "arch", "memory", "timeout", "log-retention-days", "env", "rebuild-native", "keep", "prune", "bootstrap"}

// resolveECSInput validates an --ecs deploy: config + flags, no AWS call.
func resolveECSInput(c *cli.Context) (*target, container.Input, error) {
	for _, f := range lambdaOnly {
		if c.IsSet(f) {
			return nil, container.Input{}, fmt.Errorf("--%s refused with --ecs: it configures the Lambda deploy; the ECS service is configured in the ecs: section of rudderctl.yaml (docs/ECS.md)", f)
		}
	}
	t, err := resolveTarget(c)
	if err != nil {
		return nil, container.Input{}, err
	}
	if c.IsSet("image-binary") {
		if _, err := os.Stat(c.String("image-binary")); err != nil {
			return nil, container.Input{}, fmt.Errorf("--image-binary %s unusable: %v; pass a static linux rudderctl (CGO_ENABLED=0 go build ./cmd/rudderctl)", c.String("image-binary"), err)
		}
	}
	if c.IsSet("tag") {
		t.File.ECS.Tag = c.String("tag")
	}
	s, err := t.File.ResolveECS()
	if err != nil {
		return nil, container.Input{}, err
	}
	return t, container.Input{Stack: t.Stack, Region: t.Region, Settings: s}, nil
}

// runECSDeploy is deploy (apply) and plan (dryRun) of --ecs.
func runECSDeploy(c *cli.Context, dryRun bool) error {
	if err := noArgs(c); err != nil {
		return err
	}
	t, in, err := resolveECSInput(c)
	if err != nil {
		return err
	}
	progress := c.App.ErrWriter
	if progress == nil {
		progress = os.Stderr
	}
	if in.Image, err = ownImage(c, progress); err != nil {
		return err
	}
	return deployComponent(c.Context, c, t, &container.Component{In: &in}, dryRun, progress)
}

// ownImage builds rudderctl's own image (container/image: this static binary on scratch
// with CA certificates, reproducible) for the deploy to push to the stack's repository.
func ownImage(c *cli.Context, progress io.Writer) (*container.OwnImage, error) {
	bin := c.String("image-binary")
	fmt.Fprintf(progress, "building rudderctl's image from %s...\n", orRunning(bin))
	img, err := image.Build(c.Context, image.BuildOptions{Binary: bin})
	if err != nil {
		return nil, fmt.Errorf("%w\n(the image holds this rudderctl binary, which must be static: build it with CGO_ENABLED=0, or pass --image-binary with a static linux build)", err)
	}
	return container.NewOwnImage(c.Context, img)
}

func orRunning(bin string) string {
	if bin == "" {
		return "the running rudderctl"
	}
	return bin
}

// runECSRollback is `rollback transformer --ecs`.
func runECSRollback(c *cli.Context) error {
	t, cl, err := openStack(c)
	if err != nil {
		return err
	}
	progress := c.App.ErrWriter
	if progress == nil {
		progress = os.Stderr
	}
	from, to, err := container.Rollback(c.Context, cl, t.Stack, progress)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, map[string]string{"stack": t.Stack, "service": container.NamesFor(t.Stack).Service, "from": from, "to": to})
	}
	fmt.Fprintf(c.App.Writer, "service %s: task definition %s -> %s\n", container.NamesFor(t.Stack).Service, from, to)
	return nil
}
