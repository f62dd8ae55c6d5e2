package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/container"
	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
)

// logsCommand is `rudderctl logs transformer`.
func logsCommand() *cli.Command {
	return &cli.Command{
		Name:  "logs",
		Usage: "print a component's logs",
		Subcommands: []*cli.Command{{
			Name:      "transformer",
			Usage:     "print the transformer function's CloudWatch logs",
			UsageText: "rudderctl logs transformer [--ecs] [--since 10m] [--follow] [--json] [--stack NAME] [--config FILE] [--region R]",
			Description: `Prints the events of /aws/lambda/rudderctl-<stack>-transformer (FilterLogEvents):
"TIMESTAMP STREAM MESSAGE" per line, or with --json one JSON object per event and line
({"timestamp","stream","message"}), for jq or a log shipper. With --ecs, the user-functions
service's group /ecs/rudderctl-<stack>-functions (one stream per task: ecs/transformer/<task id>).

Examples:
   rudderctl logs transformer
   rudderctl logs transformer --since 1h
   rudderctl logs transformer --follow --stack prod
   rudderctl logs transformer --ecs --since 1h
   rudderctl logs transformer --json | jq -r 'select(.message | test("ERROR")) | .message'`,
			Flags: append(stackFlags(), jsonFlag(),
				&cli.DurationFlag{Name: "since", Value: 10 * time.Minute, Usage: "how far back to start"},
				&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new events until interrupted"},
				&cli.BoolFlag{Name: "ecs", Usage: "the user-functions service on ECS (every task's stream)"}),
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
				if c.Bool("ecs") {
					return container.Logs(ctx, cl, t.Stack, time.Now().Add(-c.Duration("since")), c.Bool("follow"), c.Bool("json"), c.App.Writer)
				}
				return transformer.Logs(ctx, cl, t.Stack, time.Now().Add(-c.Duration("since")), c.Bool("follow"), c.Bool("json"), c.App.Writer)
			},
		}, workspaceLogsCommand(), nodeLogsCommand()},
	}
}
