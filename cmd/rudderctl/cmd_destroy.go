package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/backendnodes"
	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/components"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// destroyCommand is `rudderctl destroy`.
func destroyCommand() *cli.Command {
	return &cli.Command{
		Name:      "destroy",
		Usage:     "delete everything the stack owns in AWS",
		UsageText: "rudderctl destroy [--yes] [--delete-snapshots] [--stack NAME] [--config FILE] [--region R] [--json]",
		Description: `Deletes everything tagged rudderctl:stack=<name>, the last deployed part first:
the nodes (services, databases, the public load balancer, their groups, secret, role and
logs), the user functions on ECS (service, internal load balancer, image repository, ...),
the workspace, then the transformer on Lambda (permission, API, alias, versions, function,
the artifacts bucket, log group, role). Each node's database leaves a final snapshot
(rudderctl-<stack>-node-<i>-final-<time>), which keeps what it had not delivered;
--delete-snapshots deletes the databases with no final snapshot and the final snapshots
earlier removals left. Running it again says there is nothing to destroy. Without --yes it
asks on a terminal, and refuses when there is none.

Examples:
   rudderctl destroy --stack staging
   rudderctl destroy --stack ci-123 --yes --delete-snapshots`,
		Flags: append(stackFlags(), jsonFlag(),
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			&cli.BoolFlag{Name: "delete-snapshots", Usage: "also delete the nodes' final snapshots (and take none now): what they hold, undelivered events too, is gone"}),
		Action: func(c *cli.Context) error {
			t, cl, err := openStack(c)
			if err != nil {
				return err
			}
			yes := c.Bool("yes")
			if !yes && !isTerminal(os.Stdin) {
				return fmt.Errorf("destroy of stack %q refused: it deletes the stack's function, API and logs, and there is no terminal to confirm on; pass --yes", t.Stack)
			}
			progress := c.App.ErrWriter
			if progress == nil {
				progress = os.Stderr
			}
			if !yes {
				planned, err := destroyAll(c, cl, t, true, nil)
				if err != nil {
					return err
				}
				if len(planned) == 0 {
					fmt.Fprintf(c.App.Writer, "stack %s (%s): nothing to destroy\n", t.Stack, t.Region)
					return nil
				}
				for _, ch := range planned {
					fmt.Fprintln(progress, ch.String())
				}
				fmt.Fprintf(progress, "type the stack name (%s) to delete these %d things: ", t.Stack, len(planned))
				line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
				if strings.TrimSpace(line) != t.Stack {
					return fmt.Errorf("destroy cancelled: the answer was not %q; nothing was deleted", t.Stack)
				}
			}
			done, err := destroyAll(c, cl, t, false, progress)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				list := []string{}
				for _, ch := range done {
					list = append(list, ch.String())
				}
				return printJSON(c.App.Writer, map[string]any{"stack": t.Stack, "region": t.Region, "deleted": len(done), "change_list": list})
			}
			if len(done) == 0 {
				fmt.Fprintf(c.App.Writer, "stack %s (%s): nothing to destroy\n", t.Stack, t.Region)
				return nil
			}
			fmt.Fprintf(c.App.Writer, "stack %s (%s): destroyed (%d deletions)\n", t.Stack, t.Region, len(done))
			return nil
		},
	}
}

// destroyAll destroys (dryRun: lists) every component of the stack, the last deployed
// first.
func destroyAll(c *cli.Context, cl *awsapi.Session, t *target, dryRun bool, progress io.Writer) ([]engine.Change, error) {
	all := components.All()
	for _, k := range all {
		if nodes, ok := k.(*backendnodes.Component); ok {
			nodes.DeleteSnapshots = c.Bool("delete-snapshots")
		}
	}
	var changes []engine.Change
	for i := len(all) - 1; i >= 0; i-- {
		cs, err := all[i].Destroy(c.Context, cl, t.stack(), dryRun, progress)
		if err != nil {
			return nil, err
		}
		changes = append(changes, cs...)
	}
	return changes, nil
}
