// Package kinds holds the resource kinds more than one deploy target shares: the IAM role
// and its policies, the log group, the stack's S3 bucket and its objects, tags, and the
// pieces of a service behind a load balancer (security groups and rules, load balancer,
// target group, listener, ECS cluster, a secret). Each file is
// one kind: its found state, find (engine.ErrNotFound when absent), its desired state,
// diff (pure) and the engine.Kind that carries out its changes.
package kinds

import (
	"errors"
	"time"

	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// The actions of the shared kinds (the names of the AWS calls they make).
const (
	CreateRole       engine.Action = "CreateRole"
	UpdateTrust      engine.Action = "UpdateAssumeRolePolicy"
	TagRole          engine.Action = "TagRole"
	PutRolePolicy    engine.Action = "PutRolePolicy"
	DeleteRolePolicy engine.Action = "DeleteRolePolicy"
	DeleteRole       engine.Action = "DeleteRole"
	CreateLogGroup   engine.Action = "CreateLogGroup"
	TagLogGroup      engine.Action = "TagLogGroup"
	PutRetention     engine.Action = "PutRetentionPolicy"
	DeleteLogGroup   engine.Action = "DeleteLogGroup"
	CreateBucket     engine.Action = "CreateBucket"
	TagBucket        engine.Action = "PutBucketTagging"
	DeleteBucket     engine.Action = "DeleteBucket"
	UploadObject     engine.Action = "PutObject"
	DeleteObject     engine.Action = "DeleteObject"

	CreateSecurityGroup engine.Action = "CreateSecurityGroup"
	AllowIngress        engine.Action = "AuthorizeSecurityGroupIngress"
	RevokeIngress       engine.Action = "RevokeSecurityGroupIngress"
	TagEC2              engine.Action = "CreateTags"
	DeleteSecurityGroup engine.Action = "DeleteSecurityGroup"
	CreateLoadBalancer  engine.Action = "CreateLoadBalancer"
	SetLBGroups         engine.Action = "SetSecurityGroups"
	DeleteLoadBalancer  engine.Action = "DeleteLoadBalancer"
	TagELB              engine.Action = "AddTags"
	CreateTargetGroup   engine.Action = "CreateTargetGroup"
	ModifyHealthCheck   engine.Action = "ModifyTargetGroup"
	SetDelay            engine.Action = "ModifyTargetGroupAttributes"
	DeleteTargetGroup   engine.Action = "DeleteTargetGroup"
	CreateListener      engine.Action = "CreateListener"
	ModifyListener      engine.Action = "ModifyListener"
	DeleteListener      engine.Action = "DeleteListener"
	CreateCluster       engine.Action = "CreateCluster"
	DeleteCluster       engine.Action = "DeleteCluster"
	TagECS              engine.Action = "TagResource"
	RegisterTaskDef     engine.Action = "RegisterTaskDefinition"
	DeregisterTaskDef   engine.Action = "DeregisterTaskDefinition"
	DeleteTaskDef       engine.Action = "DeleteTaskDefinitions"
	CreateService       engine.Action = "CreateService"
	UpdateService       engine.Action = "UpdateService"
	DeleteService       engine.Action = "DeleteService"
	CreateSecret        engine.Action = "CreateSecret"
	PutSecretValue      engine.Action = "PutSecretValue"
	TagSecret           engine.Action = "secretsmanager:TagResource"
	DeleteSecret        engine.Action = "DeleteSecret"
)

func init() {
	engine.RegisterVerb(UploadObject, engine.Create)
	engine.RegisterVerb(AllowIngress, engine.Create)
	engine.RegisterVerb(RevokeIngress, engine.Delete)
	engine.RegisterVerb(RegisterTaskDef, engine.Create)
	engine.RegisterVerb(DeregisterTaskDef, engine.Delete)
}

// Waiter timing: short first polls (most resources are ready within a second or two),
// growing to a few seconds, giving up after WaitFor.
var (
	WaitMin = 250 * time.Millisecond
	WaitMax = 5 * time.Second
	WaitFor = 10 * time.Minute
)

// absent turns a find's engine.ErrNotFound into (nil, nil) for the callers that gather an
// observed state, where nil means "does not exist".
func absent[T any](v *T, err error) (*T, error) {
	if errors.Is(err, engine.ErrNotFound) {
		return nil, nil
	}
	return v, err
}
