package container

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rudderctl/rudderctl/internal/awsapi/ec2api"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// The actions of this component's kinds (the AWS calls they make); those of the kinds it
// shares with other components are in package kinds.
const (
	RegisterTarget   engine.Action = "RegisterScalableTarget"
	DeregisterTarget engine.Action = "DeregisterScalableTarget"
	PutPolicy        engine.Action = "PutScalingPolicy"
	DeletePolicy     engine.Action = "DeleteScalingPolicy"
	CreateRepository engine.Action = "CreateRepository"
	PutLifecycle     engine.Action = "PutLifecyclePolicy"
	TagECR           engine.Action = "ecr:TagResource"
	PushImage        engine.Action = "PushImage"
	DeleteRepository engine.Action = "DeleteRepository"
)

func init() {
	for _, a := range []engine.Action{RegisterTarget, PushImage} {
		engine.RegisterVerb(a, engine.Create)
	}
	for _, a := range []engine.Action{DeregisterTarget} {
		engine.RegisterVerb(a, engine.Delete)
	}
}

// wantRules are the ingress rules of each security group, with the group ids known so
// far ("" for a group still to create): the ALB admits only the nodes' group on the
// listener port; the tasks admit only the ALB's group on the container port; the nodes'
// group admits nothing (the nodes call out, nobody calls in).
func wantRules(part string, listenerPort int32, groupID func(string) string) []ec2api.Rule {
	switch part {
	case "alb":
		return []ec2api.Rule{{Protocol: "tcp", FromPort: listenerPort, ToPort: listenerPort, FromGroup: groupID("nodes")}}
	case "tasks":
		return []ec2api.Rule{{Protocol: "tcp", FromPort: ContainerPort, ToPort: ContainerPort, FromGroup: groupID("tasks-source")}}
	}
	return nil
}

// groupIDs is the id of each group found (the rules of a group to create are planned
// with the id unknown).
func (o *observed) groupID(part string) string {
	if part == "tasks-source" {
		part = "alb"
	}
	if g := o.Groups[part]; g != nil {
		return g.ID
	}
	return ""
}

