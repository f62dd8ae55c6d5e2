package kinds

import (
	"context"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// DiffCluster plans the ECS cluster: created when missing; refused when another stack's;
// tagged when untagged and tag is not "".
func DiffCluster(found *ecsapi.Cluster, name, stackName string, tag engine.Action) ([]engine.Change, error) {
	if found == nil {
		return []engine.Change{{Action: CreateCluster, Resource: "ECS cluster", Name: name, Reason: "missing"}}, nil
	}
	return Owned(found.Tags, stackName, "ECS cluster", name, tag, found.ARN)
}

// ClusterKind creates and deletes the ECS cluster.
type ClusterKind struct {
	C    *awsapi.Session
	Tags map[string]string
}

func (k ClusterKind) Actions() []engine.Action { return []engine.Action{CreateCluster, DeleteCluster} }

// Create: ECS answers an existing cluster of the name as created, so it adopts by itself.
func (k ClusterKind) Create(ctx context.Context, ch engine.Change) error {
	_, err := k.C.ECS().CreateCluster(ctx, ch.Name, k.Tags)
	return err
}

func (k ClusterKind) Update(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

// Delete retries while the services' tasks are still stopping.
func (k ClusterKind) Delete(ctx context.Context, ch engine.Change) error {
	return RetryWhile(ctx, IsConflict, func() error { return k.C.ECS().DeleteCluster(ctx, ch.Name) })
}
