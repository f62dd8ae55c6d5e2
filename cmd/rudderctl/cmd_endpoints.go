package main

import (
	"encoding/json"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/deploy/components"
)

// endpointsCommand is `rudderctl endpoints`: DEST_TRANSFORM_URL for rudder-server.
func endpointsCommand() *cli.Command {
	return &cli.Command{
		Name:      "endpoints",
		Usage:     "show the stack's endpoints (DEST_TRANSFORM_URL; CONFIG_BACKEND_URL when a workspace is deployed)",
		UsageText: "rudderctl endpoints [--show-secret] [--stack NAME] [--config FILE] [--region R] [--json]",
		Description: `Prints the API URL. rudder-server needs it with the secret path prefix as
DEST_TRANSFORM_URL; the prefix is shown only with --show-secret. With a workspace deployed
(rudderctl deploy workspace), also CONFIG_BACKEND_URL (rudder-server's and the transformer's
config backend) and, with --show-secret only, WORKSPACE_TOKEN.

Examples:
   rudderctl endpoints
   export DEST_TRANSFORM_URL=$(rudderctl endpoints --show-secret --json | jq -r .dest_transform_url)
   export CONFIG_BACKEND_URL=$(rudderctl endpoints --show-secret --json | jq -r .config_backend_url)`,
		Flags: append(stackFlags(), jsonFlag(),
			&cli.BoolFlag{Name: "show-secret", Usage: "include the secret path prefix in DEST_TRANSFORM_URL"}),
		Action: func(c *cli.Context) error {
			t, cl, err := openStack(c)
			if err != nil {
				return err
			}
			// --json: one object, the components' fields merged (jq -r .dest_transform_url,
			// .config_backend_url).
			merged := map[string]any{}
			for _, comp := range components.All() {
				e, err := comp.Endpoints(c.Context, cl, t.stack(), c.Bool("show-secret"))
				if err != nil {
					return err
				}
				if c.Bool("json") {
					if err := mergeJSON(merged, e); err != nil {
						return err
					}
					continue
				}
				e.WriteText(c.App.Writer)
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, merged)
			}
			return nil
		},
	}
}

// mergeJSON adds v's JSON fields to into.
func mergeJSON(into map[string]any, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, &into)
}
