package main

import (
	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/deploy/components"
)

// endpointsCommand is `rudderctl endpoints`: DEST_TRANSFORM_URL for rudder-server.
func endpointsCommand() *cli.Command {
	return &cli.Command{
		Name:      "endpoints",
		Usage:     "show the transformer endpoint (DEST_TRANSFORM_URL for rudder-server)",
		UsageText: "rudderctl endpoints [--show-secret] [--stack NAME] [--config FILE] [--region R] [--json]",
		Description: `Prints the API URL. rudder-server needs it with the secret path prefix as
DEST_TRANSFORM_URL; the prefix is shown only with --show-secret.

Examples:
   rudderctl endpoints
   export DEST_TRANSFORM_URL=$(rudderctl endpoints --show-secret --json | jq -r .dest_transform_url)`,
		Flags: append(stackFlags(), jsonFlag(),
			&cli.BoolFlag{Name: "show-secret", Usage: "include the secret path prefix in DEST_TRANSFORM_URL"}),
		Action: func(c *cli.Context) error {
			t, cl, err := openStack(c)
			if err != nil {
				return err
			}
			for _, comp := range components.All() {
				e, err := comp.Endpoints(c.Context, cl, t.stack(), c.Bool("show-secret"))
				if err != nil {
					return err
				}
				if c.Bool("json") {
					if err := printJSON(c.App.Writer, e); err != nil {
						return err
					}
					continue
				}
				e.WriteText(c.App.Writer)
			}
			return nil
		},
	}
}
