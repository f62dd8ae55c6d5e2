package backendnodes

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/testenv"
)

type boto3Nodes struct {
	Instances []struct {
		ID                 string `json:"id"`
		Public             bool   `json:"public"`
		Encrypted          bool   `json:"encrypted"`
		DeletionProtection bool   `json:"deletion_protection"`
		Backups            int    `json:"backups"`
		ManagedSecret      string `json:"managed_secret"`
	} `json:"instances"`
	SecurityGroups []struct {
		ID, Name string
		Ingress  []struct {
			From, To int
			Cidrs    []string
		}
	} `json:"security_groups"`
	LoadBalancers []struct {
		Name, Scheme string
		Groups       []string
		Ports        []int
	} `json:"load_balancers"`
	TaskDefinitions []struct {
		Family, Container string
		Environment       map[string]string
		Secrets           map[string]string
	} `json:"task_definitions"`
}

// checkModelWithBoto3 reads the stack with AWS's Python SDK and checks it is sound: every
// node's database private, encrypted, deletion-protected, with backups and a managed
// password; no secret value in plain text in any task definition; nothing open to
// 0.0.0.0/0 but the public ALB's group, on its listener port.
func checkModelWithBoto3(t testing.TB, top *topology, nodes int, listenerPort int) {
	t.Helper()
	python := testenv.LookPath(t, "python3", "boto3 checks that AWS's Python SDK reads a sound model of the nodes")
	if out, err := exec.Command(python, "-c", "import boto3").CombinedOutput(); err != nil {
		testenv.Missing(t, "python3 cannot import boto3 (%v: %s); pip install boto3", err, strings.TrimSpace(string(out)))
	}
	home := t.TempDir()
	cmd := exec.Command(python, filepath.Join("testdata", "read_nodes.py"), top.stack)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "AWS_ENDPOINT_URL=" + top.cloud.Endpoint(), "AWS_ACCESS_KEY_ID=x",
		"AWS_SECRET_ACCESS_KEY=x", "AWS_DEFAULT_REGION=" + testRegion, "AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials")}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("read_nodes.py: %v\n%s", err, stderr.String())
	}
	var m boto3Nodes
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("read_nodes.py printed no model: %v\n%s", err, out)
	}
	if len(m.Instances) != nodes {
		t.Fatalf("boto3 sees %d node databases, want %d", len(m.Instances), nodes)
	}
	var secretValues []string
	for _, in := range m.Instances {
		if in.Public || !in.Encrypted || !in.DeletionProtection || in.Backups < 1 || in.ManagedSecret == "" {
			t.Errorf("database %s: public %t, encrypted %t, deletion protection %t, backups %d days, managed secret %q", in.ID, in.Public, in.Encrypted, in.DeletionProtection, in.Backups, in.ManagedSecret)
		}
		if pw, err := top.cl.Secrets().GetJSON(context.Background(), in.ManagedSecret); err == nil {
			secretValues = append(secretValues, pw["password"])
		}
	}
	o := &observed{}
	if err := o.readStack(context.Background(), top.cl, NamesFor(top.stack)); err != nil {
		t.Fatal(err)
	}
	secretValues = append(secretValues, o.In.Token, o.In.Secret)
	for _, td := range m.TaskDefinitions {
		for k, v := range td.Environment {
			for _, s := range secretValues {
				if s != "" && strings.Contains(v, s) {
					t.Errorf("task definition %s, container %s: %s holds a secret in plain text", td.Family, td.Container, k)
				}
			}
		}
	}
	n := NamesFor(top.stack)
	var publicGroup string
	for _, lb := range m.LoadBalancers {
		if lb.Name == n.LoadBalancer {
			if lb.Scheme != "internet-facing" || len(lb.Ports) != 1 || lb.Ports[0] != listenerPort || len(lb.Groups) != 1 {
				t.Errorf("public load balancer %+v", lb)
			}
			publicGroup = lb.Groups[0]
		} else if lb.Scheme != "internal" {
			t.Errorf("load balancer %s is %s", lb.Name, lb.Scheme)
		}
	}
	for _, g := range m.SecurityGroups {
		for _, r := range g.Ingress {
			for _, c := range r.Cidrs {
				if g.ID != publicGroup || c != "0.0.0.0/0" || r.From != listenerPort || r.To != listenerPort {
					t.Errorf("security group %s admits %s on %d-%d: only the public ALB's group may be open, on its listener port", g.Name, c, r.From, r.To)
				}
			}
		}
	}
}
