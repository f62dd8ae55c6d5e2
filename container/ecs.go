package container

import (
	"context"
	"errors"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
)

// The ECS kinds: task definition revisions and the service (whose creates and
// updates wait for a steady state, steady.go).

// taskDefKind registers a revision (a new one each time: revisions are immutable) and
// deregisters / deletes revisions by ARN (the change's Target).
type taskDefKind struct{ r *run }

func (k taskDefKind) Actions() []engine.Action {
	return []engine.Action{kinds.RegisterTaskDef, kinds.DeregisterTaskDef, kinds.DeleteTaskDef}
}

func (k taskDefKind) Create(ctx context.Context, _ engine.Change) error {
	td, err := k.r.c.ECS().RegisterTaskDefinition(ctx, k.r.d.taskDefSpec(k.r.ids.Role))
	if err == nil {
		k.r.ids.TaskDef = td.ARN
	}
	return err
}

func (k taskDefKind) Update(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

func (k taskDefKind) Delete(ctx context.Context, ch engine.Change) error {
	if ch.Action == kinds.DeleteTaskDef {
		return k.r.c.ECS().DeleteTaskDefinition(ctx, ch.Target)
	}
	return k.r.c.ECS().DeregisterTaskDefinition(ctx, ch.Target)
}

// serviceKind creates and updates the service, then waits for its steady state; delete
// stops its tasks and waits until it is gone.
type serviceKind struct{ r *run }

func (k serviceKind) Actions() []engine.Action {
	return []engine.Action{kinds.CreateService, kinds.UpdateService, kinds.DeleteService}
}

func (k serviceKind) spec() ecsapi.ServiceSpec {
	return k.r.d.serviceSpec(k.r.ids.TaskDef, k.r.ids.TG, []string{k.r.ids.Groups.Get("tasks")})
}

func (k serviceKind) Create(ctx context.Context, _ engine.Change) error {
	_, err := k.r.c.ECS().CreateService(ctx, k.spec())
	return err
}

// AlreadyExists: an earlier attempt created it; Adopt brings it to the spec.
func (k serviceKind) AlreadyExists(err error) bool { return errors.Is(err, awsapi.ErrAlreadyExists) }

func (k serviceKind) Adopt(ctx context.Context, ch engine.Change) error { return k.Update(ctx, ch) }

func (k serviceKind) Update(ctx context.Context, _ engine.Change) error {
	s := k.spec()
	cur := k.r.o.Service
	// Auto scaling owns the desired count: it is set only when outside the bounds.
	setDesired := cur == nil || cur.Desired < k.r.d.Settings.Min || cur.Desired > k.r.d.Settings.Max
	return k.r.c.ECS().UpdateService(ctx, s, setDesired)
}

func (k serviceKind) Wait(ctx context.Context, _ engine.Change) error {
	return waitSteady(ctx, k.r.c, k.r.d.Names, k.r.ids.TaskDef, k.r.progress)
}

func (k serviceKind) Delete(ctx context.Context, ch engine.Change) error {
	n := k.r.d.Names
	if err := k.r.c.ECS().DeleteService(ctx, n.Cluster, n.Service); err != nil {
		return err
	}
	return kinds.WaitGone(ctx, func() error { _, err := k.r.c.ECS().FindService(ctx, n.Cluster, n.Service); return err })
}
