package container

import (
	"encoding/json"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/stack"
	"github.com/rudderctl/rudderctl/internal/testenv"
)

// boto3Model is what testdata/awsclients/read_functions.py prints.
type boto3Model struct {
	SecurityGroups []struct {
		ID, Name string
		Ingress  []struct {
			Protocol string
			From, To int
			Cidrs    []string
			Groups   []string
		}
		Tags map[string]string
	} `json:"security_groups"`
	LoadBalancers []struct {
		Name, Scheme, DNS string
		SecurityGroups    []string `json:"security_groups"`
		Tags              map[string]string
	} `json:"load_balancers"`
	TargetGroups []struct {
		Name       string
		TargetType string `json:"target_type"`
		Port       int
		HealthPath string `json:"health_path"`
		Tags       map[string]string
	} `json:"target_groups"`
	ExecutionRole struct {
		TrustedServices []string `json:"trusted_services"`
		Statements      []struct{ Actions, Resources []string }
		Attached        []string
		Tags            map[string]string
	} `json:"execution_role"`
	Cluster, Service, Repository struct {
		Tags map[string]string
	}
	LogGroup struct {
		Tags map[string]string
	} `json:"log_group"`
	TaskDefinition struct {
		TaskRole  string `json:"task_role"`
		Image     string
		Port      int
		LogDriver string            `json:"log_driver"`
		Env       map[string]string `json:"environment"`
		Secrets   map[string]string
		Tags      map[string]string
	} `json:"task_definition"`
	Secret struct {
		ARN  string
		Tags map[string]string
	}
}

// readModelWithBoto3 reads the stack's service with AWS's Python SDK.
func readModelWithBoto3(t *testing.T, cloud *localcloud.Cloud, stackName string) *boto3Model {
	t.Helper()
	python := testenv.LookPath(t, "python3", "boto3 checks that AWS's Python SDK reads a sound model of the service")
	if out, err := exec.Command(python, "-c", "import boto3").CombinedOutput(); err != nil {
		testenv.Missing(t, "python3 cannot import boto3 (%v: %s); pip install boto3", err, strings.TrimSpace(string(out)))
	}
	cmd := exec.Command(python, filepath.Join("testdata", "awsclients", "read_functions.py"), stackName)
	home := t.TempDir()
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "AWS_ENDPOINT_URL=" + cloud.Endpoint(), "AWS_ACCESS_KEY_ID=x",
		"AWS_SECRET_ACCESS_KEY=x", "AWS_DEFAULT_REGION=" + testRegion, "AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials")}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("read_functions.py: %v\n%s", err, stderr.String())
	}
	var m boto3Model
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("read_functions.py printed no model: %v\n%s", err, out)
	}
	return &m
}

