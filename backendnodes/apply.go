package backendnodes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ec2api"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/rdsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
)

// run is one apply: clients, what was observed and wanted, and the ids steps fill in for
// the steps after them (node steps run in parallel: mu guards the maps).
type run struct {
	c        *awsapi.Session
	o        *observed
	d        *desired
	progress io.Writer
	force    bool
	drainFor time.Duration

	mu        sync.Mutex
	role      string
	groups    *kinds.IDs // by part
	secretARN string
	lb, tg    string
	dbs       map[int]instanceEndpoint
	taskDefs  map[int]string
}

func newRun(c *awsapi.Session, o *observed, d *desired, progress io.Writer) *run {
	groups := map[string]string{}
	for part, g := range o.Groups {
		groups[part] = g.ID
	}
	if o.NodesGroup != nil {
		groups["nodes"] = o.NodesGroup.ID
	}
	r := &run{c: c, o: o, d: d, progress: progress, role: d.roleARN(o), groups: kinds.NewIDs(groups), secretARN: o.secretARN(),
		dbs: map[int]instanceEndpoint{}, taskDefs: map[int]string{}, drainFor: d.Settings.DrainTimeout}
	r.lb, r.tg = o.ARNs()
	for i, no := range o.Nodes {
		if no.Instance != nil {
			r.dbs[i] = o.endpoint(i)
		}
		if no.Current != nil {
			r.taskDefs[i] = no.Current.ARN
		}
	}
	return r
}

var groupWhy = map[string]string{
	"alb": "rudderctl: the nodes' public load balancer; open to the internet on its listener port only",
	"gw":  "rudderctl: the nodes' gateways; admit the public load balancer on 8080 only",
	"db":  "rudderctl: the nodes' databases; admit the nodes' group on 5432 only",
}

func (r *run) kinds() []engine.Kind {
	c, n, tags, s := r.c, r.d.Names, r.d.Names.Tags(), r.d.Settings
	role := r.d.roleSpec(nil)
	logARN := ""
	if r.o.Log != nil {
		logARN = r.o.Log.ARN
	}
	rules := func(part string) []ec2api.Rule { return wantRules(part, s.ListenerPort, r.groups.Get) }
	return []engine.Kind{
		kinds.RoleKind{C: c, Spec: role, ARN: &r.role}, policyKind{r}, kinds.RoleTags(c, n.Role, n.Stack),
		kinds.LogGroupKind{C: c, Spec: r.d.logGroupSpec()}, kinds.LogGroupTags(c, logARN, n.Stack),
		kinds.SecurityGroupKind{C: c, VPC: r.d.Net.VPC, Why: groupWhy, Tags: tags, IDs: r.groups}, kinds.RuleKind{C: c, IDs: r.groups, Rules: rules},
		subnetGroupKind{r},
		kinds.SecretKind{C: c, Value: r.d.secretValue(), Description: "rudderctl " + n.Stack + ": what the nodes read (workspace token, CONFIG_BACKEND_URL, the Lambda transformer URL)",
			Tags: tags, ARN: &r.secretARN},
		kinds.TargetGroupKind{C: c, Spec: r.d.targetGroupSpec(), ARN: &r.tg},
		kinds.LoadBalancerKind{C: c, Name: n.LoadBalancer, Subnets: r.d.Net.Subnets, Group: func() string { return r.groups.Get("alb") }, Tags: tags, ARN: &r.lb},
		kinds.ListenerKind{C: c, LB: &r.lb, TG: &r.tg, Port: s.ListenerPort, Certificate: s.CertificateARN, Tags: tags},
		kinds.ClusterKind{C: c, Tags: tags},
		instanceKind{r}, taskDefKind{r}, serviceKind{r}, drainKind{r}, snapshotKind{r: r},
	}
}

// snapshotKind deletes a final snapshot (destroy --delete-snapshots); one still being
// taken is waited for first (RDS refuses to delete it until then).
type snapshotKind struct {
	engine.Unsupported // Create, Update
	r                  *run
}

func (k snapshotKind) Actions() []engine.Action { return []engine.Action{DeleteSnapshot} }

