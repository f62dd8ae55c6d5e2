package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/appscalingapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ec2api"
	"github.com/rudderctl/rudderctl/internal/awsapi/elbv2api"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
)

// run is one apply: the clients, what was observed and wanted, and the ids the steps
// fill in for the steps after them.
type run struct {
	c        *awsapi.Session
	o        *observed
	d        *desired
	progress io.Writer
	ids      ids
}

type ids struct {
	Role    string
	Groups  map[string]string // by part
	LB, TG  string
	TaskDef string
	RepoURI string
}

func newRun(c *awsapi.Session, o *observed, d *desired, progress io.Writer) *run {
	r := &run{c: c, o: o, d: d, progress: progress, ids: ids{Role: d.roleARN(o), Groups: map[string]string{}}}
	for part, g := range o.Groups {
		r.ids.Groups[part] = g.ID
	}
	if o.LB != nil {
		r.ids.LB = o.LB.ARN
	}
	if o.TG != nil {
		r.ids.TG = o.TG.ARN
	}
	want := d.taskDefSpec(r.ids.Role)
	switch {
	case o.Current != nil && sameTaskDef(o.Current.Spec, want):
		r.ids.TaskDef = o.Current.ARN
	case o.Latest != nil && sameTaskDef(o.Latest.Spec, want):
		r.ids.TaskDef = o.Latest.ARN
	}
	if o.Repo != nil {
		r.ids.RepoURI = o.Repo.URI
	}
	return r
}

// kinds are the kinds carrying out this component's changes.
func (r *run) kinds() []engine.Kind {
	c, n := r.c, r.d.Names
	role := r.d.roleSpec()
	logARN := ""
	if r.o.Log != nil {
		logARN = r.o.Log.ARN
	}
	return []engine.Kind{
		kinds.RoleKind{C: c, Spec: role, ARN: &r.ids.Role}, kinds.RolePolicyKind{C: c, Spec: role}, kinds.RoleTags(c, n.Role, n.Stack),
		kinds.LogGroupKind{C: c, Spec: r.d.logGroupSpec()}, kinds.LogGroupTags(c, logARN, n.Stack),
		secretKind{r}, r.secretTags(),
		groupKind{r}, ruleKind{r}, r.ec2Tags(),
		loadBalancerKind{r}, r.elbTags(), targetGroupKind{r}, delayKind(r), listenerKind{r},
		clusterKind{r}, r.ecsTags(), taskDefKind{r}, serviceKind{r},
		scalingTargetKind{r}, policyKind{r},
		repositoryKind{r}, lifecycleKind(r), r.ecrTags(), pushKind{r},
	}
}

// retryWhile calls fn until it returns something else than an error matching busy, for
// up to kinds.WaitFor (a dependent object still going away: an ALB's interfaces, a
// service's tasks).
func retryWhile(ctx context.Context, busy func(error) bool, fn func() error) error {
	deadline := time.Now().Add(kinds.WaitFor)
	for wait := kinds.WaitMin; ; wait = min(wait*2, kinds.WaitMax) {
		err := fn()
		if err == nil || !busy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return engine.Plain(ctx.Err())
		}
	}
}

// ---- the functions secret ----

type secretKind struct{ r *run }

func (k secretKind) Actions() []engine.Action {
	return []engine.Action{CreateSecret, PutSecretValue, DeleteSecret}
}

func (k secretKind) Create(ctx context.Context, ch engine.Change) error {
	_, err := k.r.c.Secrets().Create(ctx, ch.Name, k.r.d.secretValue(), "rudderctl "+k.r.d.Names.Stack+": the workspace URL the user functions read (CONFIG_BACKEND_URL)", k.r.d.Names.Tags())
	return err
}

func (k secretKind) AlreadyExists(err error) bool { return errors.Is(err, awsapi.ErrAlreadyExists) }

// Adopt: an earlier attempt's secret; its value is put again.
func (k secretKind) Adopt(ctx context.Context, ch engine.Change) error { return k.Update(ctx, ch) }

func (k secretKind) Update(ctx context.Context, ch engine.Change) error {
	_, err := k.r.c.Secrets().PutString(ctx, ch.Name, k.r.d.secretValue())
	return err
}

