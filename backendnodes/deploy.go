package backendnodes

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	Count      int      `json:"count"`
	Image      string   `json:"image"`
	Changes    int      `json:"changes"`
	ChangeList []string `json:"change_list"`
	Applied    bool     `json:"applied"`
	// URL is the public load balancer's URL (where events are sent).
	URL string `json:"url,omitempty"`
}

func (r *Result) WriteText(w io.Writer) {
	if r.Changes == 0 {
		fmt.Fprintf(w, "%d nodes (%s) of stack %s are up to date: no changes\n", r.Count, r.Image, r.Stack)
	} else {
		verb := "planned"
		if r.Applied {
			verb = "applied"
		}
		fmt.Fprintf(w, "%d nodes (%s) of stack %s: %d changes %s\n", r.Count, r.Image, r.Stack, r.Changes, verb)
		for _, c := range r.ChangeList {
			fmt.Fprintln(w, "  "+c)
		}
	}
	if r.URL != "" {
		fmt.Fprintf(w, "NODES_URL  %s\n", r.URL)
	}
}

func planDeploy(ctx context.Context, c *awsapi.Session, in Input) (*observed, *desired, []engine.Change, error) {
	n := NamesFor(in.Stack)
	o, err := observe(ctx, c, n, in.Count)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(o.Missing) > 0 {
		return nil, nil, nil, errMissing(in.Stack, o.Missing)
	}
	if len(o.Net.Subnets) < 2 {
		return nil, nil, nil, fmt.Errorf("deploy nodes refused: the user-functions service of stack %q has %d subnets; the nodes run in its subnets and their load balancer needs 2 availability zones; redeploy it (rudderctl deploy transformer --ecs)", in.Stack, len(o.Net.Subnets))
	}
	d := &desired{Names: n, Region: in.Region, Account: o.Account, Count: in.Count, Settings: in.Settings, Net: o.Net, In: o.In}
	changes, err := plan(o, d)
	return o, d, changes, err
}

// Deploy observes, plans and (unless dryRun) applies under the stack lock. A plan
// without changes takes no lock and makes no mutating call.
func Deploy(ctx context.Context, c *awsapi.Session, in Input, dryRun bool, progress io.Writer) (*Result, error) {
	if progress == nil {
		progress = io.Discard
	}
	fmt.Fprintf(progress, "reading the nodes of stack %q in %s...\n", in.Stack, in.Region)
	o, d, changes, err := planDeploy(ctx, c, in)
	if err != nil {
		return nil, err
	}
	r := &Result{Stack: in.Stack, Region: in.Region, Count: in.Count, Image: in.Settings.ImageRef()}
	report(r, changes, d.In.Secret)
	if dryRun {
		return r, nil
	}
	if len(changes) > 0 {
		if err := applyLocked(ctx, c, in, o, progress, r); err != nil {
			return nil, err
		}
	}
	if e, err := GetEndpoints(ctx, c, in.Stack); err == nil {
		r.URL = e.URL
	}
	return r, nil
}

func applyLocked(ctx context.Context, c *awsapi.Session, in Input, o *observed, progress io.Writer, r *Result) error {
	var d *desired
	replan := func() (changes []engine.Change, err error) {
		if o, d, changes, err = planDeploy(ctx, c, in); err == nil {
			report(r, changes, d.In.Secret)
		}
		return changes, err
	}
	return kinds.LockedApply(ctx, c, o.Bucket, o.Account, in.Stack, "deploy nodes", progress, replan, func(changes []engine.Change) error {
		start := time.Now()
		run := newRun(c, o, d, progress)
		run.force = in.Force
		err := engine.Run(ctx, changes, engine.Options{Kinds: run.kinds(), Progress: progress, Secret: d.In.Secret,
			Parallel: max(4, 2*in.Count), Operation: "deploy"})
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, "%d nodes of stack %s deployed in %s\n", in.Count, in.Stack, time.Since(start).Round(time.Millisecond))
		r.Applied = true
		return nil
	})
}

