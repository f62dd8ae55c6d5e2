package container

import (
	"context"
	"io"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/appscalingapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ec2api"
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
	Groups  *kinds.IDs // by part
	LB, TG  string
	TaskDef string
	RepoURI string
}

func newRun(c *awsapi.Session, o *observed, d *desired, progress io.Writer) *run {
	groups := map[string]string{}
	for part, g := range o.Groups {
		groups[part] = g.ID
	}
	r := &run{c: c, o: o, d: d, progress: progress, ids: ids{Role: d.roleARN(o), Groups: kinds.NewIDs(groups)}}
	r.ids.LB, r.ids.TG = o.ARNs()
	want := d.taskDefSpec(r.ids.Role)
	switch {
	case o.Current != nil && kinds.SameTaskDef(o.Current.Spec, want):
		r.ids.TaskDef = o.Current.ARN
	case o.Latest != nil && kinds.SameTaskDef(o.Latest.Spec, want):
		r.ids.TaskDef = o.Latest.ARN
	}
	if o.Repo != nil {
		r.ids.RepoURI = o.Repo.URI
	}
	return r
}

var groupWhy = map[string]string{
	"nodes": "rudderctl: the stack's nodes; the only group its user-functions load balancer admits",
	"alb":   "rudderctl: the user-functions load balancer; admits the nodes' group only",
	"tasks": "rudderctl: the user-functions tasks; admit the load balancer's group only",
}

// kinds are the kinds carrying out this component's changes.
func (r *run) kinds() []engine.Kind {
	c, n, tags := r.c, r.d.Names, r.d.Names.Tags()
	role := r.d.roleSpec()
	logARN := ""
	if r.o.Log != nil {
		logARN = r.o.Log.ARN
	}
	groups := r.ids.Groups
	// The tasks admit the ALB's group ("tasks-source").
	rules := func(part string) []ec2api.Rule {
		return wantRules(part, r.d.Settings.ListenerPort, func(p string) string {
			if p == "tasks-source" {
				p = "alb"
			}
			return groups.Get(p)
		})
	}
	return []engine.Kind{
		kinds.RoleKind{C: c, Spec: role, ARN: &r.ids.Role}, kinds.RolePolicyKind{C: c, Spec: role}, kinds.RoleTags(c, n.Role, n.Stack),
		kinds.LogGroupKind{C: c, Spec: r.d.logGroupSpec()}, kinds.LogGroupTags(c, logARN, n.Stack),
		kinds.SecretKind{C: c, Value: r.d.secretValue(), Description: "rudderctl " + n.Stack + ": the workspace URL the user functions read (CONFIG_BACKEND_URL)", Tags: tags},
		kinds.SecretTags(c, tags),
		kinds.SecurityGroupKind{C: c, VPC: r.o.Net.VPC, Why: groupWhy, Tags: tags, IDs: groups}, kinds.RuleKind{C: c, IDs: groups, Rules: rules}, kinds.EC2Tags(c, tags),
		kinds.LoadBalancerKind{C: c, Name: n.LoadBalancer, Subnets: r.o.Net.Subnets, Internal: true, Group: func() string { return groups.Get("alb") }, Tags: tags, ARN: &r.ids.LB},
		kinds.ELBTags(c, tags), kinds.TargetGroupKind{C: c, Spec: r.d.targetGroupSpec(), ARN: &r.ids.TG},
		kinds.ListenerKind{C: c, LB: &r.ids.LB, TG: &r.ids.TG, Port: r.d.Settings.ListenerPort, Tags: tags},
		kinds.ClusterKind{C: c, Tags: tags}, kinds.ECSTags(c, tags), taskDefKind{r}, serviceKind{r},
		scalingTargetKind{r}, policyKind{r},
		repositoryKind{r}, lifecycleKind(r), r.ecrTags(), pushKind{r},
	}
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
