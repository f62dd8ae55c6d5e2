package core

// The small interfaces rooms use to reach each other (found with Peer): a room never
// imports another.

import (
	"context"
	"fmt"
)

// Roles is what Lambda asks IAM.
type Roles interface {
	// RoleUsable reports whether a role ARN exists and is older than the propagation delay.
	RoleUsable(arn string) bool
}

// Objects is what Lambda reads function code from (S3).
type Objects interface {
	// ReadObject returns an object's bytes. A bucket, region or key that does not answer is
	// an *ObjectError with S3's error code.
	ReadObject(region, bucket, key string) ([]byte, error)
}

// ObjectError is S3's answer to a GetObject that fails.
type ObjectError struct{ Code, Message string }

func (e *ObjectError) Error() string { return fmt.Sprintf("S3 %s: %s", e.Code, e.Message) }

// FunctionLogs is where a running function's lines go (CloudWatch Logs).
type FunctionLogs interface {
	// AppendFunctionLog records a line a function printed in /aws/lambda/<fn>, stream stream.
	AppendFunctionLog(fn, region, stream, line string)
}

// Functions is what an API stage invokes (Lambda).
type Functions interface {
	// GatewayGrant reports whether the function exists and whether its resource policy (of
	// the qualifier) lets apigateway.amazonaws.com invoke it from sourceArn; arn names it.
	GatewayGrant(fn, qual, sourceArn string) (exists, allowed bool, arn string)
	// InvokeFunction runs one synchronous invocation. err: the function (version) is not
	// there or not ready; a function that fails is a FunctionError, not err.
	InvokeFunction(ctx context.Context, fn, qual string, payload []byte) (payload2 []byte, functionError string, err error)
}

// LogLines is where any program the cloud runs writes its lines (CloudWatch Logs): an ECS
// task's awslogs driver. The group and stream are created when missing, as the awslogs
// driver does with awslogs-create-group.
type LogLines interface {
	AppendLogLine(region, group, stream, line string)
}

// Network is what ECS asks EC2 about a task's awsvpc configuration.
type Network interface {
	// Subnet returns a subnet's CIDR and VPC id; ok is false when there is no such subnet.
	Subnet(region, subnetID string) (cidr, vpcID string, ok bool)
	// SecurityGroupVPC returns the VPC of a security group; ok is false when it is absent.
	SecurityGroupVPC(region, groupID string) (vpcID string, ok bool)
}

// Targets is what ECS tells ELBv2 about the tasks of a service with a load balancer.
// Targets are ip:port (target type ip), dialled by the load balancer's proxy as they are.
type Targets interface {
	// TargetGroupPort returns the target group's port and whether it exists.
	TargetGroupPort(tgARN string) (port int, ok bool)
	// RegisterTarget adds ip:port to the group; its health starts "initial".
	RegisterTarget(tgARN, ip string, port int) error
	// DeregisterTarget starts draining ip:port: no new requests, in-flight ones finish,
	// removed after the group's deregistration delay.
	DeregisterTarget(tgARN, ip string, port int)
	// TargetHealth is the target's state as DescribeTargetHealth gives it: "initial",
	// "healthy", "unhealthy", "draining" or "unused" (not registered).
	TargetHealth(tgARN, ip string, port int) string
}

// Images is what a task's container image is read from (the ECR registry).
type Images interface {
	// UnpackImage resolves an image reference to an unpacked root filesystem. mine is false
	// when the reference is not in this registry (its host is not the local ECR's); err
	// is set when it is, but the repository, tag or digest is missing (ECS turns it into a
	// CannotPullContainerError stop reason).
	UnpackImage(ref string) (img *UnpackedImage, mine bool, err error)
}

// UnpackedImage is an image of the local registry, unpacked once per digest.
type UnpackedImage struct {
	Digest     string   // sha256:... of the manifest
	Root       string   // directory holding the unpacked layers
	Entrypoint []string // from the image config
	Cmd        []string
	Env        []string // KEY=VALUE
	WorkingDir string
}

// Secrets is what other rooms ask Secrets Manager: ECS resolving a container's `secrets`,
// RDS keeping an instance's managed master password.
type Secrets interface {
	// SecretValue resolves an ECS secret's valueFrom: a secret's full ARN (or, in the
	// same region, its name), optionally followed by :json-key:version-stage:version-id
	// (each part may be empty). The error reads as Secrets Manager's answer.
	SecretValue(region, valueFrom string) (string, error)
	// CreateServiceSecret creates a secret another service owns (OwningService), with
	// value as its AWSCURRENT string; name may use the "!" service secrets use.
	CreateServiceSecret(region, name, value, owningService, kmsKeyID string, tags map[string]string) (arn string, err error)
	// DeleteServiceSecret deletes such a secret at once (no recovery window).
	DeleteServiceSecret(arn string)
}
