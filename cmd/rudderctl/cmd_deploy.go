package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
)

// deployCommand is `rudderctl deploy transformer --lambda`.
func deployCommand() *cli.Command {
	return &cli.Command{
		Name:  "deploy",
		Usage: "deploy a component to AWS",
		Subcommands: []*cli.Command{{
			Name:      "transformer",
			Usage:     "deploy the RudderStack transformer to Lambda behind an API Gateway HTTP API",
			UsageText: "rudderctl deploy transformer --lambda [--src DIR [--rebuild-native] [--keep GLOB] [--prune GLOB] | --zip FILE] [--stack NAME] [--config FILE] [--region R] [--json]\n   rudderctl deploy transformer --ecs [--tag TAG] [--stack NAME] [--config FILE] [--region R] [--json]",
			Description: `Reconciles the stack, in order: IAM execution role (logs to its own group only), log
group, Lambda function (code uploaded only when its SHA-256 differs — a zip over Lambda's
50 MB direct-upload limit goes through the stack's S3 bucket — configuration updated only
when it differs), a published version and the alias "live", and an HTTP API whose only
routes are ANY /<secret> and ANY /<secret>/{proxy+} with the $default stage. Everything is
tagged rudderctl:stack=<name>; the cloud is the only record. Running it again changes
nothing when nothing changed, and finishes an interrupted deploy.

With changes to make, the deploy holds the stack lock (an object in the stack's S3 bucket,
written with S3 conditional writes): a second deploy, destroy or rollback of the stack waits
up to 3 minutes, then refuses naming the holder; a lock whose holder died is taken over once
it expires. A newly published version is invoked with GET <secret><health_path> before
alias live moves to it; unless it answers 2xx the alias stays where it was, the deploy
fails with the function's log tail, and a re-run checks it again.

With --ecs it deploys the user-functions transformer instead (the ecs: section of
rudderctl.yaml; docs/ECS.md): an ECS Fargate service of the pinned rudder-transformer image
behind an internal load balancer that only the nodes' security group reaches, with its
execution role, log group, auto scaling and rudderctl's own image in the stack's ECR
repository. It waits for the service's steady state; a rollout the deployment circuit
breaker stops is reported with the stopped tasks and their reasons (the service is back on
the previous revision). The stack's workspace must be deployed first.

The endpoint secret is generated once per stack and kept in the function's environment;
it is never printed here (see ` + "`rudderctl endpoints --show-secret`" + `).

Examples:
   rudderctl deploy transformer --lambda --zip build/transformer.zip --region eu-west-1
   rudderctl deploy transformer --lambda --src ./rudder-transformer --rebuild-native --stack prod
   rudderctl deploy transformer --lambda --config ops/rudderctl.yaml --memory 2048 --json
   AWS_ENDPOINT_URL=http://127.0.0.1:4566 rudderctl deploy transformer --lambda --zip t.zip --region us-east-1
   rudderctl deploy transformer --ecs --stack prod
   rudderctl deploy transformer --ecs --tag ut-1.146.0 --json`,
			Flags:  transformerFlags(),
			Action: func(c *cli.Context) error { return runDeploy(c, false) },
		}, workspaceDeployCommand(false), nodesDeployCommand(false)},
	}
}

// runDeploy is shared by deploy (apply) and plan (dryRun).
func runDeploy(c *cli.Context, dryRun bool) error {
	if c.Bool("ecs") {
		return runECSDeploy(c, dryRun)
	}
	if c.IsSet("tag") || c.IsSet("image-binary") {
		return fmt.Errorf("--tag/--image-binary refused without --ecs: they are about the ECS service's images; the Lambda deploy takes --src or --zip")
	}
	if err := noArgs(c); err != nil {
		return err
	}
	t, in, src, err := resolveInput(c)
	if err != nil {
		return err
	}
	progress := c.App.ErrWriter
	if progress == nil {
		progress = os.Stderr
	}
	zi, cleanup, err := prepareCode(c.Context, &in, src, progress)
	defer cleanup()
	if err != nil {
		return err
	}
	in.Zip = zi.Path
	return deployComponent(c.Context, c, t, &transformer.Component{In: &in, Zip: zi}, dryRun, progress)
}
