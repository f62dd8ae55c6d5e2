package transformer

// AWS's own clients (boto3 and the AWS CLI) must read a stack deployed to the local cloud
// completely: every resource the stack has, with its tags, listed through their paginators.

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/testenv"
)

// stackSummary is what an AWS client reports about one stack: the shape
// testdata/awsclients/read_stack.py prints, and the one awsCLISummary builds.
type stackSummary struct {
	Account string `json:"account"`
	Roles   []struct {
		Name             string              `json:"name"`
		ARN              string              `json:"arn"`
		InlinePolicies   map[string][]string `json:"inline_policies"` // name -> actions
		AttachedPolicies []string            `json:"attached_policies"`
		Tags             map[string]string   `json:"tags"`
		TrustedServices  []string            `json:"trusted_services"`
	} `json:"roles"`
	LogGroups []struct {
		Name          string            `json:"name"`
		RetentionDays int32             `json:"retention_days"`
		Tags          map[string]string `json:"tags"`
	} `json:"log_groups"`
	Functions []struct {
		Name       string              `json:"name"`
		ARN        string              `json:"arn"`
		Versions   []string            `json:"versions"`
		Aliases    map[string]string   `json:"aliases"`     // name -> version
		PolicySids map[string][]string `json:"policy_sids"` // qualifier -> statement ids
		Tags       map[string]string   `json:"tags"`
	} `json:"functions"`
	APIs []struct {
		ID           string            `json:"id"`
		Name         string            `json:"name"`
		Tags         map[string]string `json:"tags"`
		Integrations []struct {
			ID  string `json:"id"`
			URI string `json:"uri"`
		} `json:"integrations"`
		Routes []struct {
			Key    string `json:"key"`
			Target string `json:"target"`
		} `json:"routes"`
		Stages []string `json:"stages"`
	} `json:"apis"`
	Buckets []struct {
		Name    string            `json:"name"`
		Tags    map[string]string `json:"tags"`
		Objects []string          `json:"objects"`
	} `json:"buckets"`
}

// names lists every resource of the summary as "service type name", in the terms of
// localcloud.Resource, plus the sub-resources no tag reaches (policies, versions, routes...).
func (s *stackSummary) names() []string {
	var out []string
	add := func(parts ...string) { out = append(out, strings.Join(parts, " ")) }
	for _, r := range s.Roles {
		add("iam role", r.Name)
		for p := range r.InlinePolicies {
			add("iam role-policy", r.Name+"/"+p)
		}
		for _, p := range r.AttachedPolicies {
			add("iam attached-policy", r.Name+"/"+p)
		}
	}
	for _, g := range s.LogGroups {
		add("logs log-group", g.Name)
	}
	for _, f := range s.Functions {
		add("lambda function", f.Name)
		for _, v := range f.Versions {
			add("lambda version", f.Name+":"+v)
		}
		for a, v := range f.Aliases {
			add("lambda alias", f.Name+":"+a+" -> "+v)
		}
		for q, sids := range f.PolicySids {
			for _, sid := range sids {
				add("lambda permission", f.Name+":"+q+"/"+sid)
			}
		}
	}
	for _, a := range s.APIs {
		add("apigateway api", a.Name)
		for _, in := range a.Integrations {
			add("apigateway integration", a.ID+"/"+in.ID)
		}
		for _, r := range a.Routes {
			add("apigateway route", a.ID+"/"+r.Key+" -> "+r.Target)
		}
		for _, st := range a.Stages {
			add("apigateway stage", a.ID+"/"+st)
		}
	}
	for _, b := range s.Buckets {
		add("s3 bucket", b.Name)
		for _, k := range b.Objects {
			add("s3 object", b.Name+"/"+k)
		}
	}
	sort.Strings(out)
	return out
}

// tagged lists the resources of the summary carrying rudderctl:stack=stack.
func (s *stackSummary) tagged(stack string) []string {
	var out []string
	has := func(tags map[string]string) bool { return tags[TagKey] == stack }
	for _, r := range s.Roles {
		if has(r.Tags) {
			out = append(out, "iam role "+r.Name)
		}
	}
	for _, g := range s.LogGroups {
		if has(g.Tags) {
			out = append(out, "logs log-group "+g.Name)
		}
	}
	for _, f := range s.Functions {
		if has(f.Tags) {
			out = append(out, "lambda function "+f.Name)
		}
	}
	for _, a := range s.APIs {
		if has(a.Tags) {
			out = append(out, "apigateway api "+a.Name)
		}
	}
	for _, b := range s.Buckets {
		if has(b.Tags) {
			out = append(out, "s3 bucket "+b.Name)
		}
	}
	sort.Strings(out)
	return out
}

// wantNames is what the stack has, read by the Go SDK (Observe) and fixed by its names.
func wantNames(t *testing.T, stack string) []string {
	t.Helper()
	n := NamesFor(stack)
	o, err := Observe(context.Background(), testClients(t), n)
	if err != nil {
		t.Fatal(err)
	}
	if o.Role == nil || o.Logs == nil || o.Func == nil || o.Alias == nil || len(o.APIs) != 1 || o.Permission == nil || o.Bucket == nil {
		t.Fatalf("the deploy left an incomplete stack: %+v", o)
	}
	var out []string
	add := func(parts ...string) { out = append(out, strings.Join(parts, " ")) }
	add("iam role", n.Role)
	for _, p := range o.Role.PolicyNames {
		add("iam role-policy", n.Role+"/"+p)
	}
	add("logs log-group", n.LogGroup)
	add("lambda function", n.Function)
	add("lambda version", n.Function+":$LATEST")
	for _, v := range o.Versions {
		add("lambda version", n.Function+":"+v.Number)
	}
	add("lambda alias", n.Function+":"+AliasName+" -> "+o.Alias.Version)
	add("lambda permission", n.Function+":"+AliasName+"/"+StatementID)
	api := o.APIs[0].ID
	add("apigateway api", n.API)
	for _, in := range o.Integrations {
		add("apigateway integration", api+"/"+in.ID)
	}
	for _, r := range o.Routes {
		add("apigateway route", api+"/"+r.Key+" -> "+r.Target)
	}
	for _, s := range o.Stages {
		add("apigateway stage", api+"/"+s.Name)
	}
	add("s3 bucket", o.Bucket.Name)
	for _, k := range o.Bucket.Keys {
		add("s3 object", o.Bucket.Name+"/"+k)
	}
	sort.Strings(out)
	return out
}

