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

// The actions of this component's kinds.
const (
	CreateSecurityGroup engine.Action = "CreateSecurityGroup"
	AllowIngress        engine.Action = "AuthorizeSecurityGroupIngress"
	RevokeIngress       engine.Action = "RevokeSecurityGroupIngress"
	DeleteSecurityGroup engine.Action = "DeleteSecurityGroup"
	CreateSubnetGroup   engine.Action = "CreateDBSubnetGroup"
	DeleteSubnetGroup   engine.Action = "DeleteDBSubnetGroup"
	CreateSecret        engine.Action = "CreateSecret"
	PutSecretValue      engine.Action = "PutSecretValue"
	DeleteSecret        engine.Action = "DeleteSecret"
	CreateLoadBalancer  engine.Action = "CreateLoadBalancer"
	DeleteLoadBalancer  engine.Action = "DeleteLoadBalancer"
	CreateTargetGroup   engine.Action = "CreateTargetGroup"
	ModifyHealthCheck   engine.Action = "ModifyTargetGroup"
	SetDelay            engine.Action = "ModifyTargetGroupAttributes"
	DeleteTargetGroup   engine.Action = "DeleteTargetGroup"
	CreateListener      engine.Action = "CreateListener"
	DeleteListener      engine.Action = "DeleteListener"
	CreateCluster       engine.Action = "CreateCluster"
	DeleteCluster       engine.Action = "DeleteCluster"
	CreateInstance      engine.Action = "CreateDBInstance"
	ModifyInstance      engine.Action = "ModifyDBInstance"
	DeleteInstance      engine.Action = "DeleteDBInstance"
	RegisterTaskDef     engine.Action = "RegisterTaskDefinition"
	DeregisterTaskDef   engine.Action = "DeregisterTaskDefinition"
	DeleteTaskDef       engine.Action = "DeleteTaskDefinitions"
	CreateService       engine.Action = "CreateService"
	UpdateService       engine.Action = "UpdateService"
	DeleteService       engine.Action = "DeleteService"
	DrainNode           engine.Action = "DrainNode"
	PutPolicy           engine.Action = kinds.PutRolePolicy
	DeletePolicy        engine.Action = kinds.DeleteRolePolicy
)

func init() {
	engine.RegisterVerb(AllowIngress, engine.Create)
	engine.RegisterVerb(RegisterTaskDef, engine.Create)
	for _, a := range []engine.Action{RevokeIngress, DeregisterTaskDef, DrainNode} {
		engine.RegisterVerb(a, engine.Delete)
	}
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
	tdChanged := in == nil || no.Current == nil || !sameTaskDef(no.Current.Spec, want)
	if tdChanged {
		reason := "missing"
		if no.Current != nil {
			reason = "differs: " + taskDefDiff(no.Current.Spec, want)
		}
		cs = append(cs, engine.Change{Action: RegisterTaskDef, Resource: "task definition", Name: node.Family, ID: "td-" + tag, Target: tag, Reason: reason, Needs: dbStep})
		dbStep = []string{"td-" + tag}
	}
	s := no.Service
	switch {
	case s == nil:
		cs = append(cs, engine.Change{Action: CreateService, Resource: "ECS service", Name: node.Service, ID: "svc-" + tag, Target: tag, Needs: dbStep,
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
			cs = append(cs, engine.Change{Action: UpdateService, Resource: "ECS service", Name: node.Service, ID: "svc-" + tag, Target: tag, Needs: dbStep,
				Reason: strings.Join(why, ", ") + " differs; the task is replaced (stop, then start)"})
		}
	}
	return cs, nil
}

// planRemoval removes node i: drained first (unless drain is false: destroy), then its
// service, its task definitions and its database with a final snapshot.
func planRemoval(o *observed, n Names, i int, drain bool) []engine.Change {
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
		add(engine.Change{Action: DeleteService, Resource: "ECS service", Name: node.Service})
	}
	for _, arn := range no.Active {
		add(engine.Change{Action: DeregisterTaskDef, Resource: "task definition", Name: revisionOf(arn), Target: arn})
	}
	for _, arn := range slices.Concat(no.Active, no.Inactive) {
		add(engine.Change{Action: DeleteTaskDef, Resource: "task definition", Name: revisionOf(arn), Target: arn})
	}
	if no.Instance != nil && no.Instance.Status != "deleting" {
		add(engine.Change{Action: DeleteInstance, Resource: "DB instance", Name: node.DB, Reason: "with a final snapshot"})
	}
	return cs
}

