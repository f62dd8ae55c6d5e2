package backendnodes

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/rudderctl/rudderctl/internal/awsapi/ec2api"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// The actions of this component's kinds; those of the kinds it shares with other
// components are in package kinds.
const (
	PutPolicy     = kinds.PutRolePolicy
	DeletePolicy  = kinds.DeleteRolePolicy
	CreateService = kinds.CreateService

	CreateSubnetGroup engine.Action = "CreateDBSubnetGroup"
	DeleteSubnetGroup engine.Action = "DeleteDBSubnetGroup"
	CreateInstance    engine.Action = "CreateDBInstance"
	ModifyInstance    engine.Action = "ModifyDBInstance"
	DeleteInstance    engine.Action = "DeleteDBInstance"
	DeleteSnapshot    engine.Action = "DeleteDBSnapshot"
	DrainNode         engine.Action = "DrainNode"
)

func init() {
	engine.RegisterVerb(DrainNode, engine.Delete)
}

// wantRules are each group's ingress: the public ALB admits the internet on its listener
// port only; the gateways admit the public ALB on 8080; the databases admit the nodes'
// group on 5432. groupID answers "" for a group still to create.
func wantRules(part string, listenerPort int32, groupID func(string) string) []ec2api.Rule {
	switch part {
	case "alb":
		return []ec2api.Rule{{Protocol: "tcp", FromPort: listenerPort, ToPort: listenerPort, CIDR: "0.0.0.0/0"}}
	case "gw":
		return []ec2api.Rule{{Protocol: "tcp", FromPort: GatewayPort, ToPort: GatewayPort, FromGroup: groupID("alb")}}
	case "db":
		return []ec2api.Rule{{Protocol: "tcp", FromPort: DBPort, ToPort: DBPort, FromGroup: groupID("nodes")}}
	}
	return nil
}

func (o *observed) groupID(part string) string {
	if part == "nodes" {
		if o.NodesGroup != nil {
			return o.NodesGroup.ID
		}
		return ""
	}
	if g := o.Groups[part]; g != nil {
		return g.ID
	}
	return ""
}

// knownSecrets are the managed master secrets of the nodes kept (1..count) that exist,
// plus the stack's nodes secret: what the execution role may read.
func (o *observed) knownSecrets(count int) []string {
	var out []string
	if o.Secret != nil {
		out = append(out, o.Secret.ARN)
	}
	for _, i := range o.indices() {
		if in := o.Nodes[i].Instance; i <= count && in != nil && in.SecretARN != "" {
			out = append(out, in.SecretARN)
		}
	}
	return out
}

// plan is the deploy: desired vs observed -> changes (pure). Shared resources come first,
// one after another; then each node's steps, in parallel with the other nodes'.
func plan(o *observed, d *desired) ([]engine.Change, error) {
	var shared []engine.Change
	role := d.roleSpec(o.knownSecrets(d.Count))
	roleCs, err := kinds.DiffRole(o.Role, role)
	if err != nil {
		return nil, err
	}
	var policy *engine.Change
	for _, ch := range roleCs {
		if ch.Action == PutPolicy {
			policy = &ch
			continue
		}
		shared = append(shared, ch)
	}
	shared = append(shared, kinds.DiffLogGroup(o.Log, d.logGroupSpec())...)
	for _, step := range []func(*observed, *desired) ([]engine.Change, error){planGroups, planSubnetGroup, planSecret, planTargetGroup, planLoadBalancer, planCluster} {
		cs, err := step(o, d)
		if err != nil {
			return nil, err
		}
		shared = append(shared, cs...)
	}
	var sharedIDs []string
	for k := range shared {
		shared[k].ID = "shared-" + strconv.Itoa(k)
		sharedIDs = append(sharedIDs, shared[k].ID)
	}
	needs := func(more ...string) []string { return append(append([]string{}, sharedIDs...), more...) }

	cs := shared
	var dbSteps, removals []string
	var nodeCs []engine.Change
	for i := 1; i <= d.Count; i++ {
		steps, err := planNode(o, d, i)
		if err != nil {
			return nil, err
		}
		nodeCs = append(nodeCs, steps...)
		for _, s := range steps {
			if s.Action == CreateInstance {
				dbSteps = append(dbSteps, s.ID)
				policy = orPolicy(policy, role.Name, "a new node's database secret")
			}
		}
	}
	for _, i := range o.indices() {
		if i <= d.Count {
			continue
		}
		steps := planRemoval(o, d.Names, i, true)
		for k := range steps {
			if steps[k].Needs == nil {
				steps[k].Needs = needs()
			}
		}
		cs = append(cs, steps...)
		if len(steps) > 0 {
			removals = append(removals, steps[len(steps)-1].ID)
		}
	}
	// Plan order: the databases, then the policy (after the new databases: their secrets'
	// ARNs; after the removals: a draining node's one-off task still reads its secret),
	// then task definitions and services. Needs point backwards only.
	var later []engine.Change
	for _, ch := range nodeCs {
		if ch.Action == CreateInstance || ch.Action == ModifyInstance {
			ch.Needs = needs()
			cs = append(cs, ch)
		} else {
			later = append(later, ch)
		}
	}
	var policyID []string
	if policy != nil {
		policy.ID, policy.Needs = "policy", needs(append(slices.Clone(dbSteps), removals...)...)
		cs = append(cs, *policy)
		policyID = []string{"policy"}
	}
	for k := range later {
		later[k].Needs = needs(append(slices.Clone(policyID), later[k].Needs...)...)
	}
	return append(cs, later...), nil
}