// Delete deletes it at once (no recovery window): a redeploy recreates it under its name.
func (k secretKind) Delete(ctx context.Context, ch engine.Change) error {
	return k.r.c.Secrets().Delete(ctx, ch.Name, 0)
}

func (r *run) secretTags() engine.Kind {
	return engine.Func{Acts: []engine.Action{TagSecret}, OnUpdate: func(ctx context.Context, ch engine.Change) error {
		return r.c.Secrets().Tag(ctx, ch.Target, r.d.Names.Tags())
	}}
}

// ---- security groups ----

type groupKind struct{ r *run }

func (k groupKind) Actions() []engine.Action {
	return []engine.Action{CreateSecurityGroup, DeleteSecurityGroup}
}

var groupWhy = map[string]string{
	"nodes": "rudderctl: the stack's nodes; the only group its user-functions load balancer admits",
	"alb":   "rudderctl: the user-functions load balancer; admits the nodes' group only",
	"tasks": "rudderctl: the user-functions tasks; admit the load balancer's group only",
}

func (k groupKind) Create(ctx context.Context, ch engine.Change) error {
	id, err := k.r.c.EC2().CreateSecurityGroup(ctx, k.r.o.Net.VPC, ch.Name, groupWhy[ch.Target], k.r.d.Names.Tags())
	if err == nil {
		k.r.ids.Groups[ch.Target] = id
	}
	return err
}

func (k groupKind) AlreadyExists(err error) bool { return errors.Is(err, awsapi.ErrAlreadyExists) }

func (k groupKind) Adopt(ctx context.Context, ch engine.Change) error {
	g, err := k.r.c.EC2().FindSecurityGroup(ctx, k.r.o.Net.VPC, ch.Name)
	if err == nil {
		k.r.ids.Groups[ch.Target] = g.ID
	}
	return err
}