func revisionOf(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

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

// sameTaskDef compares what rudderctl sets (tags aside).
func sameTaskDef(a, b ecsapi.TaskDefSpec) bool {
	a.Tags, b.Tags = nil, nil
	norm := func(s *ecsapi.TaskDefSpec) {
		for k := range s.Containers {
			c := &s.Containers[k]
			if len(c.Env) == 0 {
				c.Env = nil
			}
			if len(c.Secrets) == 0 {
				c.Secrets = nil
			}
			if len(c.Command) == 0 {
				c.Command = nil
			}
		}
		slices.SortFunc(s.Containers, func(x, y ecsapi.ContainerSpec) int { return strings.Compare(x.Name, y.Name) })
	}
	norm(&a)
	norm(&b)
	return reflect.DeepEqual(a, b)
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

func ruleTarget(part string, r ec2api.Rule) string {
	b, _ := json.Marshal(r)
	return part + " " + string(b)
}

func describeRule(r ec2api.Rule) string {
	from := r.FromGroup
	if r.CIDR != "" {
		from = r.CIDR
	}
	return fmt.Sprintf("%s %d-%d from %s", r.Protocol, r.FromPort, r.ToPort, from)
}

func owned(tags map[string]string, stackName, resource, name string) error {
	if _, other := stack.TagState(tags, stackName); other != "" {
		return stack.OwnedByOther(resource, name, other)
	}
	return nil
}

func planGroups(o *observed, d *desired) ([]engine.Change, error) {
	var cs []engine.Change
	for _, part := range groupParts {
		name := d.Names.groupName(part)
		g := o.Groups[part]
		var found []ec2api.Rule
		if g == nil {
			cs = append(cs, engine.Change{Action: CreateSecurityGroup, Resource: "security group", Name: name, Reason: "missing", Target: part})
		} else {
			if err := owned(g.Tags, d.Names.Stack, "security group", name); err != nil {
				return nil, err
			}
			found = g.Ingress
		}
		want := wantRules(part, d.Settings.ListenerPort, o.groupID)
		for _, r := range want {
			if (r.FromGroup == "" && r.CIDR == "") || !slices.ContainsFunc(found, r.Same) {
				cs = append(cs, engine.Change{Action: AllowIngress, Resource: "security group rule", Name: name, Reason: "missing: " + ruleWords(part, d), Target: part})
			}
		}
		for _, r := range found {
			if !slices.ContainsFunc(want, r.Same) {
				cs = append(cs, engine.Change{Action: RevokeIngress, Resource: "security group rule", Name: name, Reason: "not ours to allow: " + describeRule(r), Target: ruleTarget(part, r)})
			}
		}
	}
	return cs, nil
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
	switch {
	case o.Secret == nil:
		return []engine.Change{{Action: CreateSecret, Resource: "secret", Name: d.Names.Secret, Reason: "missing; the workspace token and the transformer URLs the nodes read"}}, nil
	case o.Secret.DeletedDate != nil:
		return nil, &stack.Error{Msg: fmt.Sprintf("secret %s is scheduled for deletion: restore it (aws secretsmanager restore-secret --secret-id %s) or wait for its deletion, then deploy again", d.Names.Secret, d.Names.Secret)}
	}
	if err := owned(o.Secret.Tags, d.Names.Stack, "secret", d.Names.Secret); err != nil {
		return nil, err
	}
	if !sameJSON(o.SecretValue, d.secretValue()) {
		return []engine.Change{{Action: PutSecretValue, Resource: "secret", Name: d.Names.Secret, Reason: "the workspace or transformer URLs changed"}}, nil
	}
	return nil, nil
}

func sameJSON(a, b string) bool {
	var x, y map[string]string
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

func planTargetGroup(o *observed, d *desired) ([]engine.Change, error) {
	n := d.Names
	tg := o.TG
	if tg == nil {
		return []engine.Change{
			{Action: CreateTargetGroup, Resource: "target group", Name: n.TargetGroup, Reason: fmt.Sprintf("missing; ip targets on %d, health %s", GatewayPort, HealthPath)},
			{Action: SetDelay, Resource: "target group", Name: n.TargetGroup, Reason: fmt.Sprintf("deregistration delay %d s", DeregistrationDelay)},
		}, nil
	}
	if err := owned(o.TGTags, n.Stack, "target group", n.TargetGroup); err != nil {
		return nil, err
	}
	want := d.targetGroupSpec()
	var cs []engine.Change
	if tg.HealthPath != want.HealthPath || tg.HealthInterval != want.HealthInterval || tg.HealthTimeout != want.HealthTimeout ||
		tg.Healthy != want.Healthy || tg.Unhealthy != want.Unhealthy || tg.Matcher != want.Matcher {
		cs = append(cs, engine.Change{Action: ModifyHealthCheck, Resource: "target group", Name: n.TargetGroup, Reason: "health check differs", Target: tg.ARN})
	}
	if o.TGDelay != DeregistrationDelay {
		cs = append(cs, engine.Change{Action: SetDelay, Resource: "target group", Name: n.TargetGroup, Reason: fmt.Sprintf("deregistration delay %d -> %d s", o.TGDelay, DeregistrationDelay), Target: tg.ARN})
	}
	return cs, nil
}

func planLoadBalancer(o *observed, d *desired) ([]engine.Change, error) {
	n := d.Names
	var cs []engine.Change
	port := d.Settings.ListenerPort
	if o.LB == nil {
		cs = append(cs, engine.Change{Action: CreateLoadBalancer, Resource: "load balancer", Name: n.LoadBalancer, Reason: "missing; internet-facing, in " + strings.Join(d.Net.Subnets, ", ")})
	} else {
		if err := owned(o.LBTags, n.Stack, "load balancer", n.LoadBalancer); err != nil {
			return nil, err
		}
		if o.LB.Scheme != "internet-facing" {
			return nil, &stack.Error{Msg: fmt.Sprintf("load balancer %s is %s, and the nodes' gateways are served to the internet; the scheme cannot be changed: delete it (rudderctl destroy) and deploy again", n.LoadBalancer, o.LB.Scheme)}
		}
	}
	proto := listenerProtocol(d.Settings.CertificateARN)
	found := false
	for _, l := range o.Listeners {
		if l.Port != port || l.Protocol != proto || (o.TG != nil && l.TargetGroup != o.TG.ARN) {
			cs = append(cs, engine.Change{Action: DeleteListener, Resource: "listener", Name: fmt.Sprintf("%s:%d", n.LoadBalancer, l.Port), Reason: "not the configured " + proto + " listener", Target: l.ARN})
			continue
		}
		found = true
	}
	if !found {
		cs = append(cs, engine.Change{Action: CreateListener, Resource: "listener", Name: fmt.Sprintf("%s:%d", n.LoadBalancer, port), Reason: "missing; " + proto + ", forwards to " + n.TargetGroup})
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
	if o.Cluster == nil {
		return []engine.Change{{Action: CreateCluster, Resource: "ECS cluster", Name: d.Names.Cluster, Reason: "missing"}}, nil
	}
	return nil, owned(o.Cluster.Tags, d.Names.Stack, "ECS cluster", d.Names.Cluster)
}
