package kinds

import (
	"context"
	"errors"
	"fmt"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/elbv2api"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// TargetGroupSpec is the target group (ip targets) a component wants.
type TargetGroupSpec struct {
	elbv2api.TargetGroupSpec
	Stack string
	Delay int32 // deregistration delay, seconds
	// Tag plans the stack tag of an untagged group ("" = only another stack's is refused).
	Tag engine.Action
}

// DiffTargetGroup plans the target group: created (then its deregistration delay set)
// when missing; refused when another stack's or its VPC, target type or port differ
// (they cannot be changed); its health check and delay set when they differ.
func DiffTargetGroup(found LoadBalancing, want TargetGroupSpec) ([]engine.Change, error) {
	n := want.Name
	tg := found.TG
	if tg == nil {
		return []engine.Change{
			{Action: CreateTargetGroup, Resource: "target group", Name: n, Reason: fmt.Sprintf("missing; ip targets on %d, health %s", want.Port, want.HealthPath)},
			{Action: SetDelay, Resource: "target group", Name: n, Reason: fmt.Sprintf("deregistration delay %d s", want.Delay)},
		}, nil
	}
	cs, err := Owned(found.TGTags, want.Stack, "target group", n, want.Tag, tg.ARN)
	if err != nil {
		return nil, err
	}
	if tg.VPC != want.VPC || tg.TargetType != "ip" || tg.Port != want.Port {
		return nil, &stack.Error{Msg: fmt.Sprintf("target group %s is in %s with %s targets on port %d, and the service needs ip targets on %d in %s; these cannot be changed: delete it (rudderctl destroy) and deploy again", n, tg.VPC, tg.TargetType, tg.Port, want.Port, want.VPC)}
	}
	if tg.HealthPath != want.HealthPath || tg.HealthInterval != want.HealthInterval || tg.HealthTimeout != want.HealthTimeout ||
		tg.Healthy != want.Healthy || tg.Unhealthy != want.Unhealthy || tg.Matcher != want.Matcher {
		cs = append(cs, engine.Change{Action: ModifyHealthCheck, Resource: "target group", Name: n, Reason: "health check differs", Target: tg.ARN})
	}
	if found.TGDelay != want.Delay {
		cs = append(cs, engine.Change{Action: SetDelay, Resource: "target group", Name: n, Reason: fmt.Sprintf("deregistration delay %d -> %d s", found.TGDelay, want.Delay), Target: tg.ARN})
	}
	return cs, nil
}

// TargetGroupKind creates the target group, sets its health check and its deregistration
// delay, and deletes it. ARN is filled in for later steps.
type TargetGroupKind struct {
	C    *awsapi.Session
	Spec TargetGroupSpec
	ARN  *string
}

func (k TargetGroupKind) Actions() []engine.Action {
	return []engine.Action{CreateTargetGroup, ModifyHealthCheck, SetDelay, DeleteTargetGroup}
}

func (k TargetGroupKind) Create(ctx context.Context, _ engine.Change) error {
	arn, err := k.C.ELBv2().CreateTargetGroup(ctx, k.Spec.TargetGroupSpec)
	if err == nil {
		*k.ARN = arn
	}
	return err
}

func (k TargetGroupKind) AlreadyExists(err error) bool {
	return errors.Is(err, awsapi.ErrAlreadyExists)
}

func (k TargetGroupKind) Adopt(ctx context.Context, ch engine.Change) error {
	tg, err := k.C.ELBv2().FindTargetGroup(ctx, ch.Name)
	if err == nil {
		*k.ARN = tg.ARN
	}
	return err
}

func (k TargetGroupKind) Update(ctx context.Context, ch engine.Change) error {
	if ch.Action == SetDelay {
		return k.C.ELBv2().SetDeregistrationDelay(ctx, *k.ARN, k.Spec.Delay)
	}
	return k.C.ELBv2().ModifyHealthCheck(ctx, *k.ARN, k.Spec.TargetGroupSpec)
}

// Delete retries while a listener or a deleting load balancer still uses the group.
func (k TargetGroupKind) Delete(ctx context.Context, ch engine.Change) error {
	return RetryWhile(ctx, IsConflict, func() error { return k.C.ELBv2().DeleteTargetGroup(ctx, ch.Target) })
}
