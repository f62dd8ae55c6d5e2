package kinds

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/elbv2api"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// LoadBalancerSpec is the application load balancer a component wants.
type LoadBalancerSpec struct {
	Name, Stack string
	Internal    bool
	Subnets     []string
	// Why the scheme is what it is (said when a load balancer of the other scheme is found).
	Why string
	// Tag plans the stack tag of an untagged load balancer ("" = it is only refused when
	// another stack's).
	Tag engine.Action
}

func (s LoadBalancerSpec) scheme() string {
	if s.Internal {
		return "internal"
	}
	return "internet-facing"
}

// DiffLoadBalancer plans the load balancer: created when missing; refused when another
// stack's or of the other scheme (it cannot be changed).
func DiffLoadBalancer(found LoadBalancing, want LoadBalancerSpec) ([]engine.Change, error) {
	lb := found.LB
	if lb == nil {
		return []engine.Change{{Action: CreateLoadBalancer, Resource: "load balancer", Name: want.Name, Reason: "missing; " + want.scheme() + ", in " + strings.Join(want.Subnets, ", ")}}, nil
	}
	cs, err := Owned(found.LBTags, want.Stack, "load balancer", want.Name, want.Tag, lb.ARN)
	if err != nil {
		return nil, err
	}
	if lb.Scheme != want.scheme() {
		return nil, &stack.Error{Msg: fmt.Sprintf("load balancer %s is %s: %s, and the scheme of a load balancer cannot be changed; delete it (rudderctl destroy) and deploy again", want.Name, lb.Scheme, want.Why)}
	}
	return cs, nil
}

// LoadBalancerKind creates the load balancer (in the security group Group answers, then
// waits until it is active), sets its security group, and deletes it (waiting until it is
// gone: its security group cannot be deleted before). ARN is filled in for later steps.
type LoadBalancerKind struct {
	C       *awsapi.Session
	Name    string
	Subnets []string
	// Internal: reachable inside the VPC only (else internet-facing).
	Internal bool
	Group    func() string
	Tags     map[string]string
	ARN      *string
}

func (k LoadBalancerKind) Actions() []engine.Action {
	return []engine.Action{CreateLoadBalancer, SetLBGroups, DeleteLoadBalancer}
}

func (k LoadBalancerKind) Create(ctx context.Context, ch engine.Change) error {
	lb, err := k.C.ELBv2().CreateLoadBalancer(ctx, elbv2api.LoadBalancerSpec{Name: ch.Name, Internal: k.Internal, Subnets: k.Subnets,
		SecurityGroups: []string{k.Group()}, Tags: k.Tags})
	if err == nil {
		*k.ARN = lb.ARN
	}
	return err
}

func (k LoadBalancerKind) AlreadyExists(err error) bool {
	return errors.Is(err, awsapi.ErrAlreadyExists)
}

func (k LoadBalancerKind) Adopt(ctx context.Context, ch engine.Change) error {
	lb, err := k.C.ELBv2().FindLoadBalancer(ctx, ch.Name)
	if err == nil {
		*k.ARN = lb.ARN
	}
	return err
}

// Wait: until it is active (a listener can be added before, but it does not serve).
func (k LoadBalancerKind) Wait(ctx context.Context, ch engine.Change) error {
	if ch.Action != CreateLoadBalancer {
		return nil
	}
	return k.C.ELBv2().WaitAvailable(ctx, *k.ARN, WaitFor)
}

func (k LoadBalancerKind) Update(ctx context.Context, ch engine.Change) error {
	return k.C.ELBv2().SetSecurityGroups(ctx, ch.Target, []string{k.Group()})
}

func (k LoadBalancerKind) Delete(ctx context.Context, ch engine.Change) error {
	if err := k.C.ELBv2().DeleteLoadBalancer(ctx, ch.Target); err != nil {
		return err
	}
	return WaitGone(ctx, func() error { _, err := k.C.ELBv2().FindLoadBalancer(ctx, ch.Name); return err })
}
