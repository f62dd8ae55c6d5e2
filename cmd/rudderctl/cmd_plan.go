package main

import "github.com/urfave/cli/v2"

// planCommand is `rudderctl plan transformer --lambda`: what deploy would change.
func planCommand() *cli.Command {
	return &cli.Command{
		Name:  "plan",
		Usage: "show what a deploy would change (read-only)",
		Subcommands: []*cli.Command{{
			Name:      "transformer",
			Usage:     "show what `deploy transformer --lambda` would change, with read-only AWS calls only",
			UsageText: "rudderctl plan transformer --lambda [--src DIR | --zip FILE] [--stack NAME] [--config FILE] [--region R] [--json]\n   rudderctl plan transformer --ecs [--tag TAG] [--stack NAME] [--json]",
			Description: `Reads the stack (IAM, CloudWatch Logs, Lambda, API Gateway; read-only calls) and
lists the changes a deploy with the same flags would make, in order. Nothing is created.
With --src the app is packaged locally first to know its code hash.

Examples:
   rudderctl plan transformer --lambda --zip build/transformer.zip
   rudderctl plan transformer --lambda --stack prod --json
   rudderctl plan transformer --ecs --tag ut-1.146.0`,
			Flags:  transformerFlags(),
			Action: func(c *cli.Context) error { return runDeploy(c, true) },
		}, workspaceDeployCommand(true), nodesDeployCommand(true)},
	}
}
