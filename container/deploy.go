package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/component"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// Result is what a deploy (or plan) reports. It never holds a secret.
type Result struct {
	Stack      string   `json:"stack"`
	Region     string   `json:"region"`
	Service    string   `json:"service"`
	Image      string   `json:"image"`
	Changes    int      `json:"changes"`
	ChangeList []string `json:"change_list"`
	Applied    bool     `json:"applied"`
	// URL is USER_TRANSFORM_URL after an applied deploy.
	URL string `json:"user_transform_url,omitempty"`
}

// WriteText prints the result for a person.
func (r *Result) WriteText(w io.Writer) {
	if r.Changes == 0 {
		fmt.Fprintf(w, "user functions (%s) of stack %s are up to date: no changes\n", r.Image, r.Stack)
	} else {
		verb := "planned"
		if r.Applied {
			verb = "applied"
		}
		fmt.Fprintf(w, "user functions (%s) of stack %s: %d changes %s\n", r.Image, r.Stack, r.Changes, verb)
		for _, c := range r.ChangeList {
			fmt.Fprintln(w, "  "+c)
		}
	}
	if r.URL != "" {
		fmt.Fprintf(w, "USER_TRANSFORM_URL  %s\n", r.URL)
	}
}

// ErrNoWorkspace: the functions' code comes from the stack's workspace, which is missing.
type ErrNoWorkspace struct{ Stack string }

func (e *ErrNoWorkspace) Error() string {
	return fmt.Sprintf("stack %q has no workspace: the user functions fetch their code from it (CONFIG_BACKEND_URL); run `rudderctl deploy transformer --lambda` and `rudderctl deploy workspace --stack %s` first", e.Stack, e.Stack)
}

func desiredFor(in Input, o *observed) *desired {
	return &desired{Names: NamesFor(in.Stack), Region: in.Region, Account: o.Account, Settings: in.Settings, Net: o.Net,
		ConfigBackend: o.ConfigBackend, Secret: o.Secret, Image: in.Image}
}

func planDeploy(ctx context.Context, c *awsapi.Session, in Input) (*observed, *desired, []engine.Change, error) {
	o, err := observe(ctx, c, NamesFor(in.Stack), network{VPC: in.Settings.VPC, Subnets: in.Settings.Subnets})
	if err != nil {
		return nil, nil, nil, err
	}
	if o.ConfigBackend == "" {
		return nil, nil, nil, &ErrNoWorkspace{Stack: in.Stack}
	}
	d := desiredFor(in, o)
	changes, err := plan(o, d)
	return o, d, changes, err
}

// Deploy observes, plans and (unless dryRun) applies under the stack lock, then waits for
// the service's steady state. A plan without changes takes no lock and makes no mutating
// call.
func Deploy(ctx context.Context, c *awsapi.Session, in Input, dryRun bool, progress io.Writer) (*Result, error) {
	if progress == nil {
		progress = io.Discard
	}
	fmt.Fprintf(progress, "reading the user-functions service of stack %q in %s...\n", in.Stack, in.Region)
	o, d, changes, err := planDeploy(ctx, c, in)
	if err != nil {
		return nil, err
	}
	r := &Result{Stack: in.Stack, Region: in.Region, Service: d.Names.Service, Image: in.Settings.ImageRef()}
	report(r, changes)
	if dryRun {
		return r, nil
	}
	if len(changes) > 0 {
		if err := applyLocked(ctx, c, in, o, progress, r); err != nil {
			return nil, err
		}
	}
	if e, err := GetEndpoints(ctx, c, in.Stack); err == nil {
		r.URL = e.UserTransformURL
	}
	return r, nil
}

func applyLocked(ctx context.Context, c *awsapi.Session, in Input, o *observed, progress io.Writer, r *Result) error {
	var d *desired
	replan := func() (changes []engine.Change, err error) {
		if o, d, changes, err = planDeploy(ctx, c, in); err == nil {
			report(r, changes)
		}
		return changes, err
	}
	return kinds.LockedApply(ctx, c, o.Bucket, o.Account, in.Stack, "deploy transformer --ecs", progress, replan, func(changes []engine.Change) error {
		start := time.Now()
		err := engine.Run(ctx, changes, engine.Options{Kinds: newRun(c, o, d, progress).kinds(), Progress: progress,
			Secret: d.Secret, Parallel: 1, Operation: "deploy"})
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, "user functions of stack %s deployed in %s\n", in.Stack, time.Since(start).Round(time.Millisecond))
		r.Applied = true
		return nil
	})
}

