package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
)

// statusCommand is `rudderctl status`: what exists for the stack.
func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show what exists for the stack in AWS",
		UsageText: "rudderctl status [--stack NAME] [--config FILE] [--region R] [--json]",
		Description: `Reads the stack (read-only) and shows each part, its state, the published versions,
the version the alias "live" serves and the endpoint (without its secret); with a workspace
deployed, the workspace server's live version and the workspace id and version it serves.

Examples:
   rudderctl status
   rudderctl status --stack prod --region eu-west-1 --json`,
		Flags: append(stackFlags(), jsonFlag()),
		Action: func(c *cli.Context) error {
			t, cl, err := openStack(c)
			if err != nil {
				return err
			}
			s, err := transformer.GetStatus(c.Context, cl, t.Stack, t.Region)
			if err != nil {
				return err
			}
			ws, err := workspaceStatus(c, cl, t.Stack)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, struct {
					*transformer.Status
					Workspace any `json:"workspace"`
				}{s, ws})
			}
			w := c.App.Writer
			if !s.Deployed {
				fmt.Fprintf(w, "stack %s (%s): nothing deployed\n", s.Stack, s.Region)
				return nil
			}
			fmt.Fprintf(w, "stack %s (%s)\n", s.Stack, s.Region)
			item := func(label string, it *transformer.StatusItem) {
				if it == nil {
					fmt.Fprintf(w, "  %-11s missing\n", label)
					return
				}
				fmt.Fprintf(w, "  %-11s %s %s\n", label, it.Name, it.Detail)
			}
			item("role", s.Role)
			item("log group", s.LogGroup)
			if f := s.Function; f != nil {
				fmt.Fprintf(w, "  %-11s %s %s/%s, %s %s, %d MB, %d s\n", "function", f.Name, f.State, f.LastUpdate, f.Runtime, f.Arch, f.Memory, f.Timeout)
				fmt.Fprintf(w, "  %-11s %s\n", "versions", strings.Join(f.Versions, ", "))
				fmt.Fprintf(w, "  %-11s live -> %s\n", "alias", f.AliasVersion)
			} else {
				fmt.Fprintf(w, "  %-11s missing\n", "function")
			}
			if a := s.API; a != nil {
				fmt.Fprintf(w, "  %-11s %s, %d routes, %d integrations, $default stage %v\n", "api", a.ID, a.Routes, a.Integrations, a.Stage)
				fmt.Fprintf(w, "  %-11s %s\n", "endpoint", a.Endpoint)
			} else {
				fmt.Fprintf(w, "  %-11s missing\n", "api")
			}
			fmt.Fprintf(w, "  %-11s %v\n", "permission", s.Permission)
			if s.Bucket != nil {
				item("s3 bucket", s.Bucket)
			}
			if s.Lock != "" {
				fmt.Fprintf(w, "  %-11s held by %s\n", "lock", s.Lock)
			}
			for _, p := range s.Problems {
				fmt.Fprintf(w, "  problem: %s\n", p)
			}
			ws.WriteText(w)
			return nil
		},
	}
}
