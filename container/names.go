// Package container deploys the user-functions transformer (rudder-transformer's ut-
// image, which runs user JavaScript in isolated-vm) as an ECS Fargate service behind an
// internal application load balancer: `rudderctl deploy transformer --ecs`. The nodes
// call it as USER_TRANSFORM_URL. It is a component on the reconcile engine, like the
// Lambda transformer and the workspace: observe (read-only, by fixed names and the stack
// tag) -> plan (pure) -> apply (engine.Run under the stack lock); the cloud is the only
// record. docs/ECS.md describes what it creates and why.
//
// container/image (rudderctl's own image) is built and pushed to the stack's ECR
// repository by the same deploy.
package container

import (
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// ComponentName is the component's name (resource names, status).
const ComponentName = "functions"

// Fixed values of the service.
const (
	ContainerName = "transformer"
	ContainerPort = 9090
	HealthPath    = "/health"
	PolicyName    = "rudderctl-execution"
	RolePath      = "/rudderctl/"
	// LogStreamPrefix is the awslogs-stream-prefix: streams are <prefix>/<container>/<task id>.
	LogStreamPrefix = "ecs"
	// ScalingPolicyName is the target tracking policy's name.
	ScalingPolicyName = "rudderctl-target-tracking"
	// ImageTag is the tag rudderctl's own image is pushed under in the stack's repository.
	ImageTag = "current"
)

// Names are the AWS names of one stack's user-functions service.
type Names struct {
	Stack         string
	Base          string // rudderctl-<stack>-functions: cluster, service, family, role
	Cluster       string
	Service       string
	Family        string
	Role          string
	LogGroup      string
	LoadBalancer  string // <= 32 characters
	TargetGroup   string // <= 32 characters
	ALBGroup      string // security group of the load balancer
	TasksGroup    string // security group of the tasks
	NodesGroup    string // security group the nodes (issue #11) run in: the only one the ALB admits
	Repository    string // ECR repository of rudderctl's own image
	ScalingTarget string // Application Auto Scaling resource id
	Secret        string // Secrets Manager: the workspace URL (CONFIG_BACKEND_URL), secret prefix included
}

// NamesFor derives the names from the stack name.
func NamesFor(stackName string) Names {
	base := stack.ResourceName(stackName, ComponentName)
	short := kinds.ELBName(stackName, "fn")
	return Names{Stack: stackName, Base: base, Cluster: base, Service: base, Family: base, Role: base + "-exec",
		LogGroup: "/ecs/" + base, LoadBalancer: short, TargetGroup: kinds.ELBName(stackName, "fn-tg"),
		ALBGroup: base + "-alb", TasksGroup: base + "-tasks", NodesGroup: stack.ResourceName(stackName, "nodes"),
		Repository: "rudderctl-" + stackName + "/rudderctl", ScalingTarget: "service/" + base + "/" + base,
		Secret: base}
}

// SecretRef is the secret's ARN without the random suffix AWS adds: known before the
// secret exists and still right after it is recreated (ECS and Secrets Manager accept it).
func (n Names) SecretRef(region, account string) string {
	return "arn:aws:secretsmanager:" + region + ":" + account + ":secret:" + n.Secret
}

// Tags are put on everything the component creates.
func (n Names) Tags() map[string]string { return stack.ComponentTags(n.Stack, ComponentName) }