func orPolicy(p *engine.Change, role, why string) *engine.Change {
	if p != nil {
		return p
	}
	return &engine.Change{Action: PutPolicy, Resource: "IAM role policy", Name: role + "/" + PolicyName, Reason: "reads " + why}
}

// planNode is node i's database, task definition and service. Needs hold the node's own
// earlier steps (plan adds the shared ones).
func planNode(o *observed, d *desired, i int) ([]engine.Change, error) {
	node := d.Names.Node(i)
	no := o.node(i)
	tag := strconv.Itoa(i)
	var cs []engine.Change
	var dbStep []string
	in := no.Instance
	switch {
	case in == nil:
		cs = append(cs, engine.Change{Action: CreateInstance, Resource: "DB instance", Name: node.DB, ID: "db-" + tag, Target: tag,
			Reason: fmt.Sprintf("missing; postgres %s, %d GiB, encrypted, private, backups %d days", d.Settings.DBInstanceClass, d.Settings.DBStorageGB, d.Settings.BackupRetention)})
		dbStep = []string{"db-" + tag}
	case in.Status == "deleting":
		return nil, &stack.Error{Msg: fmt.Sprintf("DB instance %s is being deleted (a node removal): wait until it is gone, then deploy again", node.DB)}
	default:
		if _, other := stack.TagState(in.Tags, d.Names.Stack); other != "" {
			return nil, stack.OwnedByOther("DB instance", node.DB, other)
		}
		if in.PubliclyAccessible || !in.StorageEncrypted {
			return nil, &stack.Error{Msg: fmt.Sprintf("DB instance %s is publicly accessible or unencrypted, which a node's database must not be and which cannot be fixed in place; restore a snapshot into a private, encrypted instance of that name", node.DB)}
		}
		if in.DeletionProtection != d.Settings.DeletionProtection || in.BackupRetention != d.Settings.BackupRetention {
			cs = append(cs, engine.Change{Action: ModifyInstance, Resource: "DB instance", Name: node.DB, ID: "db-" + tag, Target: tag,
				Reason: fmt.Sprintf("deletion protection %t -> %t, backups %d -> %d days", in.DeletionProtection, d.Settings.DeletionProtection, in.BackupRetention, d.Settings.BackupRetention)})
			dbStep = []string{"db-" + tag}
		}
	}
	want := d.taskDefSpec(i, d.roleARN(o), o.secretARN(), o.endpoint(i))
	tdChanged := in == nil || no.Current == nil || !kinds.SameTaskDef(no.Current.Spec, want)
	if tdChanged {
		reason := "missing"
		if no.Current != nil {
			reason = "differs: " + taskDefDiff(no.Current.Spec, want)
		}
		cs = append(cs, engine.Change{Action: kinds.RegisterTaskDef, Resource: "task definition", Name: node.Family, ID: "td-" + tag, Target: tag, Reason: reason, Needs: dbStep})
		dbStep = []string{"td-" + tag}
	}
	s := no.Service
	switch {
	case s == nil:
		cs = append(cs, engine.Change{Action: kinds.CreateService, Resource: "ECS service", Name: node.Service, ID: "svc-" + tag, Target: tag, Needs: dbStep,
			Reason: fmt.Sprintf("missing; 1 task (INSTANCE_ID %s, HOSTNAME %s), behind %s", node.InstanceID, node.Hostname, d.Names.LoadBalancer)})
	default:
		if _, other := stack.TagState(s.Tags, d.Names.Stack); other != "" {
			return nil, stack.OwnedByOther("ECS service", node.Service, other)
		}
		var why []string
		if tdChanged {
			why = append(why, "task definition")
		}
		if p := s.Primary(); p != nil && p.RolloutState == "FAILED" {
			why = append(why, "its last rollout failed ("+p.RolloutReason+"): start it again;")
		}
		if s.Desired != 1 {
			why = append(why, fmt.Sprintf("desired count %d", s.Desired))
		}
		if s.MinHealthy != 0 || s.MaxPercent != 100 {
			why = append(why, "deployment configuration (one writer per database)")
		}
		if s.GracePeriod != d.Settings.GracePeriod {
			why = append(why, "grace period")
		}
		if len(why) > 0 {
			cs = append(cs, engine.Change{Action: kinds.UpdateService, Resource: "ECS service", Name: node.Service, ID: "svc-" + tag, Target: tag, Needs: dbStep,
				Reason: strings.Join(why, ", ") + " differs; the task is replaced (stop, then start)"})
		}
	}
	return cs, nil
}

