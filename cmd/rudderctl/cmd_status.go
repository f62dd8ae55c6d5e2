package main

import (
	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/deploy/components"
)

// statusCommand is `rudderctl status`: what exists for the stack.
func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show what exists for the stack in AWS",
		UsageText: "rudderctl status [--stack NAME] [--config FILE] [--region R] [--json]",
		Description: `Reads the stack (read-only) and shows each part, its state, the published versions,
the version the alias "live" serves and the endpoint (without its secret).

Examples:
   rudderctl status
   rudderctl status --stack prod --region eu-west-1 --json`,
		Flags: append(stackFlags(), jsonFlag()),
		Action: func(c *cli.Context) error {
			t, cl, err := openStack(c)
			if err != nil {
				return err
			}
			// One report per component of the stack (--json: one object each).
			for _, comp := range components.All() {
				s, err := comp.Status(c.Context, cl, t.stack())
				if err != nil {
					return err
				}
				if c.Bool("json") {
					if err := printJSON(c.App.Writer, s); err != nil {
						return err
					}
					continue
				}
				s.WriteText(c.App.Writer)
			}
			return nil
		},
	}
}
