// Package kinds holds the resource kinds every deploy target shares: the IAM role and its
// policies, the log group, the stack's S3 bucket and its objects, and tags. Each file is
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
)

func init() { engine.RegisterVerb(UploadObject, engine.Create) }

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