func report(r *Result, changes []engine.Change) {
	r.Changes, r.ChangeList = len(changes), []string{}
	for _, ch := range changes {
		r.ChangeList = append(r.ChangeList, ch.String())
	}
}

// planDestroy deletes what exists, in reverse order of creation. Resources of another
// stack are left alone.
func planDestroy(o *observed, n Names) []engine.Change {
	var cs []engine.Change
	add := func(a engine.Action, resource, name, target string) {
		cs = append(cs, engine.Change{Action: a, Resource: resource, Name: name, Target: target})
	}
	mine := func(tags map[string]string) bool { _, other := stack.TagState(tags, n.Stack); return other == "" }
	if o.Policy != nil {
		add(DeletePolicy, "scaling policy", ScalingPolicyName, "")
	}
	if o.Scaling != nil {
		add(DeregisterTarget, "scalable target", n.ScalingTarget, "")
	}
	if o.Service != nil && mine(o.Service.Tags) {
		add(kinds.DeleteService, "ECS service", n.Service, "")
	}
	cs = append(cs, o.LoadBalancing.DeleteChanges(n.Stack, n.LoadBalancer, n.TargetGroup)...)
	for _, arn := range o.Active {
		add(kinds.DeregisterTaskDef, "task definition", kinds.Revision(arn), arn)
	}
	for _, arn := range slices.Concat(o.Active, o.Inactive) {
		add(kinds.DeleteTaskDef, "task definition", kinds.Revision(arn), arn)
	}
	if o.Cluster != nil && mine(o.Cluster.Tags) {
		add(kinds.DeleteCluster, "ECS cluster", n.Cluster, "")
	}
	for _, part := range []string{"tasks", "alb", "nodes"} { // each admits the one after it
		if g := o.Groups[part]; g != nil && mine(g.Tags) {
			add(kinds.DeleteSecurityGroup, "security group", g.Name, g.ID)
		}
	}
	if o.FnSecret != nil && mine(o.FnSecret.Tags) {
		add(kinds.DeleteSecret, "secret", n.Secret, "")
	}
	if o.Repo != nil && mine(o.Repo.Tags) {
		add(DeleteRepository, "ECR repository", n.Repository, "")
	}
	if o.Log != nil && o.Log.OtherStack == "" {
		add(kinds.DeleteLogGroup, "log group", n.LogGroup, "")
	}
	if o.Role != nil && o.Role.OtherStack == "" {
		cs = append(cs, kinds.DeleteRoleChanges(o.Role, n.Role)...)
	}
	return cs
}

// Destroy deletes what the service owns (dryRun: lists it).
func Destroy(ctx context.Context, c *awsapi.Session, stackName, region string, dryRun bool, progress io.Writer) ([]engine.Change, error) {
	if progress == nil {
		progress = io.Discard
	}
	n := NamesFor(stackName)
	o, err := observeForDestroy(ctx, c, n)
	if err != nil {
		return nil, err
	}
	changes := planDestroy(o, n)
	if dryRun || len(changes) == 0 {
		return changes, nil
	}
	ran := false
	run := func(cs []engine.Change) error {
		ran, changes = true, cs
		d := &desired{Names: n, Region: region, Account: o.Account, Net: o.Net}
		return engine.Run(ctx, cs, engine.Options{Kinds: newRun(c, o, d, progress).kinds(), Progress: progress, Parallel: 1, Operation: "destroy"})
	}
	if o.Bucket == nil {
		return changes, run(changes)
	}
	replan := func() ([]engine.Change, error) {
		var err error
		if o, err = observeForDestroy(ctx, c, n); err != nil {
			return nil, err
		}
		changes = planDestroy(o, n)
		return changes, nil
	}
	err = kinds.LockedApply(ctx, c, o.Bucket, o.Account, stackName, "destroy user functions", progress, replan, run)
	if err != nil && !ran {
		return nil, err
	}
	return changes, err
}

// observeForDestroy observes with the VPC the stack's security groups are in (tagged),
// whatever the configuration says now.
func observeForDestroy(ctx context.Context, c *awsapi.Session, n Names) (*observed, error) {
	groups, err := c.EC2().GroupsTagged(ctx, stack.TagKey, n.Stack)
	if err != nil {
		return nil, awsapi.Explain("list the security groups of stack "+n.Stack, err)
	}
	want := network{VPC: noVPC}
	for _, g := range groups {
		if g.Name == n.ALBGroup || g.Name == n.TasksGroup || g.Name == n.NodesGroup {
			want = network{VPC: g.VPC, AsIs: true}
		}
	}
	return observe(ctx, c, n, want)
}