// plan is the deploy: desired vs observed -> ordered changes (pure).
func plan(o *observed, d *desired) ([]engine.Change, error) {
	var cs []engine.Change
	add := func(more []engine.Change, err error) error {
		cs = append(cs, more...)
		return err
	}
	if err := add(kinds.DiffRole(o.Role, d.roleSpec())); err != nil {
		return nil, err
	}
	cs = append(cs, kinds.DiffLogGroup(o.Log, d.logGroupSpec())...)
	steps := []func(*observed, *desired) ([]engine.Change, error){planRepository, planSecret, planGroups, planLoadBalancer, planTargetGroup, planListener, planCluster, planTaskDef, planService, planScaling}
	for _, step := range steps {
		if err := add(step(o, d)); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

// owned refuses a resource tagged for another stack and plans the tag of an untagged one.
func owned(tags map[string]string, stackName, resource, name string, tag engine.Action, target string) ([]engine.Change, error) {
	return kinds.Owned(tags, stackName, resource, name, tag, target)
}

func planRepository(o *observed, d *desired) ([]engine.Change, error) {
	n := d.Names
	var cs []engine.Change
	if o.Repo == nil {
		cs = append(cs, engine.Change{Action: CreateRepository, Resource: "ECR repository", Name: n.Repository, Reason: "missing"},
			engine.Change{Action: PutLifecycle, Resource: "ECR repository", Name: n.Repository, Reason: "keep the 10 newest images"})
	} else {
		tag, err := owned(o.Repo.Tags, n.Stack, "ECR repository", n.Repository, TagECR, o.Repo.ARN)
		if err != nil {
			return nil, err
		}
		cs = append(cs, tag...)
		if !kinds.PolicyEqual(o.Lifecycle, LifecyclePolicy) {
			cs = append(cs, engine.Change{Action: PutLifecycle, Resource: "ECR repository", Name: n.Repository, Reason: "lifecycle policy differs"})
		}
	}
	if d.Image != nil && o.ImageDigest != d.Image.Digest {
		reason := "missing"
		if o.ImageDigest != "" {
			reason = "digest " + short(o.ImageDigest) + " -> " + short(d.Image.Digest)
		}
		cs = append(cs, engine.Change{Action: PushImage, Resource: "image", Name: n.Repository + ":" + ImageTag, Reason: reason})
	}
	return cs, nil
}

// planSecret keeps the functions secret holding the workspace URL (the reasons never
// show the value: it carries the API's secret prefix).
func planSecret(o *observed, d *desired) ([]engine.Change, error) {
	return kinds.DiffSecret(o.FnSecret, o.FnSecretValue == d.secretValue(), kinds.SecretSpec{Name: d.Names.Secret, Stack: d.Names.Stack,
		What: "the workspace URL the tasks read (CONFIG_BACKEND_URL)", Changed: "the workspace URL changed", Tag: kinds.TagSecret})
}

func short(digest string) string {
	if i := strings.Index(digest, ":"); i >= 0 && len(digest) > i+13 {
		return digest[:i+13]
	}
	return digest
}

func planGroups(o *observed, d *desired) ([]engine.Change, error) {
	return kinds.DiffGroups(o.Groups, kinds.GroupsSpec{Stack: d.Names.Stack, Parts: groupParts, Name: d.Names.groupName,
		Rules: func(part string) []ec2api.Rule { return wantRules(part, d.Settings.ListenerPort, o.groupID) },
		Words: func(part string) string { return ruleWords(part, d) }, Tag: kinds.TagEC2})
}

func ruleWords(part string, d *desired) string {
	if part == "alb" {
		return fmt.Sprintf("tcp %d from %s", d.Settings.ListenerPort, d.Names.NodesGroup)
	}
	return fmt.Sprintf("tcp %d from %s", ContainerPort, d.Names.ALBGroup)
}

// planLoadBalancer: internal, in the ALB's group only.
func planLoadBalancer(o *observed, d *desired) ([]engine.Change, error) {
	cs, err := kinds.DiffLoadBalancer(o.LoadBalancing, kinds.LoadBalancerSpec{Name: d.Names.LoadBalancer, Stack: d.Names.Stack, Internal: true,
		Subnets: d.Net.Subnets, Why: "the user-functions service must only be reachable inside the VPC", Tag: kinds.TagELB})
	if err != nil || o.LB == nil {
		return cs, err
	}
	if id := o.groupID("alb"); id == "" || !slices.Equal(sortedCopy(o.LB.SecurityGroups), []string{id}) {
		cs = append(cs, engine.Change{Action: kinds.SetLBGroups, Resource: "load balancer", Name: d.Names.LoadBalancer, Reason: "security groups differ", Target: o.LB.ARN})
	}
	return cs, nil
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func planTargetGroup(o *observed, d *desired) ([]engine.Change, error) {
	return kinds.DiffTargetGroup(o.LoadBalancing, d.targetGroupSpec())
}

// planListener keeps one HTTP listener, on the configured port, forwarding to the group.
func planListener(o *observed, d *desired) ([]engine.Change, error) {
	n := d.Names
	port := d.Settings.ListenerPort
	name := kinds.ListenerName(n.LoadBalancer, port)
	var cs []engine.Change
	found := false
	for _, l := range o.Listeners {
		if l.Port != port {
			cs = append(cs, engine.Change{Action: kinds.DeleteListener, Resource: "listener", Name: kinds.ListenerName(n.LoadBalancer, l.Port), Reason: "not the configured port", Target: l.ARN})
			continue
		}
		found = true
		if o.TG == nil || l.TargetGroup != o.TG.ARN {
			cs = append(cs, engine.Change{Action: kinds.ModifyListener, Resource: "listener", Name: name, Reason: "does not forward to " + n.TargetGroup, Target: l.ARN})
		}
	}
	if !found {
		// Deleted ones first: two listeners cannot share a port.
		cs = append(cs, engine.Change{Action: kinds.CreateListener, Resource: "listener", Name: name, Reason: "missing; HTTP, forwards to " + n.TargetGroup})
	}
	return cs, nil
}

func planCluster(o *observed, d *desired) ([]engine.Change, error) {
	return kinds.DiffCluster(o.Cluster, d.Names.Cluster, d.Names.Stack, kinds.TagECS)
}

// roleARN is the execution role's ARN (known before it exists: it is derived).
func (d *desired) roleARN(o *observed) string {
	if o.Role != nil && o.Role.ARN != "" {
		return o.Role.ARN
	}
	return "arn:aws:iam::" + o.Account + ":role" + RolePath + d.Names.Role
}

// planTaskDef registers a revision unless the service's or the latest one is the same.
func planTaskDef(o *observed, d *desired) ([]engine.Change, error) {
	want := d.taskDefSpec(d.roleARN(o))
	if o.Current != nil && kinds.SameTaskDef(o.Current.Spec, want) || o.Latest != nil && kinds.SameTaskDef(o.Latest.Spec, want) {
		return nil, nil
	}
	reason := "missing"
	if o.Latest != nil {
		reason = "revision " + strconv.Itoa(int(o.Latest.Revision)) + " differs: " + taskDefDiff(o.Latest.Spec, want)
	}
	return []engine.Change{{Action: kinds.RegisterTaskDef, Resource: "task definition", Name: d.Names.Family, Reason: reason}}, nil
}

// taskDefDiff says what differs, naming environment variables but never their values.
func taskDefDiff(a, b ecsapi.TaskDefSpec) string {
	var out []string
	if a.CPU != b.CPU || a.Memory != b.Memory {
		out = append(out, fmt.Sprintf("cpu/memory %s/%s -> %s/%s", a.CPU, a.Memory, b.CPU, b.Memory))
	}
	if a.ExecutionRole != b.ExecutionRole {
		out = append(out, "execution role")
	}
	if len(a.Containers) != 1 || len(b.Containers) != 1 {
		return strings.Join(append(out, "containers"), ", ")
	}
	ca, cb := a.Containers[0], b.Containers[0]
	if ca.Image != cb.Image {
		out = append(out, "image "+ca.Image+" -> "+cb.Image)
	}
	var keys []string
	for k := range maps.Keys(cb.Env) {
		if ca.Env[k] != cb.Env[k] {
			keys = append(keys, k)
		}
	}
	for k := range maps.Keys(ca.Env) {
		if _, ok := cb.Env[k]; !ok {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		out = append(out, "environment "+strings.Join(keys, ", "))
	}
	ca.Image, cb.Image, ca.Env, cb.Env = "", "", nil, nil
	if !reflect.DeepEqual(ca, cb) {
		out = append(out, "container settings")
	}
	if len(out) == 0 {
		return "settings"
	}
	return strings.Join(out, ", ")
}

func planService(o *observed, d *desired) ([]engine.Change, error) {
	n := d.Names
	s := o.Service
	if s == nil {
		return []engine.Change{{Action: kinds.CreateService, Resource: "ECS service", Name: n.Service,
			Reason: fmt.Sprintf("missing; %d tasks, rolling update with circuit breaker and rollback", d.Settings.Desired)}}, nil
	}
	cs, err := owned(s.Tags, n.Stack, "ECS service", n.Service, kinds.TagECS, s.ARN)
	if err != nil {
		return nil, err
	}
	var why []string
	want := d.taskDefSpec(d.roleARN(o))
	if o.Current == nil || !kinds.SameTaskDef(o.Current.Spec, want) {
		why = append(why, "task definition")
	}
	if s.Status == "DRAINING" {
		return nil, &stack.Error{Msg: fmt.Sprintf("ECS service %s is being deleted (DRAINING): wait until it is gone (rudderctl status), then deploy again", n.Service)}
	}
	if !slices.Equal(s.Subnets, d.Net.Subnets) || o.groupID("tasks") == "" || !slices.Equal(s.SecurityGroups, []string{o.groupID("tasks")}) {
		why = append(why, "network")
	}
	if s.GracePeriod != d.Settings.GracePeriod {
		why = append(why, fmt.Sprintf("grace period %d -> %d s", s.GracePeriod, d.Settings.GracePeriod))
	}
	if s.MinHealthy != 100 || s.MaxPercent != 200 || !s.CircuitBreaker || !s.Rollback {
		why = append(why, "deployment configuration")
	}
	if s.Desired < d.Settings.Min || s.Desired > d.Settings.Max {
		why = append(why, fmt.Sprintf("desired count %d outside %d..%d", s.Desired, d.Settings.Min, d.Settings.Max))
	}
	if len(why) > 0 {
		cs = append(cs, engine.Change{Action: kinds.UpdateService, Resource: "ECS service", Name: n.Service, Reason: strings.Join(why, ", ") + " differs; rolling update"})
	}
	return cs, nil
}

func planScaling(o *observed, d *desired) ([]engine.Change, error) {
	n := d.Names
	var cs []engine.Change
	st := d.Settings
	if o.Scaling == nil || o.Scaling.Min != st.Min || o.Scaling.Max != st.Max {
		reason := fmt.Sprintf("missing; %d..%d tasks", st.Min, st.Max)
		if o.Scaling != nil {
			reason = fmt.Sprintf("%d..%d -> %d..%d tasks", o.Scaling.Min, o.Scaling.Max, st.Min, st.Max)
		}
		cs = append(cs, engine.Change{Action: RegisterTarget, Resource: "scalable target", Name: n.ScalingTarget, Reason: reason})
	}
	metric, label := d.policyMetric(o)
	p := o.Policy
	if p == nil || p.Metric != metric || p.Target != float64(st.Target) || (label != "" && p.ResourceLabel != label) {
		reason := fmt.Sprintf("missing; %s at %d", metric, st.Target)
		if p != nil {
			reason = fmt.Sprintf("%s at %g -> %s at %d", p.Metric, p.Target, metric, st.Target)
		}
		cs = append(cs, engine.Change{Action: PutPolicy, Resource: "scaling policy", Name: ScalingPolicyName, Reason: reason})
	}
	return cs, nil
}

// policyMetric is the predefined metric and, for requests, its resource label
// (app/<lb>/<id>/targetgroup/<tg>/<id>; "" while the ARNs are unknown).
func (d *desired) policyMetric(o *observed) (metric, label string) {
	if d.Settings.Metric == "requests" {
		if o.LB != nil && o.TG != nil {
			return "ALBRequestCountPerTarget", ResourceLabel(o.LB.ARN, o.TG.ARN)
		}
		return "ALBRequestCountPerTarget", ""
	}
	return "ECSServiceAverageCPUUtilization", ""
}

// ResourceLabel is ALBRequestCountPerTarget's label for a load balancer and target group.
func ResourceLabel(lbARN, tgARN string) string {
	lb := lbARN[strings.Index(lbARN, "loadbalancer/")+len("loadbalancer/"):]
	tg := tgARN[strings.Index(tgARN, ":targetgroup/")+1:]
	return lb + "/" + tg
}
