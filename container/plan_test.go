package container

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi/appscalingapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ec2api"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecrapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/elbv2api"
	"github.com/rudderctl/rudderctl/internal/awsapi/secretsapi"
	"github.com/rudderctl/rudderctl/internal/config"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
)

var update = flag.Bool("update", false, "rewrite the golden plans")

const testSecret = "s3cr3tPrefix"

func testSettings(t *testing.T) config.ECSSettings {
	t.Helper()
	f := &config.File{}
	s, err := f.ResolveECS()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testDesired(t *testing.T) *desired {
	return &desired{Names: NamesFor("prod"), Region: "us-east-1", Account: "000000000000", Settings: testSettings(t),
		Net:           network{VPC: "vpc-0000000000000001", Subnets: []string{"subnet-0000000000000001", "subnet-0000000000000002"}},
		ConfigBackend: "https://api.example/" + testSecret, Secret: testSecret}
}

func freshObserved(d *desired) *observed {
	return &observed{Account: d.Account, Net: d.Net, ConfigBackend: d.ConfigBackend, Secret: d.Secret, Groups: map[string]*ec2api.SecurityGroup{}}
}

// convergedObserved is the stack as a finished deploy of d leaves it.
func convergedObserved(d *desired) *observed {
	o := freshObserved(d)
	n := d.Names
	tags := n.Tags()
	role := d.roleSpec()
	o.Role = &kinds.Role{ARN: d.roleARN(o), Tagged: true, Trust: role.Trust, Policy: role.Policy, PolicyNames: []string{role.PolicyName}}
	o.Log = &kinds.LogGroup{ARN: "arn:log", Retention: d.Settings.LogRetention, Tagged: true}
	ids := map[string]string{"nodes": "sg-nodes", "alb": "sg-alb", "tasks": "sg-tasks"}
	for _, part := range groupParts {
		o.Groups[part] = &ec2api.SecurityGroup{ID: ids[part], Name: n.groupName(part), VPC: d.Net.VPC, Tags: tags}
	}
	for _, part := range groupParts {
		o.Groups[part].Ingress = wantRules(part, d.Settings.ListenerPort, o.groupID)
	}
	o.LB = &elbv2api.LoadBalancer{ARN: "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/" + n.LoadBalancer + "/abc", Name: n.LoadBalancer,
		DNSName: "127.77.0.1", Scheme: "internal", SecurityGroups: []string{"sg-alb"}, Subnets: d.Net.Subnets}
	o.LBTags = tags
	tg := d.targetGroupSpec()
	o.TG = &elbv2api.TargetGroup{ARN: "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/" + n.TargetGroup + "/def", Name: n.TargetGroup,
		Protocol: "HTTP", TargetType: "ip", VPC: d.Net.VPC, Port: ContainerPort, HealthPath: tg.HealthPath, HealthInterval: tg.HealthInterval,
		HealthTimeout: tg.HealthTimeout, Healthy: tg.Healthy, Unhealthy: tg.Unhealthy, Matcher: tg.Matcher}
	o.TGTags, o.TGDelay = tags, d.Settings.DeregistrationDelay
	o.Listeners = []elbv2api.Listener{{ARN: "arn:listener", Protocol: "HTTP", Port: d.Settings.ListenerPort, TargetGroup: o.TG.ARN}}
	o.Cluster = &ecsapi.Cluster{ARN: "arn:cluster", Name: n.Cluster, Status: "ACTIVE", Tags: tags}
	td := &ecsapi.TaskDef{ARN: "arn:aws:ecs:us-east-1:000000000000:task-definition/" + n.Family + ":1", Revision: 1, Status: "ACTIVE", Spec: d.taskDefSpec(d.roleARN(o))}
	o.Latest, o.Current, o.Active = td, td, []string{td.ARN}
	o.Service = &ecsapi.Service{ARN: "arn:service", Name: n.Service, Status: "ACTIVE", TaskDef: td.ARN, Desired: 2, Running: 2,
		Subnets: d.Net.Subnets, SecurityGroups: []string{"sg-tasks"}, GracePeriod: d.Settings.GracePeriod, MinHealthy: 100, MaxPercent: 200,
		CircuitBreaker: true, Rollback: true, Tags: tags}
	o.Scaling = &appscalingapi.Target{Min: d.Settings.Min, Max: d.Settings.Max}
	o.Policy = &appscalingapi.Policy{Name: ScalingPolicyName, Metric: "ECSServiceAverageCPUUtilization", Target: float64(d.Settings.Target)}
	o.Repo = &ecrapi.Repository{ARN: "arn:repo", Name: n.Repository, URI: "000000000000.dkr.ecr.us-east-1.amazonaws.com/" + n.Repository, Tags: tags}
	o.Lifecycle = LifecyclePolicy
	o.FnSecret = &secretsapi.Secret{ARN: n.SecretRef(d.Region, d.Account) + "-AbCdEf", Name: n.Secret, Tags: tags}
	o.FnSecretValue = d.secretValue()
	return o
}

func golden(t *testing.T, name string, cs []engine.Change) {
	t.Helper()
	got, err := json.MarshalIndent(cs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if strings.Contains(string(got), testSecret) {
		t.Fatalf("plan %s shows the secret:\n%s", name, got)
	}
	path := filepath.Join("testdata", "plans", name+".json")
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./container -run TestPlanGolden -update writes it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("plan %s differs from %s (-update to accept):\n%s", name, path, got)
	}
}

// TestPlanGolden pins the plans of a fresh stack, a converged one (nothing), a new image
// tag, changed sizes and a destroy.
func TestPlanGolden(t *testing.T) {
	d := testDesired(t)
	fresh, err := plan(freshObserved(d), d)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "fresh", fresh)

	if cs, err := plan(convergedObserved(d), d); err != nil || len(cs) != 0 {
		t.Fatalf("converged stack plans %v (err %v)", cs, err)
	}

	newTag := testDesired(t)
	newTag.Settings.Tag = "ut-1.146.0"
	cs, err := plan(convergedObserved(d), newTag)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "new-tag", cs)

	resized := testDesired(t)
	resized.Settings.Memory, resized.Settings.Max, resized.Settings.DeregistrationDelay = 4096, 8, 30
	if cs, err = plan(convergedObserved(d), resized); err != nil {
		t.Fatal(err)
	}
	golden(t, "resized", cs)

	golden(t, "destroy", planDestroy(convergedObserved(d), d.Names))
}