func (k snapshotKind) Delete(ctx context.Context, ch engine.Change) error {
	if err := k.r.c.RDS().WaitSnapshotAvailable(ctx, ch.Name, DBAvailable); err != nil && !errors.Is(err, awsapi.ErrNotFound) {
		return err
	}
	err := k.r.c.RDS().DeleteSnapshot(ctx, ch.Name)
	if errors.Is(err, awsapi.ErrNotFound) {
		return nil
	}
	return err
}

// poll calls check every PollEvery until it reports done, up to limit.
func poll(ctx context.Context, limit time.Duration, what string, check func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return engine.Plain(fmt.Errorf("%s: not done after %s", what, limit))
		}
		select {
		case <-time.After(PollEvery):
		case <-ctx.Done():
			return engine.Plain(ctx.Err())
		}
	}
}

func exists(err error) bool { return errors.Is(err, awsapi.ErrAlreadyExists) }

// ---- IAM policy: written from the secrets known when it runs ----

type policyKind struct{ r *run }

func (k policyKind) Actions() []engine.Action { return []engine.Action{PutPolicy, DeletePolicy} }

func (k policyKind) Create(ctx context.Context, ch engine.Change) error { return k.Update(ctx, ch) }

func (k policyKind) Update(ctx context.Context, _ engine.Change) error {
	k.r.mu.Lock()
	secrets := []string{}
	if k.r.secretARN != "" {
		secrets = append(secrets, k.r.secretARN)
	}
	for i, db := range k.r.dbs {
		if i <= k.r.d.Count && db.SecretARN != "" {
			secrets = append(secrets, db.SecretARN)
		}
	}
	k.r.mu.Unlock()
	spec := k.r.d.roleSpec(secrets)
	return k.r.c.IAM().PutInlinePolicy(ctx, spec.Name, spec.PolicyName, spec.Policy)
}

func (k policyKind) Delete(ctx context.Context, ch engine.Change) error {
	return k.r.c.IAM().DeleteInlinePolicy(ctx, k.r.d.Names.Role, ch.Target)
}

// ---- DB subnet group ----

type subnetGroupKind struct{ r *run }

func (k subnetGroupKind) Actions() []engine.Action {
	return []engine.Action{CreateSubnetGroup, DeleteSubnetGroup}
}

func (k subnetGroupKind) Create(ctx context.Context, ch engine.Change) error {
	_, err := k.r.c.RDS().CreateSubnetGroup(ctx, ch.Name, "rudderctl "+k.r.d.Names.Stack+": the nodes' databases", k.r.d.Net.Subnets, k.r.d.Names.Tags())
	if exists(err) {
		return nil
	}
	return err
}

