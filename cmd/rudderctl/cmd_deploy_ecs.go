package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/container"
)

// The --ecs side of `deploy|plan|logs|rollback transformer`: the user-functions service
// on ECS Fargate behind an internal ALB (package container, docs/ECS.md).

// ecsFlags are the flags only --ecs takes.
func ecsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "ecs", Usage: "the user-functions transformer on ECS Fargate behind an internal load balancer (config: ecs: in rudderctl.yaml; docs/ECS.md)"},
		&cli.StringFlag{Name: "tag", Usage: "with --ecs: the image tag to run (overrides ecs.tag)"},
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
	cl, err := clients(c.Context, t.Region)
	if err != nil {
		return err
	}
	comp := &container.Component{In: &in}
	res, err := comp.Deploy(c.Context, cl, t.stack(), dryRun, progress)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, res)
	}
	res.WriteText(c.App.Writer)
	return nil
}

// ownImage is rudderctl's own image, pushed to the stack's repository (nil until
// container/image is wired in).
func ownImage(c *cli.Context, progress interface{ Write([]byte) (int, error) }) (*container.OwnImage, error) {
	return nil, nil
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
