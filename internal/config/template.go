package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Template is the commented rudderctl.yaml that `rudderctl init` writes.
func Template(stack, region string) string {
	if stack == "" {
		stack = DefaultStack
	}
	regionLine := "# region: eu-west-1      # else --region, AWS_REGION or AWS_DEFAULT_REGION"
	if region != "" {
		regionLine = "region: " + region + "        # flag --region overrides"
	}
	return strings.Join([]string{
		"# rudderctl.yaml — how `rudderctl deploy transformer --lambda` deploys the",
		"# RudderStack destination transformer to AWS Lambda behind an API Gateway HTTP API.",
		"# Every key can be overridden by a flag; unknown keys are refused.",
		"",
		"# The stack name: part of every AWS name (rudderctl-<stack>-transformer) and the",
		"# tag rudderctl:stack=<stack> that marks what the stack owns.",
		"stack: " + stack,
		regionLine,
		"",
		"transformer:",
		"  # The code: either an app directory packaged on deploy (src) or a zip built",
		"  # with `rudderctl package` (zip). Paths are relative to this file.",
		"  src: ./rudder-transformer",
		"  # zip: ./dist/transformer.zip",
		"",
		"  # Lambda settings. With a zip, runtime and arch must match its manifest (leave",
		"  # them out to take the manifest's).",
		"  runtime: " + DefaultRuntime + "    # nodejs22.x | nodejs24.x",
		"  arch: " + DefaultArch + "           # x86_64 | arm64",
		fmt.Sprintf("  memory: %d           # MB, %d..%d (CPU grows with memory)", DefaultMemory, MinMemory, MaxMemory),
		fmt.Sprintf("  timeout: %d            # seconds, %d..%d (API Gateway cuts requests at 30 s)", DefaultTimeout, MinTimeout, MaxTimeout),
		fmt.Sprintf("  log_retention_days: %d # CloudWatch Logs retention of /aws/lambda/<function>", DefaultLogRetention),
		"",
		"  # How a deploy from src packages the app (the options of `rudderctl package`;",
		"  # flags --rebuild-native, --keep, --prune override them).",
		"  package:",
		"    rebuild_native: false # true: npm rebuild native modules (isolated-vm) for the target Node",
		"    # keep: [\"node_modules/some-pkg/docs/**\"]  # globs kept whatever the prune rules say",
		"    # prune: [\"**/*.png\"]                     # globs of extra files to leave out",
		"",
		"  # Extra environment for the transformer (the function's own values win over the",
		"  # zip manifest's env). Lambda's reserved keys (AWS_REGION, AWS_ACCESS_KEY_ID, TZ...,",
		"  # see docs/DEPLOY.md) and rudderctl's RUDDERCTL_PATH_PREFIX are refused.",
		"  environment:",
		"    LOG_LEVEL: info",
		"",
		"# The user-functions transformer on ECS Fargate behind an internal load balancer",
		"# (`rudderctl deploy transformer --ecs`, docs/ECS.md). Every key is optional.",
		"ecs:",
		"  image: " + DefaultECSImage + "   # the upstream user-functions image",
		"  tag: " + DefaultECSTag + "                       # pinned; latest is refused",
		fmt.Sprintf("  cpu: %d                             # Fargate CPU units (1024 = 1 vCPU)", DefaultECSCPU),
		fmt.Sprintf("  memory: %d                          # MB, a Fargate size for the cpu", DefaultECSMemory),
		fmt.Sprintf("  desired_count: %d                      # within min_count..max_count", DefaultECSDesired),
		fmt.Sprintf("  min_count: %d", DefaultECSMin),
		fmt.Sprintf("  max_count: %d", DefaultECSMax),
		"  scaling:",
		fmt.Sprintf("    metric: %s                          # cpu | requests (per target)", DefaultECSMetric),
		fmt.Sprintf("    target: %d", DefaultECSCPUTarget),
		fmt.Sprintf("  deregistration_delay: %d              # seconds a draining task may finish requests", DefaultDeregistrationDelay),
		fmt.Sprintf("  listener_port: %d", DefaultListenerPort),
		"  # vpc: vpc-0123abcd             # with subnets; default: the region's default VPC",
		"  # subnets: [subnet-0123abcd, subnet-4567ef01]",
		"",
	}, "\n")
}

// WriteTemplate writes the template to path; an existing file is kept unless force.
func WriteTemplate(path, stack, region string, force bool) error {
	if path == "" {
		path = DefaultFile
	}
	if stack != "" {
		if err := ValidateStack(stack); err != nil {
			return err
		}
	}
	if region != "" {
		if err := ValidateRegion(region); err != nil {
			return err
		}
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s not written: the file already exists; pass --force to overwrite it", path)
		}
		return fmt.Errorf("%s not written: %v; check the directory and its permissions", path, err)
	}
	if _, err := f.WriteString(Template(stack, region)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
