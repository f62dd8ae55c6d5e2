package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
)

// endpointsCommand is `rudderctl endpoints`: DEST_TRANSFORM_URL for rudder-server.
func endpointsCommand() *cli.Command {
	return &cli.Command{
		Name:      "endpoints",
		Usage:     "show the stack's endpoints (DEST_TRANSFORM_URL, and CONFIG_BACKEND_URL when a workspace is deployed)",
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
			e, err := transformer.GetEndpoint(c.Context, cl, t.Stack, c.Bool("show-secret"))
			if err != nil {
				return err
			}
			ws, err := workspaceEndpoints(c, cl, t.Stack, c.Bool("show-secret"))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				if ws != nil {
					return printJSON(c.App.Writer, struct {
						*transformer.Endpoint
						ConfigBackendURL string `json:"config_backend_url"`
						WorkspaceToken   string `json:"workspace_token,omitempty"`
					}{e, ws.ConfigBackendURL, ws.WorkspaceToken})
				}
				return printJSON(c.App.Writer, e)
			}
			fmt.Fprintf(c.App.Writer, "url                 %s\n", e.URL)
			fmt.Fprintf(c.App.Writer, "DEST_TRANSFORM_URL  %s\n", e.DestTransformURL)
			if ws != nil {
				ws.WriteText(c.App.Writer)
			}
			if !e.SecretShown {
				fmt.Fprintln(c.App.Writer, "(pass --show-secret to print the real prefix)")
			}
			return nil
		},
	}
}
