package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/config"
	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
	wsdeploy "github.com/rudderctl/rudderctl/internal/deploy/workspace"
	"github.com/rudderctl/rudderctl/internal/workspace"
)

// workspaceDeployCommand is `rudderctl deploy workspace` (dryRun: `plan workspace`).
func workspaceDeployCommand(dryRun bool) *cli.Command {
	usage, name := "publish the workspace: a Go Lambda on the stack's HTTP API serving rudder-server's workspace config and the transformer's code", "deploy"
	if dryRun {
		usage, name = "show what `deploy workspace` would change, with read-only AWS calls only", "plan"
	}
	return &cli.Command{
		Name:      "workspace",
		Usage:     usage,
		UsageText: "rudderctl " + name + " workspace [--file workspace.yaml] [--arch x86_64|arm64] [--stack NAME] [--config FILE] [--region R] [--json]",
		Description: `Validates and compiles the workspace file (as ` + "`rudderctl workspace render`" + `; bad input is
refused before any AWS call), builds the workspace server (./lambda/workspace, a static Go
binary for provided.al2023) into a zip with the compiled workspace beside it, and reconciles:
IAM role (logs only), log group, function rudderctl-<stack>-workspace, a published version
checked with GET /workspaceConfig before alias "live" moves to it, and on the stack's HTTP API
(the transformer's: deploy the transformer first) the routes
GET /<secret>/workspaceConfig, /<secret>/transformation/getByVersionId and
/<secret>/transformationLibrary/getByVersionId. An unchanged workspace is an identical zip:
running it again makes no change and no mutating call.

The workspace token (rudder-server's WORKSPACE_TOKEN) and the write keys of sources without
one in the file are generated once per stack and kept in the function's environment, never in
the zip; ` + "`rudderctl endpoints --show-secret`" + ` prints CONFIG_BACKEND_URL and the token.

Examples:
   rudderctl deploy workspace --file examples/workspace/workspace.yaml
   rudderctl plan workspace --stack prod --json`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Value: workspace.DefaultFile, Usage: "the workspace file"},
			&cli.StringFlag{Name: "arch", Usage: "architecture of the server: x86_64 | arm64 (default: transformer.arch in the config, else x86_64)"},
			&cli.Int64Flag{Name: "log-retention-days", Usage: "CloudWatch Logs retention in days", DefaultText: "config, else 14"},
			&cli.StringFlag{Name: "binary", Usage: "prebuilt server binary (default: go build ./lambda/workspace from the source checkout)"},
			jsonFlag(),
		}, stackFlags()...),
		Action: func(c *cli.Context) error { return runWorkspaceDeploy(c, dryRun) },
	}
}

func runWorkspaceDeploy(c *cli.Context, dryRun bool) error {
	if err := noArgs(c); err != nil {
		return err
	}
	t, err := resolveTarget(c)
	if err != nil {
		return err
	}
	in := wsdeploy.Input{Stack: t.Stack, Region: t.Region, File: c.String("file"), Binary: c.String("binary"),
		Arch: c.String("arch"), LogRetention: int32(pickInt(c, "log-retention-days", t.File.Transformer.LogRetentionDays, config.DefaultLogRetention))}
	if in.Arch == "" {
		in.Arch = t.File.Transformer.Arch
	}
	if in.Arch == "" {
		in.Arch = config.DefaultArch
	}
	if err := config.ValidateArch(in.Arch); err != nil {
		return err
	}
	if err := config.ValidateRetention(int64(in.LogRetention)); err != nil {
		return err
	}
	progress := c.App.ErrWriter
	if progress == nil {
		progress = os.Stderr
	}
	code, err := wsdeploy.Prepare(c.Context, in, progress)
	if err != nil {
		return err
	}
	return deployComponent(c.Context, c, t, &wsdeploy.Component{In: &in, Code: code}, dryRun, progress)
}

// workspaceLogsCommand is `rudderctl logs workspace`: the workspace server's log group.
func workspaceLogsCommand() *cli.Command {
	return &cli.Command{
		Name:      "workspace",
		Usage:     "print the workspace server's CloudWatch logs (one line per request: route, version id, status; never a secret)",
		UsageText: "rudderctl logs workspace [--since 10m] [--follow] [--json] [--stack NAME] [--config FILE] [--region R]",
		Flags: append(stackFlags(), jsonFlag(),
			&cli.DurationFlag{Name: "since", Value: 10 * time.Minute, Usage: "how far back to start"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new events until interrupted"}),
		Action: func(c *cli.Context) error {
			if c.Duration("since") <= 0 {
				return fmt.Errorf("--since %s refused: it must be a positive duration such as 10m or 2h", c.Duration("since"))
			}
			t, cl, err := openStack(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return transformer.GroupLogs(ctx, cl, wsdeploy.NamesFor(t.Stack).LogGroup, "rudderctl deploy workspace", time.Now().Add(-c.Duration("since")), c.Bool("follow"), c.Bool("json"), c.App.Writer)
		},
	}
}