func report(r *Result, changes []engine.Change, secret string) {
	r.Changes, r.ChangeList = len(changes), []string{}
	for _, ch := range changes {
		r.ChangeList = append(r.ChangeList, engine.Redact(ch.String(), secret))
	}
}

// planDestroy deletes everything the nodes own, nodes first (in parallel; no drain: a
// destroy is meant; each database leaves its final snapshot), then the shared resources.
func planDestroy(o *observed, n Names, opts DestroyOptions) []engine.Change {
	var cs, last []engine.Change
	var ends []string
	for _, i := range o.indices() {
		steps := planRemovalOf(o, n, i, false, !opts.DeleteSnapshots)
		for k := range steps {
			if steps[k].Needs == nil {
				steps[k].Needs = []string{}
			}
		}
		if len(steps) > 0 {
			ends = append(ends, steps[len(steps)-1].ID)
		}
		cs = append(cs, steps...)
	}
	mine := func(tags map[string]string) bool { _, other := stack.TagState(tags, n.Stack); return other == "" }
	add := func(a engine.Action, resource, name, target string) {
		last = append(last, engine.Change{Action: a, Resource: resource, Name: name, Target: target})
	}
	for _, arn := range o.PendingLive {
		add(kinds.DeregisterTaskDef, "task definition", kinds.Revision(arn), "0|"+arn)
	}
	for _, arn := range o.Pending {
		add(kinds.DeleteTaskDef, "task definition", kinds.Revision(arn), "0|"+arn)
	}
	if o.Cluster != nil && mine(o.Cluster.Tags) {
		add(kinds.DeleteCluster, "ECS cluster", n.Cluster, "")
	}
	last = append(last, o.LoadBalancing.DeleteChanges(n.Stack, n.LoadBalancer, n.TargetGroup)...)
	if o.SubnetGroup != nil {
		add(DeleteSubnetGroup, "DB subnet group", n.SubnetGroup, "")
	}
	if o.Secret != nil && mine(o.Secret.Tags) {
		add(kinds.DeleteSecret, "secret", n.Secret, "")
	}
	for _, part := range []string{"db", "gw", "alb"} { // each admits the one after it
		if g := o.Groups[part]; g != nil && mine(g.Tags) {
			add(kinds.DeleteSecurityGroup, "security group", g.Name, g.ID)
		}
	}
	if o.Log != nil && o.Log.OtherStack == "" {
		add(kinds.DeleteLogGroup, "log group", n.LogGroup, "")
	}
	if o.Role != nil && o.Role.OtherStack == "" {
		last = append(last, kinds.DeleteRoleChanges(o.Role, n.Role)...)
	}
	for _, snap := range o.FinalSnapshots {
		add(DeleteSnapshot, "DB snapshot", snap.ID, "")
	}
	for k := range last {
		last[k].ID = fmt.Sprintf("last-%d", k)
		if k == 0 {
			last[k].Needs = append([]string{}, ends...)
		}
	}
	return append(cs, last...)
}

// DestroyOptions say what a destroy of the nodes also does.
type DestroyOptions struct {
	DryRun bool // only list the deletions
	// DeleteSnapshots deletes the databases with no final snapshot, and the final
	// snapshots earlier removals left: what they hold (undelivered jobs too) is gone.
	DeleteSnapshots bool
}

// Destroy deletes what the nodes own (dryRun: lists it). The DB instances leave their
// final snapshots.
func Destroy(ctx context.Context, c *awsapi.Session, stackName, region string, dryRun bool, progress io.Writer) ([]engine.Change, error) {
	return DestroyWith(ctx, c, stackName, region, DestroyOptions{DryRun: dryRun}, progress)
}

