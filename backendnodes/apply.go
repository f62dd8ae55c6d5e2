package backendnodes

import (
	"context"
	"encoding/json"
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
	"github.com/rudderctl/rudderctl/internal/awsapi/elbv2api"
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
	groups    map[string]string
	secretARN string
	lb, tg    string
	dbs       map[int]instanceEndpoint
	taskDefs  map[int]string
}

func newRun(c *awsapi.Session, o *observed, d *desired, progress io.Writer) *run {
	r := &run{c: c, o: o, d: d, progress: progress, role: d.roleARN(o), groups: map[string]string{}, secretARN: o.secretARN(),
		dbs: map[int]instanceEndpoint{}, taskDefs: map[int]string{}, drainFor: d.Settings.DrainTimeout}
	for part, g := range o.Groups {
		r.groups[part] = g.ID
	}
	if o.NodesGroup != nil {
		r.groups["nodes"] = o.NodesGroup.ID
	}
	if o.LB != nil {
		r.lb = o.LB.ARN
	}
	if o.TG != nil {
		r.tg = o.TG.ARN
	}
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

func (r *run) group(part string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.groups[part]
}

func (r *run) kinds() []engine.Kind {
	c, n := r.c, r.d.Names
	role := r.d.roleSpec(nil)
	logARN := ""
	if r.o.Log != nil {
		logARN = r.o.Log.ARN
	}
	return []engine.Kind{
		kinds.RoleKind{C: c, Spec: role, ARN: &r.role}, policyKind{r}, kinds.RoleTags(c, n.Role, n.Stack),
		kinds.LogGroupKind{C: c, Spec: r.d.logGroupSpec()}, kinds.LogGroupTags(c, logARN, n.Stack),
		groupKind{r}, ruleKind{r}, subnetGroupKind{r}, secretKind{r},
		targetGroupKind{r}, r.delayKind(), loadBalancerKind{r}, listenerKind{r}, clusterKind{r},
		instanceKind{r}, taskDefKind{r}, serviceKind{r}, drainKind{r},
	}
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

// retryWhile retries fn while its error is a conflict (a dependent object going away).
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

func isConflict(err error) bool { return errors.Is(err, awsapi.ErrConflict) }

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

// ---- security groups ----

type groupKind struct{ r *run }

func (k groupKind) Actions() []engine.Action {
	return []engine.Action{CreateSecurityGroup, DeleteSecurityGroup}
}

var groupWhy = map[string]string{
	"alb": "rudderctl: the nodes' public load balancer; open to the internet on its listener port only",
	"gw":  "rudderctl: the nodes' gateways; admit the public load balancer on 8080 only",
	"db":  "rudderctl: the nodes' databases; admit the nodes' group on 5432 only",
}

func (k groupKind) Create(ctx context.Context, ch engine.Change) error {
	id, err := k.r.c.EC2().CreateSecurityGroup(ctx, k.r.d.Net.VPC, ch.Name, groupWhy[ch.Target], k.r.d.Names.Tags())
	if err == nil {
		k.r.mu.Lock()
		k.r.groups[ch.Target] = id
		k.r.mu.Unlock()
	}
	return err
}

func (k groupKind) AlreadyExists(err error) bool { return exists(err) }

func (k groupKind) Adopt(ctx context.Context, ch engine.Change) error {
	g, err := k.r.c.EC2().FindSecurityGroup(ctx, k.r.d.Net.VPC, ch.Name)
	if err == nil {
		k.r.mu.Lock()
		k.r.groups[ch.Target] = g.ID
		k.r.mu.Unlock()
	}
	return err
}

func (k groupKind) Update(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

func (k groupKind) Delete(ctx context.Context, ch engine.Change) error {
	return retryWhile(ctx, ec2api.IsInUse, func() error { return k.r.c.EC2().DeleteSecurityGroup(ctx, ch.Target) })
}

type ruleKind struct{ r *run }

func (k ruleKind) Actions() []engine.Action { return []engine.Action{AllowIngress, RevokeIngress} }

func (k ruleKind) Create(ctx context.Context, ch engine.Change) error {
	part := ch.Target
	for _, rule := range wantRules(part, k.r.d.Settings.ListenerPort, k.r.group) {
		if err := k.r.c.EC2().AllowIngress(ctx, k.r.group(part), rule); err != nil && !exists(err) {
			return err
		}
	}
	return nil
}

func (k ruleKind) Update(ctx context.Context, ch engine.Change) error { return k.Create(ctx, ch) }

func (k ruleKind) Delete(ctx context.Context, ch engine.Change) error {
	part, js, _ := strings.Cut(ch.Target, " ")
	var rule ec2api.Rule
	if err := json.Unmarshal([]byte(js), &rule); err != nil {
		return engine.Plain(fmt.Errorf("internal: rule %q: %v", js, err))
	}
	return k.r.c.EC2().RevokeIngress(ctx, k.r.group(part), rule)
}

// ---- DB subnet group, secret ----

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
	return retryWhile(ctx, isConflict, func() error { return k.r.c.RDS().DeleteSubnetGroup(ctx, ch.Name) })
}

type secretKind struct{ r *run }

func (k secretKind) Actions() []engine.Action {
	return []engine.Action{CreateSecret, PutSecretValue, DeleteSecret}
}

func (k secretKind) Create(ctx context.Context, ch engine.Change) error {
	arn, err := k.r.c.Secrets().Create(ctx, ch.Name, k.r.d.secretValue(), "rudderctl "+k.r.d.Names.Stack+": what the nodes read (workspace token, CONFIG_BACKEND_URL, the Lambda transformer URL)", k.r.d.Names.Tags())
	if err == nil {
		k.r.mu.Lock()
		k.r.secretARN = arn
		k.r.mu.Unlock()
	}
	return err
}

func (k secretKind) AlreadyExists(err error) bool { return exists(err) }

func (k secretKind) Adopt(ctx context.Context, ch engine.Change) error {
	s, err := k.r.c.Secrets().Describe(ctx, ch.Name)
	if err != nil {
		return err
	}
	k.r.mu.Lock()
	k.r.secretARN = s.ARN
	k.r.mu.Unlock()
	return k.Update(ctx, ch)
}

func (k secretKind) Update(ctx context.Context, ch engine.Change) error {
	_, err := k.r.c.Secrets().PutString(ctx, ch.Name, k.r.d.secretValue())
	return err
}

func (k secretKind) Delete(ctx context.Context, ch engine.Change) error {
	return k.r.c.Secrets().Delete(ctx, ch.Name, 0)
}

// ---- load balancing ----

type targetGroupKind struct{ r *run }

func (k targetGroupKind) Actions() []engine.Action {
	return []engine.Action{CreateTargetGroup, ModifyHealthCheck, DeleteTargetGroup}
}

func (k targetGroupKind) Create(ctx context.Context, _ engine.Change) error {
	arn, err := k.r.c.ELBv2().CreateTargetGroup(ctx, k.r.d.targetGroupSpec())
	if err == nil {
		k.r.tg = arn
	}
	return err
}

func (k targetGroupKind) AlreadyExists(err error) bool { return exists(err) }

func (k targetGroupKind) Adopt(ctx context.Context, ch engine.Change) error {
	tg, err := k.r.c.ELBv2().FindTargetGroup(ctx, ch.Name)
	if err == nil {
		k.r.tg = tg.ARN
	}
	return err
}

func (k targetGroupKind) Update(ctx context.Context, _ engine.Change) error {
	return k.r.c.ELBv2().ModifyHealthCheck(ctx, k.r.tg, k.r.d.targetGroupSpec())
}

func (k targetGroupKind) Delete(ctx context.Context, ch engine.Change) error {
	return retryWhile(ctx, isConflict, func() error { return k.r.c.ELBv2().DeleteTargetGroup(ctx, ch.Target) })
}

func (r *run) delayKind() engine.Kind {
	return engine.Func{Acts: []engine.Action{SetDelay}, OnUpdate: func(ctx context.Context, _ engine.Change) error {
		return r.c.ELBv2().SetDeregistrationDelay(ctx, r.tg, DeregistrationDelay)
	}}
}

type loadBalancerKind struct{ r *run }

func (k loadBalancerKind) Actions() []engine.Action {
	return []engine.Action{CreateLoadBalancer, DeleteLoadBalancer}
}

func (k loadBalancerKind) Create(ctx context.Context, ch engine.Change) error {
	lb, err := k.r.c.ELBv2().CreateLoadBalancer(ctx, elbv2api.LoadBalancerSpec{Name: ch.Name, Internal: false, Subnets: k.r.d.Net.Subnets,
		SecurityGroups: []string{k.r.group("alb")}, Tags: k.r.d.Names.Tags()})
	if err == nil {
		k.r.lb = lb.ARN
	}
	return err
}

func (k loadBalancerKind) AlreadyExists(err error) bool { return exists(err) }

func (k loadBalancerKind) Adopt(ctx context.Context, ch engine.Change) error {
	lb, err := k.r.c.ELBv2().FindLoadBalancer(ctx, ch.Name)
	if err == nil {
		k.r.lb = lb.ARN
	}
	return err
}

func (k loadBalancerKind) Wait(ctx context.Context, ch engine.Change) error {
	return k.r.c.ELBv2().WaitAvailable(ctx, k.r.lb, kinds.WaitFor)
}

func (k loadBalancerKind) Update(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

func (k loadBalancerKind) Delete(ctx context.Context, ch engine.Change) error {
	if err := k.r.c.ELBv2().DeleteLoadBalancer(ctx, ch.Target); err != nil {
		return err
	}
	return poll(ctx, kinds.WaitFor, "load balancer "+ch.Name+" to go", func() (bool, error) {
		_, err := k.r.c.ELBv2().FindLoadBalancer(ctx, ch.Name)
		if errors.Is(err, awsapi.ErrNotFound) {
			return true, nil
		}
		return false, err
	})
}

type listenerKind struct{ r *run }

func (k listenerKind) Actions() []engine.Action {
	return []engine.Action{CreateListener, DeleteListener}
}

func (k listenerKind) Create(ctx context.Context, _ engine.Change) error {
	s := k.r.d.Settings
	var err error
	if s.CertificateARN != "" {
		_, err = k.r.c.ELBv2().CreateHTTPSListener(ctx, k.r.lb, s.ListenerPort, s.CertificateARN, k.r.tg, k.r.d.Names.Tags())
	} else {
		_, err = k.r.c.ELBv2().CreateListener(ctx, k.r.lb, s.ListenerPort, k.r.tg, k.r.d.Names.Tags())
	}
	if exists(err) {
		return nil // an earlier attempt's
	}
	return err
}

func (k listenerKind) Update(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

func (k listenerKind) Delete(ctx context.Context, ch engine.Change) error {
	return k.r.c.ELBv2().DeleteListener(ctx, ch.Target)
}

type clusterKind struct{ r *run }

func (k clusterKind) Actions() []engine.Action { return []engine.Action{CreateCluster, DeleteCluster} }

func (k clusterKind) Create(ctx context.Context, ch engine.Change) error {
	_, err := k.r.c.ECS().CreateCluster(ctx, ch.Name, k.r.d.Names.Tags())
	return err
}

func (k clusterKind) Update(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

func (k clusterKind) Delete(ctx context.Context, ch engine.Change) error {
	return retryWhile(ctx, isConflict, func() error { return k.r.c.ECS().DeleteCluster(ctx, ch.Name) })
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
	_, err := k.r.c.RDS().CreateInstance(ctx, k.r.d.instanceSpec(i, k.r.group("db")))
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
	err = retryWhile(ctx, isConflict, func() error { return k.r.c.RDS().DeleteInstance(ctx, id, snap) })
	if err != nil {
		return err
	}
	fmt.Fprintf(k.r.progress, "  DB instance %s: deleting, final snapshot %s\n", id, snap)
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
	return []engine.Action{RegisterTaskDef, DeregisterTaskDef, DeleteTaskDef}
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
	if ch.Action == DeleteTaskDef {
		return k.r.c.ECS().DeleteTaskDefinition(ctx, arn)
	}
	return k.r.c.ECS().DeregisterTaskDefinition(ctx, arn)
}

type serviceKind struct{ r *run }

func (k serviceKind) Actions() []engine.Action {
	return []engine.Action{CreateService, UpdateService, DeleteService}
}

func (k serviceKind) spec(i int) ecsapi.ServiceSpec {
	k.r.mu.Lock()
	defer k.r.mu.Unlock()
	return k.r.d.serviceSpec(i, k.r.taskDefs[i], k.r.tg, []string{k.r.groups["nodes"], k.r.groups["gw"]})
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
