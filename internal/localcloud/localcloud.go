// Package localcloud is a single-process stand-in for the slice of AWS that rudderctl uses:
// STS, IAM, Lambda, API Gateway v2 (HTTP APIs), CloudWatch Logs, S3, ECR, EC2 (default VPC,
// security groups), ELBv2 (application load balancers as reverse proxies on loopback), ECS
// (Fargate services and tasks run as processes) and Application Auto Scaling. It speaks the
// wire protocols that aws-sdk-go-v2, the AWS CLI and boto3 use, keeps state on disk, and
// executes the Lambda functions deployed into it (through internal/lambdalocal), serving API
// stages and load balancer listeners on loopback.
//
// The package is a facade: the listener, dispatch, codecs, faults, stats and persistence are
// in core, and each service is a room of its own (sts, iam, lambda, apigateway, logs, s3, ecr,
// ec2, elbv2, ecs, appautoscaling),
// listed once in rooms below. docs/ADDING_A_LOCAL_SERVICE.md walks through adding one.
package localcloud

import (
	"context"

	"github.com/rudderctl/rudderctl/internal/localcloud/apigateway"
	"github.com/rudderctl/rudderctl/internal/localcloud/appautoscaling"
	"github.com/rudderctl/rudderctl/internal/localcloud/core"
	"github.com/rudderctl/rudderctl/internal/localcloud/ec2"
	"github.com/rudderctl/rudderctl/internal/localcloud/ecr"
	"github.com/rudderctl/rudderctl/internal/localcloud/ecs"
	"github.com/rudderctl/rudderctl/internal/localcloud/elbv2"
	"github.com/rudderctl/rudderctl/internal/localcloud/iam"
	"github.com/rudderctl/rudderctl/internal/localcloud/lambda"
	"github.com/rudderctl/rudderctl/internal/localcloud/logs"
	"github.com/rudderctl/rudderctl/internal/localcloud/rds"
	"github.com/rudderctl/rudderctl/internal/localcloud/s3"
	"github.com/rudderctl/rudderctl/internal/localcloud/secretsmanager"
	"github.com/rudderctl/rudderctl/internal/localcloud/sts"
)

// rooms are the services of the local cloud, one line each. The order matters twice:
// unsigned requests go to the first room that recognises them, and rooms close in reverse
// (API stages before the functions they invoke, functions before the logs they write).
func rooms() []core.Room {
	return []core.Room{
		s3.New(),
		logs.New(),
		sts.New(),
		iam.New(),
		lambda.New(),
		apigateway.New(),
		ecr.New(), // after apigateway: its /v2/ registry paths are unsigned, API Gateway's are signed
		secretsmanager.New(),
		rds.New(), // after secretsmanager: it closes first, its secrets outlive it
		ec2.New(),
		elbv2.New(),
		ecs.New(),
		appautoscaling.New(),
	}
}

// AccountID is the account every resource lives in.
const AccountID = core.AccountID

type (
	// Cloud is a running local cloud.
	Cloud = core.Cloud
	// Options configures a Cloud.
	Options = core.Options
	// Delays are the simulated eventual-consistency windows.
	Delays = core.Delays
	// Stats counts the API calls the cloud has answered.
	Stats = core.Stats
	// Resource is one resource carrying a tag (see Cloud.Resources).
	Resource = core.Resource
	// Call is one API call the cloud answered (see Cloud.Calls).
	Call = core.Call
	// CallLog is the ordered call record.
	CallLog = core.CallLog
)

// ErrStateDirInUse is returned by Start when another local cloud holds the state dir.
var ErrStateDirInUse = core.ErrStateDirInUse

// Start listens on o.Addr, loads state from o.StateDir and serves until Close.
func Start(ctx context.Context, o Options) (*Cloud, error) {
	return core.Start(ctx, o, rooms())
}