// DestroyWith is Destroy with options.
func DestroyWith(ctx context.Context, c *awsapi.Session, stackName, region string, opts DestroyOptions, progress io.Writer) ([]engine.Change, error) {
	if progress == nil {
		progress = io.Discard
	}
	n := NamesFor(stackName)
	o, err := observeForDestroy(ctx, c, n, opts)
	if err != nil {
		return nil, err
	}
	changes := planDestroy(o, n, opts)
	if opts.DryRun || len(changes) == 0 {
		return changes, nil
	}
	ran := false
	run := func(cs []engine.Change) error {
		ran, changes = true, cs
		d := &desired{Names: n, Region: region, Account: o.Account, Net: o.Net, In: o.In}
		return engine.Run(ctx, cs, engine.Options{Kinds: newRun(c, o, d, progress).kinds(), Progress: progress, Secret: o.In.Secret, Parallel: 8, Operation: "destroy"})
	}
	if o.Bucket == nil {
		return changes, run(changes)
	}
	replan := func() ([]engine.Change, error) {
		var err error
		if o, err = observeForDestroy(ctx, c, n, opts); err != nil {
			return nil, err
		}
		changes = planDestroy(o, n, opts)
		return changes, nil
	}
	err = kinds.LockedApply(ctx, c, o.Bucket, o.Account, stackName, "destroy nodes", progress, replan, run)
	if err != nil && !ran {
		return nil, err
	}
	return changes, err
}

// Endpoints is where the nodes take events.
type Endpoints struct {
	// URL is the public load balancer's URL: http(s)://<DNS name>:<port>.
	URL string `json:"nodes_url,omitempty"`
}

func (e *Endpoints) WriteText(w io.Writer) {
	if e.URL != "" {
		fmt.Fprintf(w, "NODES_URL  %s\n", e.URL)
	}
}

// ErrNotDeployed is answered when the stack runs no nodes.
var ErrNotDeployed = errors.New("no nodes are deployed in this stack: run rudderctl deploy nodes --count N")

// GetEndpoints reads the public load balancer's URL.
func GetEndpoints(ctx context.Context, c *awsapi.Session, stackName string) (*Endpoints, error) {
	url, err := kinds.EntryURL(ctx, c, NamesFor(stackName).LoadBalancer)
	if errors.Is(err, kinds.ErrNoEntry) {
		return nil, ErrNotDeployed
	}
	if err != nil {
		return nil, err
	}
	return &Endpoints{URL: url}, nil
}

// Logs prints node i's log events (rudder-server's and the sidecar's), or every node's
// when i is 0.
func Logs(ctx context.Context, c *awsapi.Session, stackName string, i int, since time.Time, follow, jsonLines bool, out io.Writer) error {
	n := NamesFor(stackName)
	if i == 0 {
		return transformer.GroupLogs(ctx, c, n.LogGroup, "rudderctl deploy nodes --count N", since, follow, jsonLines, out)
	}
	return nodeLogs(ctx, c, n, i, since, follow, jsonLines, out)
}

// Component is the node pairs as a component of a stack. In is the deploy's input.
type Component struct {
	In *Input
	// DeleteSnapshots: a destroy also deletes the nodes' final snapshots (and takes none).
	DeleteSnapshots bool
	// CountPendingInVPC: a status counts pending jobs inside the VPC (StatusOptions), with
	// its progress on Progress.
	CountPendingInVPC bool
	Progress          io.Writer
}

var _ component.Component = (*Component)(nil)

// Name is "nodes".
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

func (k *Component) Destroy(ctx context.Context, c *awsapi.Session, st stack.Stack, dryRun bool, progress io.Writer) ([]engine.Change, error) {
	return DestroyWith(ctx, c, st.Name, st.Region, DestroyOptions{DryRun: dryRun, DeleteSnapshots: k.DeleteSnapshots}, progress)
}

func (k *Component) Status(ctx context.Context, c *awsapi.Session, st stack.Stack) (component.Report, error) {
	return GetStatusWith(ctx, c, st.Name, StatusOptions{CountInVPC: k.CountPendingInVPC, Region: st.Region, Progress: k.Progress})
}

func (*Component) Endpoints(ctx context.Context, c *awsapi.Session, st stack.Stack, _ bool) (component.Report, error) {
	e, err := GetEndpoints(ctx, c, st.Name)
	if errors.Is(err, ErrNotDeployed) {
		return &Endpoints{}, nil
	}
	return e, err
}
