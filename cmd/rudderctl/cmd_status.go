package main

import (
	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/backendnodes"
	"github.com/rudderctl/rudderctl/internal/deploy/components"
)

// statusCommand is `rudderctl status`: what exists for the stack.
func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show what exists for the stack in AWS",
		UsageText: "rudderctl status [--pending-in-vpc] [--stack NAME] [--config FILE] [--region R] [--json]",
		Description: `Reads the stack (read-only) and shows each part, its state, the published versions,
the version the alias "live" serves and the endpoint (without its secret); for each node its
task, target health, database state and pending jobs, counted where its database answers
from here. On AWS the nodes' databases are private: --pending-in-vpc counts their pending
jobs as a scale down does, with a one-off task of rudderctl's image per node inside the VPC
(it registers a task definition revision and runs those tasks; progress on stderr).

Examples:
   rudderctl status
   rudderctl status --pending-in-vpc
   rudderctl status --stack prod --region eu-west-1 --json`,
		Flags: append(stackFlags(), jsonFlag(),
			&cli.BoolFlag{Name: "pending-in-vpc", Usage: "count the nodes' pending jobs with a one-off task per node inside the VPC (runs tasks)"}),
		Action: func(c *cli.Context) error {
			t, cl, err := openStack(c)
			if err != nil {
				return err
			}
			// One report per component of the stack (--json: one object each).
			for _, comp := range components.All() {
				if nodes, ok := comp.(*backendnodes.Component); ok {
					nodes.CountPendingInVPC, nodes.Progress = c.Bool("pending-in-vpc"), c.App.ErrWriter
				}
				s, err := comp.Status(c.Context, cl, t.stack())
				if err != nil {
					return err
				}
				if err := printReport(c, s); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