// checkSummary compares what an AWS client read with what the stack has.
func checkSummary(t *testing.T, client string, cloud *localcloud.Cloud, s *stackSummary, stack string, want []string) {
	t.Helper()
	secret := ""
	if len(s.Functions) == 1 {
		o, _ := Observe(context.Background(), testClients(t), NamesFor(stack))
		if o != nil && o.Func != nil {
			secret, _ = SecretFromPrefix(o.Func.Config.Env[PrefixEnv])
		}
	}
	show := func(v []string) string { return redact(strings.Join(v, "\n  "), secret) }
	if got := s.names(); !reflect.DeepEqual(got, want) {
		t.Errorf("%s read:\n  %s\nthe stack has:\n  %s", client, show(got), show(want))
	}
	if s.Account != localcloud.AccountID {
		t.Errorf("%s: account %q, want %q", client, s.Account, localcloud.AccountID)
	}
	// Everything the cloud knows as tagged with the stack, the client sees tagged.
	var cloudTagged []string
	for _, r := range cloud.Resources(TagKey, stack) {
		if r.Type == "stage" { // stages are named "apiID/name" and read through their API
			continue
		}
		cloudTagged = append(cloudTagged, r.Service+" "+r.Type+" "+r.Name)
	}
	sort.Strings(cloudTagged)
	if got := s.tagged(stack); !reflect.DeepEqual(got, cloudTagged) || len(got) != 5 {
		t.Errorf("%s sees tagged:\n  %s\nthe cloud has tagged:\n  %s", client, show(got), show(cloudTagged))
	}
	for _, r := range s.Roles {
		if len(r.AttachedPolicies) != 0 || !slices.Equal(r.TrustedServices, []string{"lambda.amazonaws.com"}) ||
			!slices.Contains(r.InlinePolicies[PolicyName], "logs:PutLogEvents") {
			t.Errorf("%s: role %s: attached %v, trusted %v, inline %v", client, r.Name, r.AttachedPolicies, r.TrustedServices, r.InlinePolicies)
		}
	}
	for _, g := range s.LogGroups {
		if g.RetentionDays != 7 {
			t.Errorf("%s: log group %s retention %d, want 7", client, g.Name, g.RetentionDays)
		}
	}
}

// deployForClients deploys stack with everything a stack can have: the first code through
// the S3 bucket (so it holds an object), then a second version; and a stack "other".
func deployForClients(t *testing.T, stack string) *localcloud.Cloud {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	cloud := startCloud(t, deterministicDelays)
	cl := testClients(t)
	// Another stack first, so the lists have more than one page and the clients must
	// tell the stacks apart.
	mustDeploy(t, cl, "other", testZip(t, "A"), nil)
	mustDeploy(t, cl, stack, bigTestZip(t, "A"), nil)
	if r := mustDeploy(t, cl, stack, testZip(t, "B"), nil); r.Version != "2" {
		t.Fatalf("second deploy: %+v", r)
	}
	return cloud
}

// awsClientEnv is the environment of an AWS client run against the cloud: no AWS_ setting
// of the caller's, dummy credentials and empty config files.
func awsClientEnv(t *testing.T, cloud *localcloud.Cloud) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	home := t.TempDir()
	return append(env, "AWS_ENDPOINT_URL="+cloud.Endpoint(), "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x",
		"AWS_DEFAULT_REGION="+testRegion, "AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"), "AWS_PAGER=")
}

func TestBoto3ReadsStack(t *testing.T) {
	python := testenv.LookPath(t, "python3", "boto3 checks that AWS's Python SDK reads a deployed stack")
	if out, err := exec.Command(python, "-c", "import boto3").CombinedOutput(); err != nil {
		testenv.Missing(t, "python3 cannot import boto3 (%v: %s); pip install boto3", err, strings.TrimSpace(string(out)))
	}
	const stack = "boto"
	cloud := deployForClients(t, stack)
	cmd := exec.Command(python, filepath.Join("testdata", "awsclients", "read_stack.py"), stack)
	cmd.Env = awsClientEnv(t, cloud)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cloud.ResetStats()
	out, err := cmd.Output()
	calls := cloud.Stats().ByOperation
	t.Logf("boto3 calls: %v", calls)
	// Page size 1: the paginators fetched one page per item.
	if calls["lambda:ListVersionsByFunction"] < 3 || calls["apigateway:GetRoutes"] < 2 || calls["lambda:ListFunctions"] < 2 {
		t.Errorf("boto3 did not page through the lists: %v", calls)
	}
	if err != nil {
		t.Fatalf("read_stack.py: %v\n%s", err, stderr.String())
	}
	var s stackSummary
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("read_stack.py printed no summary: %v", err)
	}
	t.Logf("boto3 read %d resources", len(s.names()))
	checkSummary(t, "boto3", cloud, &s, stack, wantNames(t, stack))
}