func (k groupKind) Update(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

// Delete retries while the group is in use (the ALB's or a task's interfaces go away a
// little after them).
func (k groupKind) Delete(ctx context.Context, ch engine.Change) error {
	return retryWhile(ctx, ec2api.IsInUse, func() error { return k.r.c.EC2().DeleteSecurityGroup(ctx, ch.Target) })
}

// ruleKind adds the group's wanted ingress rules (Target: the part) and revokes a rule
// found that is not wanted (Target: "part rule-json").
type ruleKind struct{ r *run }

func (k ruleKind) Actions() []engine.Action { return []engine.Action{AllowIngress, RevokeIngress} }

func (k ruleKind) Create(ctx context.Context, ch engine.Change) error {
	part := ch.Target
	id := k.r.ids.Groups[part]
	rules := wantRules(part, k.r.d.Settings.ListenerPort, func(p string) string {
		if p == "tasks-source" {
			p = "alb"
		}
		return k.r.ids.Groups[p]
	})
	for _, rule := range rules {
		if err := k.r.c.EC2().AllowIngress(ctx, id, rule); err != nil && !errors.Is(err, awsapi.ErrAlreadyExists) {
			return err
		}
	}
	return nil
}

func (k ruleKind) Update(ctx context.Context, ch engine.Change) error { return k.Create(ctx, ch) }

func (k ruleKind) Delete(ctx context.Context, ch engine.Change) error {
	part, js, _ := strings.Cut(ch.Target, " ")
	rule, err := ruleFromTarget(js)
	if err != nil {
		return engine.Plain(fmt.Errorf("internal: rule %q: %v", js, err))
	}
	return k.r.c.EC2().RevokeIngress(ctx, k.r.ids.Groups[part], rule)
}

func (r *run) ec2Tags() engine.Kind {
	return engine.Func{Acts: []engine.Action{TagEC2}, OnUpdate: func(ctx context.Context, ch engine.Change) error {
		return r.c.EC2().TagResources(ctx, []string{ch.Target}, r.d.Names.Tags())
	}}
}

// ---- load balancer, target group, listener ----

type loadBalancerKind struct{ r *run }

func (k loadBalancerKind) Actions() []engine.Action {
	return []engine.Action{CreateLoadBalancer, SetLBGroups, DeleteLoadBalancer}
}

func (k loadBalancerKind) Create(ctx context.Context, ch engine.Change) error {
	lb, err := k.r.c.ELBv2().CreateLoadBalancer(ctx, elbv2api.LoadBalancerSpec{Name: ch.Name, Internal: true, Subnets: k.r.o.Net.Subnets,
		SecurityGroups: []string{k.r.ids.Groups["alb"]}, Tags: k.r.d.Names.Tags()})
	if err == nil {
		k.r.ids.LB = lb.ARN
	}
	return err
}

func (k loadBalancerKind) AlreadyExists(err error) bool {
	return errors.Is(err, awsapi.ErrAlreadyExists)
}

func (k loadBalancerKind) Adopt(ctx context.Context, ch engine.Change) error {
	lb, err := k.r.c.ELBv2().FindLoadBalancer(ctx, ch.Name)
	if err == nil {
		k.r.ids.LB = lb.ARN
	}
	return err
}

// Wait: until it is active (a listener can be added before, but it does not serve).
func (k loadBalancerKind) Wait(ctx context.Context, ch engine.Change) error {
	if ch.Action != CreateLoadBalancer {
		return nil
	}
	return k.r.c.ELBv2().WaitAvailable(ctx, k.r.ids.LB, kinds.WaitFor)
}

func (k loadBalancerKind) Update(ctx context.Context, ch engine.Change) error {
	return k.r.c.ELBv2().SetSecurityGroups(ctx, ch.Target, []string{k.r.ids.Groups["alb"]})
}

// Delete waits until it is gone: its security group cannot be deleted before.
func (k loadBalancerKind) Delete(ctx context.Context, ch engine.Change) error {
	if err := k.r.c.ELBv2().DeleteLoadBalancer(ctx, ch.Target); err != nil {
		return err
	}
	return waitGone(ctx, func() error { _, err := k.r.c.ELBv2().FindLoadBalancer(ctx, ch.Name); return err })
}

// waitGone polls find until it answers ErrNotFound.
func waitGone(ctx context.Context, find func() error) error {
	deadline := time.Now().Add(kinds.WaitFor)
	for wait := kinds.WaitMin; ; wait = min(wait*2, kinds.WaitMax) {
		err := find()
		switch {
		case errors.Is(err, awsapi.ErrNotFound):
			return nil
		case err != nil:
			return err
		case time.Now().After(deadline):
			return engine.Plain(fmt.Errorf("still there after %s", kinds.WaitFor))
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return engine.Plain(ctx.Err())
		}
	}
}

func (r *run) elbTags() engine.Kind {
	return engine.Func{Acts: []engine.Action{TagELB}, OnUpdate: func(ctx context.Context, ch engine.Change) error {
		return r.c.ELBv2().AddTags(ctx, ch.Target, r.d.Names.Tags())
	}}
}

type targetGroupKind struct{ r *run }

func (k targetGroupKind) Actions() []engine.Action {
	return []engine.Action{CreateTargetGroup, ModifyHealthCheck, DeleteTargetGroup}
}

func (k targetGroupKind) Create(ctx context.Context, _ engine.Change) error {
	arn, err := k.r.c.ELBv2().CreateTargetGroup(ctx, k.r.d.targetGroupSpec())
	if err == nil {
		k.r.ids.TG = arn
	}
	return err
}

func (k targetGroupKind) AlreadyExists(err error) bool {
	return errors.Is(err, awsapi.ErrAlreadyExists)
}

func (k targetGroupKind) Adopt(ctx context.Context, ch engine.Change) error {
	tg, err := k.r.c.ELBv2().FindTargetGroup(ctx, ch.Name)
	if err == nil {
		k.r.ids.TG = tg.ARN
	}
	return err
}

func (k targetGroupKind) Update(ctx context.Context, _ engine.Change) error {
	return k.r.c.ELBv2().ModifyHealthCheck(ctx, k.r.ids.TG, k.r.d.targetGroupSpec())
}

// Delete retries while a listener or a deleting load balancer still uses the group.
func (k targetGroupKind) Delete(ctx context.Context, ch engine.Change) error {
	return retryWhile(ctx, func(err error) bool { return errors.Is(err, awsapi.ErrConflict) }, func() error {
		return k.r.c.ELBv2().DeleteTargetGroup(ctx, ch.Target)
	})
}

func delayKind(r *run) engine.Kind {
	return engine.Func{Acts: []engine.Action{SetDelay}, OnUpdate: func(ctx context.Context, _ engine.Change) error {
		return r.c.ELBv2().SetDeregistrationDelay(ctx, r.ids.TG, r.d.Settings.DeregistrationDelay)
	}}
}

type listenerKind struct{ r *run }

func (k listenerKind) Actions() []engine.Action {
	return []engine.Action{CreateListener, ModifyListener, DeleteListener}
}

func (k listenerKind) Create(ctx context.Context, _ engine.Change) error {
	_, err := k.r.c.ELBv2().CreateListener(ctx, k.r.ids.LB, k.r.d.Settings.ListenerPort, k.r.ids.TG, k.r.d.Names.Tags())
	return err
}

// AlreadyExists: a listener on the port (an earlier attempt's); Adopt points it at the group.
func (k listenerKind) AlreadyExists(err error) bool { return errors.Is(err, awsapi.ErrAlreadyExists) }

func (k listenerKind) Adopt(ctx context.Context, _ engine.Change) error {
	ls, err := k.r.c.ELBv2().Listeners(ctx, k.r.ids.LB)
	if err != nil {
		return err
	}
	for _, l := range ls {
		if l.Port == k.r.d.Settings.ListenerPort && l.TargetGroup != k.r.ids.TG {
			return k.r.c.ELBv2().ModifyListener(ctx, l.ARN, k.r.ids.TG)
		}
	}
	return nil
}

func (k listenerKind) Update(ctx context.Context, ch engine.Change) error {
	return k.r.c.ELBv2().ModifyListener(ctx, ch.Target, k.r.ids.TG)
}

func (k listenerKind) Delete(ctx context.Context, ch engine.Change) error {
	return k.r.c.ELBv2().DeleteListener(ctx, ch.Target)
}

// ---- Application Auto Scaling ----

type scalingTargetKind struct{ r *run }

func (k scalingTargetKind) Actions() []engine.Action {
	return []engine.Action{RegisterTarget, DeregisterTarget}
}

// Create registers the target, or updates its bounds (one call does both).
func (k scalingTargetKind) Create(ctx context.Context, _ engine.Change) error {
	s := k.r.d.Settings
	return k.r.c.AppScaling().RegisterTarget(ctx, k.r.d.Names.ScalingTarget, s.Min, s.Max, k.r.d.Names.Tags())
}

func (k scalingTargetKind) Update(ctx context.Context, ch engine.Change) error {
	return k.Create(ctx, ch)
}

func (k scalingTargetKind) Delete(ctx context.Context, _ engine.Change) error {
	return k.r.c.AppScaling().DeregisterTarget(ctx, k.r.d.Names.ScalingTarget)
}

type policyKind struct{ r *run }

func (k policyKind) Actions() []engine.Action { return []engine.Action{PutPolicy, DeletePolicy} }

// Create puts the target tracking policy (create and update alike). The label of
// ALBRequestCountPerTarget is made from the ARNs known by now.
func (k policyKind) Create(ctx context.Context, _ engine.Change) error {
	s := k.r.d.Settings
	metric := "ECSServiceAverageCPUUtilization"
	label := ""
	if s.Metric == "requests" {
		metric, label = "ALBRequestCountPerTarget", ResourceLabel(k.r.ids.LB, k.r.ids.TG)
	}
	return k.r.c.AppScaling().PutPolicy(ctx, k.r.d.Names.ScalingTarget, appscalingapi.Policy{Name: ScalingPolicyName, Metric: metric,
		Target: float64(s.Target), ResourceLabel: label, ScaleInCooldown: 300, ScaleOutCooldown: 60})
}

func (k policyKind) Update(ctx context.Context, ch engine.Change) error { return k.Create(ctx, ch) }

func (k policyKind) Delete(ctx context.Context, _ engine.Change) error {
	return k.r.c.AppScaling().DeletePolicy(ctx, k.r.d.Names.ScalingTarget, ScalingPolicyName)
}