// planRemoval removes node i: drained first (unless drain is false: destroy), then its
// service, its task definitions and its database with a final snapshot.
func planRemoval(o *observed, n Names, i int, drain bool) []engine.Change {
	return planRemovalOf(o, n, i, drain, true)
}

// skipFinalSnapshot marks a DB instance deletion that leaves no final snapshot
// (destroy --delete-snapshots).
const skipFinalSnapshot = "no-final-snapshot"

// planRemovalOf is planRemoval; without finalSnapshot the database goes with no snapshot.
func planRemovalOf(o *observed, n Names, i int, drain, finalSnapshot bool) []engine.Change {
	node := n.Node(i)
	no := o.node(i)
	tag := strconv.Itoa(i)
	var cs []engine.Change
	prev := []string{}
	add := func(ch engine.Change) {
		ch.Target = tag + "|" + ch.Target
		ch.Needs = nil
		if len(prev) > 0 {
			ch.Needs = slices.Clone(prev)
		}
		ch.ID = fmt.Sprintf("rm-%s-%d", tag, len(cs))
		prev = []string{ch.ID}
		cs = append(cs, ch)
	}
	if drain && no.Service != nil && no.Instance != nil {
		add(engine.Change{Action: DrainNode, Resource: "node", Name: node.Service, Reason: "removed: out of the load balancer, then until its database has no pending jobs"})
	}
	if no.Service != nil {
		add(engine.Change{Action: kinds.DeleteService, Resource: "ECS service", Name: node.Service})
	}
	for _, arn := range no.Active {
		add(engine.Change{Action: kinds.DeregisterTaskDef, Resource: "task definition", Name: kinds.Revision(arn), Target: arn})
	}
	for _, arn := range slices.Concat(no.Active, no.Inactive) {
		add(engine.Change{Action: kinds.DeleteTaskDef, Resource: "task definition", Name: kinds.Revision(arn), Target: arn})
	}
	if no.Instance != nil && no.Instance.Status != "deleting" {
		if finalSnapshot {
			add(engine.Change{Action: DeleteInstance, Resource: "DB instance", Name: node.DB, Reason: "with a final snapshot"})
		} else {
			add(engine.Change{Action: DeleteInstance, Resource: "DB instance", Name: node.DB, Target: skipFinalSnapshot,
				Reason: "with no final snapshot (--delete-snapshots: what it holds is gone)"})
		}
	}
	return cs
}

// secretARN is the stack's nodes secret's ARN ("" until created: apply fills it in).
func (o *observed) secretARN() string {
	if o.Secret != nil {
		return o.Secret.ARN
	}
	return ""
}

func (o *observed) endpoint(i int) instanceEndpoint {
	in := o.node(i).Instance
	if in == nil {
		return instanceEndpoint{}
	}
	return instanceEndpoint{Address: in.Address, Port: in.Port, SecretARN: in.SecretARN}
}

// roleARN is the execution role's ARN (derived before it exists).
func (d *desired) roleARN(o *observed) string {
	if o.Role != nil && o.Role.ARN != "" {
		return o.Role.ARN
	}
	return "arn:aws:iam::" + d.Account + ":role" + RolePath + d.Names.Role
}