// checkSoundModel: the ALB is internal and admits only the nodes' group; no ingress from
// anywhere; the tasks admit only the ALB; the execution role is trusted by ecs-tasks only,
// names its actions (no wildcard; "*" as a resource only for ecr:GetAuthorizationToken);
// no task role; the workspace URL (it carries the API's secret prefix, secret) only
// through the stack's functions secret, which the role may read, never in the plain
// environment; tags on everything.
func checkSoundModel(t *testing.T, m *boto3Model, stackName, secret string) {
	t.Helper()
	n := NamesFor(stackName)
	if secret == "" {
		t.Fatal("no secret prefix to look for")
	}
	for k, v := range m.TaskDefinition.Env {
		if k == "CONFIG_BACKEND_URL" || strings.Contains(v, secret) {
			t.Errorf("task definition: %s holds a secret in plain text (anyone allowed ecs:DescribeTaskDefinition reads it)", k)
		}
	}
	if ref := m.TaskDefinition.Secrets["CONFIG_BACKEND_URL"]; ref == "" || !strings.HasPrefix(m.Secret.ARN, ref) {
		t.Errorf("task definition reads CONFIG_BACKEND_URL from %q, want the functions secret %s", ref, m.Secret.ARN)
	}
	readable := false
	tagged := func(what string, tags map[string]string) {
		if tags[stack.TagKey] != stackName {
			t.Errorf("%s is not tagged %s=%s: %v", what, stack.TagKey, stackName, tags)
		}
	}
	ids := map[string]string{}
	for _, g := range m.SecurityGroups {
		ids[g.Name] = g.ID
		tagged("security group "+g.Name, g.Tags)
	}
	if len(ids) != 3 {
		t.Fatalf("security groups %v, want the nodes', the ALB's and the tasks'", ids)
	}
	for _, g := range m.SecurityGroups {
		var from []string
		for _, r := range g.Ingress {
			for _, c := range r.Cidrs {
				t.Errorf("security group %s admits %s (%s %d-%d): only groups may be admitted", g.Name, c, r.Protocol, r.From, r.To)
			}
			from = append(from, r.Groups...)
		}
		want := map[string][]string{n.ALBGroup: {ids[n.NodesGroup]}, n.TasksGroup: {ids[n.ALBGroup]}, n.NodesGroup: nil}[g.Name]
		if strings.Join(from, ",") != strings.Join(want, ",") {
			t.Errorf("security group %s admits %v, want %v", g.Name, from, want)
		}
	}
	if len(m.LoadBalancers) != 1 || m.LoadBalancers[0].Scheme != "internal" || strings.Join(m.LoadBalancers[0].SecurityGroups, ",") != ids[n.ALBGroup] {
		t.Errorf("load balancers %+v: want one, internal, in the ALB group", m.LoadBalancers)
	}
	for _, lb := range m.LoadBalancers {
		tagged("load balancer", lb.Tags)
	}
	if len(m.TargetGroups) != 1 || m.TargetGroups[0].TargetType != "ip" || m.TargetGroups[0].Port != ContainerPort || m.TargetGroups[0].HealthPath != HealthPath {
		t.Errorf("target groups %+v", m.TargetGroups)
	}
	for _, tg := range m.TargetGroups {
		tagged("target group", tg.Tags)
	}
	r := m.ExecutionRole
	if strings.Join(r.TrustedServices, ",") != "ecs-tasks.amazonaws.com" || len(r.Attached) != 0 {
		t.Errorf("execution role trusted by %v, attached %v: want ecs-tasks.amazonaws.com only, no managed policy", r.TrustedServices, r.Attached)
	}
	for _, s := range r.Statements {
		for _, a := range s.Actions {
			if strings.Contains(a, "*") {
				t.Errorf("the execution role allows a wildcard action %s", a)
			}
		}
		for _, res := range s.Resources {
			if res == "*" && strings.Join(s.Actions, ",") != "ecr:GetAuthorizationToken" {
				t.Errorf("the execution role allows %v on every resource", s.Actions)
			}
			if ok, _ := path.Match(res, m.Secret.ARN); ok && slices.Contains(s.Actions, "secretsmanager:GetSecretValue") {
				readable = true
			}
		}
	}
	if !readable {
		t.Errorf("the execution role may not read secret %s: %+v", m.Secret.ARN, r.Statements)
	}
	tagged("secret", m.Secret.Tags)
	tagged("execution role", r.Tags)
	if m.TaskDefinition.TaskRole != "" {
		t.Errorf("the task definition has a task role %s: the transformer calls no AWS API", m.TaskDefinition.TaskRole)
	}
	if m.TaskDefinition.Port != ContainerPort || m.TaskDefinition.LogDriver != "awslogs" {
		t.Errorf("task definition %+v", m.TaskDefinition)
	}
	tagged("task definition", m.TaskDefinition.Tags)
	tagged("cluster", m.Cluster.Tags)
	tagged("service", m.Service.Tags)
	tagged("repository", m.Repository.Tags)
	tagged("log group", m.LogGroup.Tags)
}