// Status is what exists of the user-functions service.
type Status struct {
	Component string   `json:"component"` // "functions"
	Stack     string   `json:"stack"`
	Deployed  bool     `json:"deployed"`
	Service   string   `json:"service,omitempty"`
	State     string   `json:"state,omitempty"`
	TaskDef   string   `json:"task_definition,omitempty"`
	Image     string   `json:"image,omitempty"`
	Running   int32    `json:"running"`
	Desired   int32    `json:"desired"`
	Rollout   string   `json:"rollout,omitempty"`
	Healthy   int      `json:"healthy_targets"`
	URL       string   `json:"user_transform_url,omitempty"`
	Problems  []string `json:"problems,omitempty"`
}

func (s *Status) WriteText(w io.Writer) {
	if !s.Deployed {
		fmt.Fprintf(w, "  %-11s not deployed\n", "functions")
		return
	}
	fmt.Fprintf(w, "  %-11s %s %s, %s (%s), %d/%d tasks running, %d healthy targets, rollout %s\n", "functions", s.Service, strings.ToLower(s.State), s.TaskDef, s.Image, s.Running, s.Desired, s.Healthy, strings.ToLower(s.Rollout))
	if s.URL != "" {
		fmt.Fprintf(w, "  %-11s USER_TRANSFORM_URL %s\n", "", s.URL)
	}
	for _, p := range s.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
}

// GetStatus reads the service's state (read-only).
func GetStatus(ctx context.Context, c *awsapi.Session, stackName string) (*Status, error) {
	n := NamesFor(stackName)
	st := &Status{Component: ComponentName, Stack: stackName}
	if _, err := c.ECS().FindCluster(ctx, n.Cluster); errors.Is(err, awsapi.ErrNotFound) {
		return st, nil
	} else if err != nil {
		return nil, awsapi.Explain("read ECS cluster "+n.Cluster, err)
	}
	s, err := c.ECS().FindService(ctx, n.Cluster, n.Service)
	if errors.Is(err, awsapi.ErrNotFound) {
		st.Problems = append(st.Problems, "the cluster has no service: run rudderctl deploy transformer --ecs")
		return st, nil
	}
	if err != nil {
		return nil, awsapi.Explain("read ECS service "+n.Service, err)
	}
	st.Deployed, st.Service, st.State, st.TaskDef, st.Running, st.Desired = true, n.Service, s.Status, kinds.Revision(s.TaskDef), s.Running, s.Desired
	if p := s.Primary(); p != nil {
		st.Rollout = p.RolloutState
		if p.RolloutState == "FAILED" {
			st.Problems = append(st.Problems, "the last rollout failed: "+p.RolloutReason)
		}
	}
	if td, err := c.ECS().FindTaskDefinition(ctx, s.TaskDef); err == nil && len(td.Spec.Containers) > 0 {
		st.Image = td.Spec.Containers[0].Image
	}
	if s.TargetGroup != "" {
		ts, err := c.ELBv2().TargetHealth(ctx, s.TargetGroup)
		if err != nil {
			return nil, awsapi.Explain("read the target health of "+n.TargetGroup, err)
		}
		for _, t := range ts {
			if t.State == "healthy" {
				st.Healthy++
			}
		}
	}
	if e, err := GetEndpoints(ctx, c, stackName); err == nil {
		st.URL = e.UserTransformURL
	}
	if st.Running < st.Desired {
		st.Problems = append(st.Problems, fmt.Sprintf("%d of %d tasks are running; recent events: %s", st.Running, st.Desired, strings.Join(first(s.Events, 3), " | ")))
	}
	return st, nil
}

func first(s []string, n int) []string { return s[:min(len(s), n)] }

// Endpoints is where the user functions are served.
type Endpoints struct {
	// UserTransformURL is rudder-server's USER_TRANSFORM_URL: http://<internal ALB>:<port>
	// ("" when the service is not deployed). It holds no secret: only the nodes' security
	// group reaches it.
	UserTransformURL string `json:"user_transform_url,omitempty"`
}

func (e *Endpoints) WriteText(w io.Writer) {
	if e.UserTransformURL != "" {
		fmt.Fprintf(w, "USER_TRANSFORM_URL  %s\n", e.UserTransformURL)
	}
}

// ErrNotDeployed is answered when the stack runs no user-functions service.
var ErrNotDeployed = errors.New("no user-functions service is deployed in this stack: run rudderctl deploy transformer --ecs")

