package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/config"
)

// initCommand is `rudderctl init`: write a commented rudderctl.yaml.
func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "write a commented rudderctl.yaml",
		UsageText: "rudderctl init [--config FILE] [--stack NAME] [--region R] [--force]",
		Description: `Writes a commented rudderctl.yaml with every key the deploy reads and its default.
An existing file is kept unless --force.

Examples:
   rudderctl init
   rudderctl init --stack prod --region eu-west-1
   rudderctl init --config ops/rudderctl.yaml --force`,
		Flags: append(stackFlags(),
			&cli.BoolFlag{Name: "force", Usage: "overwrite an existing file"},
		),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			path := c.String("config")
			if path == "" {
				path = config.DefaultFile
			}
			if err := config.WriteTemplate(path, c.String("stack"), c.String("region"), c.Bool("force")); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote %s; edit it, then run `rudderctl plan transformer --lambda`\n", path)
			return nil
		},
	}
}