// A security group rule open to the world, or any rule we did not make, is revoked.
func TestPlanRevokesForeignRules(t *testing.T) {
	d := testDesired(t)
	o := convergedObserved(d)
	o.Groups["alb"].Ingress = append(o.Groups["alb"].Ingress, ec2api.Rule{Protocol: "tcp", FromPort: 80, ToPort: 80, CIDR: "0.0.0.0/0"})
	cs, err := plan(o, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Action != kinds.RevokeIngress || !strings.Contains(cs[0].Reason, "0.0.0.0/0") {
		t.Fatalf("plan %v", cs)
	}
}

// The execution role's policy names every action; "*" only as the resource of
// ecr:GetAuthorizationToken.
func TestExecutionPolicyIsNarrow(t *testing.T) {
	var doc struct {
		Statement []struct {
			Action   []string
			Resource []string
		}
	}
	d := testDesired(t)
	if err := json.Unmarshal([]byte(d.roleSpec().Policy), &doc); err != nil {
		t.Fatal(err)
	}
	readsSecret := false
	for _, s := range doc.Statement {
		for _, a := range s.Action {
			if strings.Contains(a, "*") {
				t.Errorf("wildcard action %s", a)
			}
		}
		for _, r := range s.Resource {
			if r == "*" && (len(s.Action) != 1 || s.Action[0] != "ecr:GetAuthorizationToken") {
				t.Errorf("resource * for %v", s.Action)
			}
		}
		if slices.Contains(s.Action, "secretsmanager:GetSecretValue") {
			want := "arn:aws:secretsmanager:us-east-1:000000000000:secret:rudderctl-prod-functions-??????"
			if len(s.Action) != 1 || !slices.Equal(s.Resource, []string{want}) {
				t.Errorf("secret statement %v on %v, want GetSecretValue on %s only", s.Action, s.Resource, want)
			}
			readsSecret = true
		}
	}
	if !readsSecret {
		t.Error("the execution role cannot read the functions secret")
	}
}

// The workspace URL (it carries the API's secret prefix) reaches the task through the
// functions secret, never the plain environment; a changed URL is put without showing it.
func TestEnvironmentHoldsNoSecret(t *testing.T) {
	d := testDesired(t)
	c := d.taskDefSpec(d.roleARN(freshObserved(d))).Containers[0]
	for k, v := range c.Env {
		if k == "CONFIG_BACKEND_URL" || strings.Contains(v, testSecret) {
			t.Errorf("plain environment %s holds the workspace URL", k)
		}
	}
	if got, want := c.Secrets["CONFIG_BACKEND_URL"], "arn:aws:secretsmanager:us-east-1:000000000000:secret:rudderctl-prod-functions"; got != want {
		t.Errorf("CONFIG_BACKEND_URL from %q, want %q", got, want)
	}
	moved := testDesired(t)
	moved.ConfigBackend = "https://api2.example/" + testSecret
	cs, err := plan(convergedObserved(d), moved)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Action != kinds.PutSecretValue {
		t.Fatalf("plan %v, want kinds.PutSecretValue only (the task definition reads the secret by name)", cs)
	}
	if strings.Contains(fmt.Sprint(cs), testSecret) {
		t.Fatalf("plan shows the secret: %v", cs)
	}
}

// Memory sizing: the heap and the isolates follow the task's memory.
func TestEnvironmentSizedFromMemory(t *testing.T) {
	d := testDesired(t)
	d.Settings.Memory = 4096
	env := d.containerEnv()
	if env["NODE_OPTIONS"] != "--no-node-snapshot --max-old-space-size=2048" || env["ISOLATE_VM_MEMORY"] != "1024" || env["IVM_EXECUTION_TIMEOUT"] != "4000" {
		t.Fatalf("env %v", env)
	}
	d.Settings.Memory = 512
	if env := d.containerEnv(); env["ISOLATE_VM_MEMORY"] != "128" || env["NODE_OPTIONS"] != "--no-node-snapshot --max-old-space-size=256" {
		t.Fatalf("env %v", env)
	}
}
