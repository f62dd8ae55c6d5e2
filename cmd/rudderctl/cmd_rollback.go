package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
)

// rollbackCommand is `rudderctl rollback transformer`.
func rollbackCommand() *cli.Command {
	return &cli.Command{
		Name:  "rollback",
		Usage: "point a component back at its previous version",
		Subcommands: []*cli.Command{{
			Name:      "transformer",
			Usage:     "point the alias live at the previous published version",
			UsageText: "rudderctl rollback transformer [--ecs] [--stack NAME] [--config FILE] [--region R] [--json]",
			Description: `Moves the alias "live" (what API Gateway invokes) to the published version before the
one it serves now. No code is uploaded; the next deploy moves it forward again. With --ecs,
updates the user-functions service to the task definition revision before the one it runs
(a rolling update, waited for like a deploy).

Examples:
   rudderctl rollback transformer
   rudderctl rollback transformer --stack prod
   rudderctl rollback transformer --ecs --stack prod`,
			Flags: append(stackFlags(), jsonFlag(), &cli.BoolFlag{Name: "ecs", Usage: "the user-functions service on ECS"}),
			Action: func(c *cli.Context) error {
				if c.Bool("ecs") {
					return runECSRollback(c)
				}
				t, cl, err := openStack(c)
				if err != nil {
					return err
				}
				progress := c.App.ErrWriter
				if progress == nil {
					progress = os.Stderr
				}
				from, to, err := transformer.RollbackWithProgress(c.Context, cl, t.Stack, progress)
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return printJSON(c.App.Writer, map[string]string{"stack": t.Stack, "alias": transformer.AliasName, "from": from, "to": to})
				}
				fmt.Fprintf(c.App.Writer, "alias %s: version %s -> %s\n", transformer.AliasName, from, to)
				return nil
			},
		}},
	}
}