func (k subnetGroupKind) Update(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

func (k subnetGroupKind) Delete(ctx context.Context, ch engine.Change) error {
	return kinds.RetryWhile(ctx, kinds.IsConflict, func() error { return k.r.c.RDS().DeleteSubnetGroup(ctx, ch.Name) })
}

// ---- a node: its database, task definition, service ----

// nodeOf is the node index a node change is for (Target "i" or "i|rest").
func nodeOf(ch engine.Change) (int, string) {
	idx, rest, _ := strings.Cut(ch.Target, "|")
	i, _ := strconv.Atoi(idx)
	return i, rest
}

type instanceKind struct{ r *run }

func (k instanceKind) Actions() []engine.Action {
	return []engine.Action{CreateInstance, ModifyInstance, DeleteInstance}
}

func (k instanceKind) Create(ctx context.Context, ch engine.Change) error {
	i, _ := nodeOf(ch)
	_, err := k.r.c.RDS().CreateInstance(ctx, k.r.d.instanceSpec(i, k.r.groups.Get("db")))
	return err
}

// AlreadyExists: an earlier attempt created it; Wait picks it up.
func (k instanceKind) AlreadyExists(err error) bool { return exists(err) }

func (k instanceKind) Adopt(context.Context, engine.Change) error { return nil }

func (k instanceKind) Update(ctx context.Context, ch engine.Change) error {
	i, _ := nodeOf(ch)
	s := k.r.d.Settings
	if err := k.r.waitDB(ctx, i); err != nil {
		return err
	}
	_, err := k.r.c.RDS().ModifyInstance(ctx, k.r.d.Names.Node(i).DB, rdsapi.Modify{DeletionProtection: &s.DeletionProtection, BackupRetention: &s.BackupRetention})
	return err
}

// Wait: until the instance is available; its endpoint and managed secret are recorded.
func (k instanceKind) Wait(ctx context.Context, ch engine.Change) error {
	i, _ := nodeOf(ch)
	return k.r.waitDB(ctx, i)
}

// waitDB waits until node i's instance is available and records its endpoint.
func (r *run) waitDB(ctx context.Context, i int) error {
	id := r.d.Names.Node(i).DB
	start := time.Now()
	last := ""
	return poll(ctx, DBAvailable, "DB instance "+id+" to be available", func() (bool, error) {
		in, err := r.c.RDS().FindInstance(ctx, id)
		if err != nil {
			return false, err
		}
		if in.Status != last {
			fmt.Fprintf(r.progress, "  DB instance %s: %s (%s)\n", id, in.Status, time.Since(start).Round(time.Second))
			last = in.Status
		}
		switch in.Status {
		case "available":
			r.mu.Lock()
			r.dbs[i] = instanceEndpoint{Address: in.Address, Port: in.Port, SecretARN: in.SecretARN}
			r.mu.Unlock()
			return true, nil
		case "failed", "incompatible-parameters", "incompatible-restore", "deleting", "storage-full":
			return false, engine.Plain(fmt.Errorf("DB instance %s is %s: it cannot serve node %d; see the RDS console or `aws rds describe-events`", id, in.Status, i))
		}
		return false, nil
	})
}

// Delete removes the instance with a final snapshot: deletion protection is turned off
// first (on purpose, by this removal only).
func (k instanceKind) Delete(ctx context.Context, ch engine.Change) error {
	i, _ := nodeOf(ch)
	id := k.r.d.Names.Node(i).DB
	in, err := k.r.c.RDS().FindInstance(ctx, id)
	if err != nil {
		return err
	}
	if in.DeletionProtection {
		if err := k.r.waitDB(ctx, i); err != nil {
			return err
		}
		off := false
		if _, err := k.r.c.RDS().ModifyInstance(ctx, id, rdsapi.Modify{DeletionProtection: &off}); err != nil {
			return err
		}
	}
	snap := k.r.d.Names.FinalSnapshot(i, time.Now().UTC().Format("20060102-150405"))
	if strings.HasSuffix(ch.Target, "|"+skipFinalSnapshot) {
		snap = ""
	}
	err = kinds.RetryWhile(ctx, kinds.IsConflict, func() error { return k.r.c.RDS().DeleteInstance(ctx, id, snap) })
	if err != nil {
		return err
	}
	if snap == "" {
		fmt.Fprintf(k.r.progress, "  DB instance %s: deleting, no final snapshot\n", id)
	} else {
		fmt.Fprintf(k.r.progress, "  DB instance %s: deleting, final snapshot %s\n", id, snap)
	}
	return poll(ctx, DBAvailable, "DB instance "+id+" to be deleted", func() (bool, error) {
		_, err := k.r.c.RDS().FindInstance(ctx, id)
		if errors.Is(err, awsapi.ErrNotFound) {
			return true, nil
		}
		return false, err
	})
}

type taskDefKind struct{ r *run }

func (k taskDefKind) Actions() []engine.Action {
	return []engine.Action{kinds.RegisterTaskDef, kinds.DeregisterTaskDef, kinds.DeleteTaskDef}
}

// Create registers node i's revision from its database as it is now (waiting for it).
func (k taskDefKind) Create(ctx context.Context, ch engine.Change) error {
	i, _ := nodeOf(ch)
	if err := k.r.waitDB(ctx, i); err != nil {
		return err
	}
	k.r.mu.Lock()
	spec := k.r.d.taskDefSpec(i, k.r.role, k.r.secretARN, k.r.dbs[i])
	k.r.mu.Unlock()
	td, err := k.r.c.ECS().RegisterTaskDefinition(ctx, spec)
	if err == nil {
		k.r.mu.Lock()
		k.r.taskDefs[i] = td.ARN
		k.r.mu.Unlock()
	}
	return err
}

func (k taskDefKind) Update(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

func (k taskDefKind) Delete(ctx context.Context, ch engine.Change) error {
	_, arn := nodeOf(ch)
	if ch.Action == kinds.DeleteTaskDef {
		return k.r.c.ECS().DeleteTaskDefinition(ctx, arn)
	}
	return k.r.c.ECS().DeregisterTaskDefinition(ctx, arn)
}

type serviceKind struct{ r *run }

func (k serviceKind) Actions() []engine.Action {
	return []engine.Action{kinds.CreateService, kinds.UpdateService, kinds.DeleteService}
}

func (k serviceKind) spec(i int) ecsapi.ServiceSpec {
	groups := []string{k.r.groups.Get("nodes"), k.r.groups.Get("gw")}
	k.r.mu.Lock()
	defer k.r.mu.Unlock()
	return k.r.d.serviceSpec(i, k.r.taskDefs[i], k.r.tg, groups)
}

func (k serviceKind) Create(ctx context.Context, ch engine.Change) error {
	i, _ := nodeOf(ch)
	_, err := k.r.c.ECS().CreateService(ctx, k.spec(i))
	return err
}

func (k serviceKind) AlreadyExists(err error) bool { return exists(err) }

func (k serviceKind) Adopt(ctx context.Context, ch engine.Change) error { return k.Update(ctx, ch) }

func (k serviceKind) Update(ctx context.Context, ch engine.Change) error {
	i, _ := nodeOf(ch)
	spec := k.spec(i)
	if spec.TaskDef == "" {
		// The revision is unchanged (a failed rollout started again): the service's own.
		if no := k.r.o.Nodes[i]; no != nil && no.Service != nil {
			spec.TaskDef = no.Service.TaskDef
		}
	}
	if err := k.r.c.ECS().UpdateService(ctx, spec, true); err != nil {
		return err
	}
	if no := k.r.o.Nodes[i]; no != nil && no.Service != nil && no.Service.Primary() != nil && no.Service.Primary().RolloutState == "FAILED" &&
		no.Service.TaskDef == spec.TaskDef {
		return k.r.c.ECS().RestartService(ctx, k.r.d.Names.Cluster, no.Service.Name)
	}
	return nil
}

// Wait: until the node's one task of its revision runs and the rollout is complete (its
// target healthy in the public ALB).
func (k serviceKind) Wait(ctx context.Context, ch engine.Change) error {
	i, _ := nodeOf(ch)
	name := k.r.d.Names.Node(i).Service
	k.r.mu.Lock()
	td := k.r.taskDefs[i]
	k.r.mu.Unlock()
	start, last := time.Now(), ""
	return poll(ctx, SteadyAfter, "service "+name+" to be steady", func() (bool, error) {
		s, err := k.r.c.ECS().FindService(ctx, k.r.d.Names.Cluster, name)
		if err != nil {
			return false, err
		}
		p := s.Primary()
		if p == nil {
			return false, nil
		}
		line := fmt.Sprintf("%d/%d running, rollout %s", p.Running, p.Desired, strings.ToLower(p.RolloutState))
		if line != last {
			fmt.Fprintf(k.r.progress, "  service %s: %s (%s)\n", name, line, time.Since(start).Round(time.Second))
			last = line
		}
		if p.TaskDef == td && p.RolloutState == "FAILED" {
			return false, engine.Plain(fmt.Errorf("node %d (service %s) did not start: %s; recent events: %s; see `rudderctl logs node %d`", i, name, p.RolloutReason, strings.Join(s.Events[:min(3, len(s.Events))], " | "), i))
		}
		return len(s.Deployments) == 1 && p.TaskDef == td && p.Running == 1 && s.Running == 1 && (p.RolloutState == "COMPLETED" || p.RolloutState == ""), nil
	})
}

func (k serviceKind) Delete(ctx context.Context, ch engine.Change) error {
	i, _ := nodeOf(ch)
	name := k.r.d.Names.Node(i).Service
	if err := k.r.c.ECS().DeleteService(ctx, k.r.d.Names.Cluster, name); err != nil {
		return err
	}
	return poll(ctx, kinds.WaitFor, "service "+name+" to go", func() (bool, error) {
		_, err := k.r.c.ECS().FindService(ctx, k.r.d.Names.Cluster, name)
		if errors.Is(err, awsapi.ErrNotFound) {
			return true, nil
		}
		return false, err
	})
}