// taskDefDiff names what differs, never a value.
func taskDefDiff(a, b ecsapi.TaskDefSpec) string {
	var out []string
	if a.CPU != b.CPU || a.Memory != b.Memory {
		out = append(out, fmt.Sprintf("cpu/memory %s/%s -> %s/%s", a.CPU, a.Memory, b.CPU, b.Memory))
	}
	for _, cb := range b.Containers {
		var ca *ecsapi.ContainerSpec
		for k := range a.Containers {
			if a.Containers[k].Name == cb.Name {
				ca = &a.Containers[k]
			}
		}
		if ca == nil {
			out = append(out, "container "+cb.Name+" added")
			continue
		}
		if ca.Image != cb.Image {
			out = append(out, cb.Name+" image "+ca.Image+" -> "+cb.Image)
		}
		var keys []string
		for k, v := range cb.Env {
			if ca.Env[k] != v {
				keys = append(keys, k)
			}
		}
		for k := range ca.Env {
			if _, ok := cb.Env[k]; !ok {
				keys = append(keys, k)
			}
		}
		if !reflect.DeepEqual(ca.Secrets, cb.Secrets) {
			keys = append(keys, "secrets")
		}
		if len(keys) > 0 {
			slices.Sort(keys)
			out = append(out, cb.Name+" environment "+strings.Join(keys, ", "))
		}
	}
	if len(out) == 0 {
		return "settings"
	}
	return strings.Join(out, ", ")
}

// ---- shared resources ----

func planGroups(o *observed, d *desired) ([]engine.Change, error) {
	return kinds.DiffGroups(o.Groups, kinds.GroupsSpec{Stack: d.Names.Stack, Parts: groupParts, Name: d.Names.groupName,
		Rules: func(part string) []ec2api.Rule { return wantRules(part, d.Settings.ListenerPort, o.groupID) },
		Words: func(part string) string { return ruleWords(part, d) }})
}

func ruleWords(part string, d *desired) string {
	switch part {
	case "alb":
		return fmt.Sprintf("tcp %d from 0.0.0.0/0 (the public listener)", d.Settings.ListenerPort)
	case "gw":
		return fmt.Sprintf("tcp %d from %s", GatewayPort, d.Names.ALBGroup)
	}
	return fmt.Sprintf("tcp %d from %s", DBPort, d.Names.NodesGroup)
}

func planSubnetGroup(o *observed, d *desired) ([]engine.Change, error) {
	if o.SubnetGroup == nil {
		return []engine.Change{{Action: CreateSubnetGroup, Resource: "DB subnet group", Name: d.Names.SubnetGroup, Reason: "missing; " + strings.Join(d.Net.Subnets, ", ")}}, nil
	}
	return nil, nil
}

func planSecret(o *observed, d *desired) ([]engine.Change, error) {
	return kinds.DiffSecret(o.Secret, sameJSON(o.SecretValue, d.secretValue()), kinds.SecretSpec{Name: d.Names.Secret, Stack: d.Names.Stack,
		What: "the workspace token and the transformer URLs the nodes read", Changed: "the workspace or transformer URLs changed"})
}

func sameJSON(a, b string) bool {
	var x, y map[string]string
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

func planTargetGroup(o *observed, d *desired) ([]engine.Change, error) {
	return kinds.DiffTargetGroup(o.LoadBalancing, d.targetGroupSpec())
}

// planLoadBalancer: internet-facing, with one listener (HTTPS with a certificate, else
// HTTP) on the configured port forwarding to the group; any other listener is replaced.
func planLoadBalancer(o *observed, d *desired) ([]engine.Change, error) {
	n := d.Names
	port := d.Settings.ListenerPort
	cs, err := kinds.DiffLoadBalancer(o.LoadBalancing, kinds.LoadBalancerSpec{Name: n.LoadBalancer, Stack: n.Stack, Internal: false,
		Subnets: d.Net.Subnets, Why: "the nodes' gateways are served to the internet"})
	if err != nil {
		return nil, err
	}
	proto := listenerProtocol(d.Settings.CertificateARN)
	found := false
	for _, l := range o.Listeners {
		if l.Port != port || l.Protocol != proto || (o.TG != nil && l.TargetGroup != o.TG.ARN) {
			cs = append(cs, engine.Change{Action: kinds.DeleteListener, Resource: "listener", Name: kinds.ListenerName(n.LoadBalancer, l.Port), Reason: "not the configured " + proto + " listener", Target: l.ARN})
			continue
		}
		found = true
	}
	if !found {
		cs = append(cs, engine.Change{Action: kinds.CreateListener, Resource: "listener", Name: kinds.ListenerName(n.LoadBalancer, port), Reason: "missing; " + proto + ", forwards to " + n.TargetGroup})
	}
	return cs, nil
}

func listenerProtocol(cert string) string {
	if cert != "" {
		return "HTTPS"
	}
	return "HTTP"
}

func planCluster(o *observed, d *desired) ([]engine.Change, error) {
	return kinds.DiffCluster(o.Cluster, d.Names.Cluster, d.Names.Stack, "")
}