// GetEndpoints reads USER_TRANSFORM_URL: the load balancer's DNS name and listener port.
func GetEndpoints(ctx context.Context, c *awsapi.Session, stackName string) (*Endpoints, error) {
	url, err := kinds.EntryURL(ctx, c, NamesFor(stackName).LoadBalancer)
	if errors.Is(err, kinds.ErrNoEntry) {
		return nil, ErrNotDeployed
	}
	if err != nil {
		return nil, err
	}
	return &Endpoints{UserTransformURL: url}, nil
}

// Logs prints the service's log events (every task's stream).
func Logs(ctx context.Context, c *awsapi.Session, stackName string, since time.Time, follow, jsonLines bool, out io.Writer) error {
	return transformer.GroupLogs(ctx, c, NamesFor(stackName).LogGroup, "rudderctl deploy transformer --ecs", since, follow, jsonLines, out)
}

// Rollback points the service at the task definition revision before the one it runs,
// and waits for the steady state. It returns both revisions.
func Rollback(ctx context.Context, c *awsapi.Session, stackName string, progress io.Writer) (from, to string, err error) {
	if progress == nil {
		progress = io.Discard
	}
	n := NamesFor(stackName)
	s, err := c.ECS().FindService(ctx, n.Cluster, n.Service)
	if errors.Is(err, awsapi.ErrNotFound) {
		return "", "", ErrNotDeployed
	}
	if err != nil {
		return "", "", awsapi.Explain("read ECS service "+n.Service, err)
	}
	active, err := c.ECS().TaskDefinitionARNs(ctx, n.Family, "ACTIVE")
	if err != nil {
		return "", "", awsapi.Explain("list the task definitions of "+n.Family, err)
	}
	i := slices.Index(active, s.TaskDef)
	if i <= 0 {
		return "", "", fmt.Errorf("rollback of %s refused: it runs %s and there is no earlier active revision to go back to; deploy the settings you want instead", n.Service, kinds.Revision(s.TaskDef))
	}
	prev := active[i-1]
	acct, err := c.AccountID(ctx)
	if err != nil {
		return "", "", err
	}
	bucket, err := kinds.ObserveBucket(ctx, c, stack.BucketName(stackName, acct, c.Region), stackName)
	if err != nil {
		return "", "", err
	}
	lock, err := kinds.LockStack(ctx, c, bucket, acct, stackName, "rollback transformer --ecs", progress)
	if err != nil {
		return "", "", err
	}
	defer lock.Release(context.WithoutCancel(ctx), progress)
	fmt.Fprintf(progress, "~ ECS service %s: task definition %s -> %s\n", n.Service, kinds.Revision(s.TaskDef), kinds.Revision(prev))
	if err := c.ECS().SetTaskDefinition(ctx, n.Cluster, n.Service, prev); err != nil {
		return "", "", awsapi.Explain("update ECS service "+n.Service, err)
	}
	if err := waitSteady(ctx, c, n, prev, progress); err != nil {
		return "", "", err
	}
	return kinds.Revision(s.TaskDef), kinds.Revision(prev), nil
}

// Component is the user-functions service as a component of a stack. In is the deploy's
// input (needed by Deploy only).
type Component struct {
	In *Input
}

var _ component.Component = (*Component)(nil)

// Name is "functions".
func (*Component) Name() string { return ComponentName }

func (k *Component) Deploy(ctx context.Context, c *awsapi.Session, st stack.Stack, dryRun bool, progress io.Writer) (component.Report, error) {
	var in Input
	if k.In != nil {
		in = *k.In
	}
	if err := component.CheckInput(ComponentName, k.In != nil, in.Stack, in.Region, st); err != nil {
		return nil, err
	}
	return Deploy(ctx, c, in, dryRun, progress)
}

func (*Component) Destroy(ctx context.Context, c *awsapi.Session, st stack.Stack, dryRun bool, progress io.Writer) ([]engine.Change, error) {
	return Destroy(ctx, c, st.Name, st.Region, dryRun, progress)
}

func (*Component) Status(ctx context.Context, c *awsapi.Session, st stack.Stack) (component.Report, error) {
	return GetStatus(ctx, c, st.Name)
}

// Endpoints answers an empty report when no service is deployed.
func (*Component) Endpoints(ctx context.Context, c *awsapi.Session, st stack.Stack, _ bool) (component.Report, error) {
	e, err := GetEndpoints(ctx, c, st.Name)
	if errors.Is(err, ErrNotDeployed) {
		return &Endpoints{}, nil
	}
	return e, err
}
