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
	Account   string          `json:"account"`
	Roles     []summaryRole   `json:"roles"`
	LogGroups []summaryLogs   `json:"log_groups"`
	Functions []summaryFunc   `json:"functions"`
	APIs      []summaryAPI    `json:"apis"`
	Buckets   []summaryBucket `json:"buckets"`
}

type summaryRole struct {
	Name             string              `json:"name"`
	ARN              string              `json:"arn"`
	InlinePolicies   map[string][]string `json:"inline_policies"` // name -> actions
	AttachedPolicies []string            `json:"attached_policies"`
	Tags             map[string]string   `json:"tags"`
	TrustedServices  []string            `json:"trusted_services"`
}

type summaryLogs struct {
	Name          string            `json:"name"`
	RetentionDays int32             `json:"retention_days"`
	Tags          map[string]string `json:"tags"`
}

type summaryFunc struct {
	Name       string              `json:"name"`
	ARN        string              `json:"arn"`
	Versions   []string            `json:"versions"`
	Aliases    map[string]string   `json:"aliases"`     // name -> version
	PolicySids map[string][]string `json:"policy_sids"` // qualifier -> statement ids
	Tags       map[string]string   `json:"tags"`
}

type summaryAPI struct {
	ID           string               `json:"id"`
	Name         string               `json:"name"`
	Tags         map[string]string    `json:"tags"`
	Integrations []summaryIntegration `json:"integrations"`
	Routes       []summaryRoute       `json:"routes"`
	Stages       []string             `json:"stages"`
}

type summaryIntegration struct {
	ID  string `json:"id"`
	URI string `json:"uri"`
}

type summaryRoute struct {
	Key    string `json:"key"`
	Target string `json:"target"`
}

type summaryBucket struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Objects []string          `json:"objects"`
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

// awsCLI runs the AWS CLI against the cloud and decodes its JSON output into out.
type awsCLI struct {
	t   *testing.T
	bin string
	env []string
}

func (c *awsCLI) run(out any, args ...string) error {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"--output", "json"}, args...)...)
	cmd.Env = c.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return &cliError{args: args, err: err, stderr: stderr.String()}
	}
	if err := json.Unmarshal(b, out); err != nil {
		c.t.Fatalf("aws %s: not JSON: %v", strings.Join(args, " "), err)
	}
	return nil
}

func (c *awsCLI) must(out any, args ...string) {
	c.t.Helper()
	if err := c.run(out, args...); err != nil {
		c.t.Fatal(err)
	}
}

type cliError struct {
	args   []string
	err    error
	stderr string
}

func (e *cliError) Error() string {
	return "aws " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + e.stderr
}

type cliTag struct{ Key, Value string }

func cliTags(tags []cliTag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[t.Key] = t.Value
	}
	return out
}

// awsCLISummary reads the stack with the AWS CLI (which follows every page itself; a page
// size of 1 makes it) into the summary read_stack.py prints.
func awsCLISummary(cli *awsCLI, stack string) *stackSummary {
	prefix := "rudderctl-" + stack + "-"
	var s stackSummary
	var id struct{ Account string }
	cli.must(&id, "sts", "get-caller-identity")
	s.Account = id.Account
	cliRoles(cli, &s, prefix)
	cliLogs(cli, &s, prefix)
	cliLambda(cli, &s, prefix)
	cliAPIs(cli, &s, prefix)
	cliS3(cli, &s, prefix)
	return &s
}

type policyDoc struct {
	Statement []struct {
		Action    any
		Principal struct{ Service any }
	}
}

func anyStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, e.(string))
		}
		return out
	}
	return nil
}

func cliRoles(cli *awsCLI, s *stackSummary, prefix string) {
	var roles struct {
		Roles []struct{ RoleName, Arn string }
	}
	cli.must(&roles, "iam", "list-roles", "--page-size", "1")
	for _, r := range roles.Roles {
		if !strings.HasPrefix(r.RoleName, prefix) {
			continue
		}
		var inline struct{ PolicyNames []string }
		cli.must(&inline, "iam", "list-role-policies", "--role-name", r.RoleName, "--page-size", "1")
		policies := map[string][]string{}
		for _, p := range inline.PolicyNames {
			var got struct{ PolicyDocument policyDoc }
			cli.must(&got, "iam", "get-role-policy", "--role-name", r.RoleName, "--policy-name", p)
			for _, st := range got.PolicyDocument.Statement {
				policies[p] = append(policies[p], anyStrings(st.Action)...)
			}
		}
		var attached struct{ AttachedPolicies []struct{ PolicyArn string } }
		cli.must(&attached, "iam", "list-attached-role-policies", "--role-name", r.RoleName, "--page-size", "1")
		var tags struct{ Tags []cliTag }
		cli.must(&tags, "iam", "list-role-tags", "--role-name", r.RoleName)
		var role struct {
			Role struct{ AssumeRolePolicyDocument policyDoc }
		}
		cli.must(&role, "iam", "get-role", "--role-name", r.RoleName)
		var trusted []string
		for _, st := range role.Role.AssumeRolePolicyDocument.Statement {
			trusted = append(trusted, anyStrings(st.Principal.Service)...)
		}
		s.Roles = append(s.Roles, summaryRole{Name: r.RoleName, ARN: r.Arn, InlinePolicies: policies, AttachedPolicies: []string{},
			Tags: cliTags(tags.Tags), TrustedServices: trusted})
		for _, a := range attached.AttachedPolicies {
			s.Roles[len(s.Roles)-1].AttachedPolicies = append(s.Roles[len(s.Roles)-1].AttachedPolicies, a.PolicyArn)
		}
	}
}

func cliLogs(cli *awsCLI, s *stackSummary, prefix string) {
	var groups struct {
		LogGroups []struct {
			LogGroupName    string
			Arn             string
			RetentionInDays int32
		}
	}
	cli.must(&groups, "logs", "describe-log-groups", "--log-group-name-prefix", "/aws/lambda/"+prefix, "--page-size", "1")
	for _, g := range groups.LogGroups {
		var tags struct{ Tags map[string]string }
		cli.must(&tags, "logs", "list-tags-for-resource", "--resource-arn", strings.TrimSuffix(g.Arn, ":*"))
		s.LogGroups = append(s.LogGroups, summaryLogs{Name: g.LogGroupName, RetentionDays: g.RetentionInDays, Tags: tags.Tags})
	}
}

func cliLambda(cli *awsCLI, s *stackSummary, prefix string) {
	var fns struct {
		Functions []struct{ FunctionName, FunctionArn string }
	}
	cli.must(&fns, "lambda", "list-functions", "--page-size", "1")
	for _, f := range fns.Functions {
		if !strings.HasPrefix(f.FunctionName, prefix) {
			continue
		}
		sf := summaryFunc{Name: f.FunctionName, ARN: f.FunctionArn, Aliases: map[string]string{}, PolicySids: map[string][]string{}}
		var versions struct{ Versions []struct{ Version string } }
		cli.must(&versions, "lambda", "list-versions-by-function", "--function-name", f.FunctionName, "--page-size", "1")
		for _, v := range versions.Versions {
			sf.Versions = append(sf.Versions, v.Version)
		}
		var aliases struct {
			Aliases []struct{ Name, FunctionVersion string }
		}
		cli.must(&aliases, "lambda", "list-aliases", "--function-name", f.FunctionName, "--page-size", "1")
		qualifiers := []string{""}
		for _, a := range aliases.Aliases {
			sf.Aliases[a.Name] = a.FunctionVersion
			qualifiers = append(qualifiers, a.Name)
		}
		for _, q := range qualifiers {
			args := []string{"lambda", "get-policy", "--function-name", f.FunctionName}
			if q != "" {
				args = append(args, "--qualifier", q)
			}
			var policy struct{ Policy string }
			if err := cli.run(&policy, args...); err != nil {
				if strings.Contains(err.Error(), "ResourceNotFoundException") {
					continue
				}
				cli.t.Fatal(err)
			}
			var doc struct{ Statement []struct{ Sid string } }
			if err := json.Unmarshal([]byte(policy.Policy), &doc); err != nil {
				cli.t.Fatalf("lambda get-policy: %v", err)
			}
			key := q
			if key == "" {
				key = "$LATEST"
			}
			for _, st := range doc.Statement {
				sf.PolicySids[key] = append(sf.PolicySids[key], st.Sid)
			}
		}
		var tags struct{ Tags map[string]string }
		cli.must(&tags, "lambda", "list-tags", "--resource", f.FunctionArn)
		sf.Tags = tags.Tags
		s.Functions = append(s.Functions, sf)
	}
}

func cliAPIs(cli *awsCLI, s *stackSummary, prefix string) {
	var apis struct {
		Items []struct {
			ApiId, Name string
			Tags        map[string]string
		}
	}
	cli.must(&apis, "apigatewayv2", "get-apis", "--page-size", "1")
	for _, a := range apis.Items {
		if !strings.HasPrefix(a.Name, prefix) {
			continue
		}
		sa := summaryAPI{ID: a.ApiId, Name: a.Name, Tags: a.Tags}
		var ints struct {
			Items []struct{ IntegrationId, IntegrationUri string }
		}
		cli.must(&ints, "apigatewayv2", "get-integrations", "--api-id", a.ApiId, "--page-size", "1")
		for _, in := range ints.Items {
			sa.Integrations = append(sa.Integrations, summaryIntegration{ID: in.IntegrationId, URI: in.IntegrationUri})
		}
		var routes struct {
			Items []struct{ RouteKey, Target string }
		}
		cli.must(&routes, "apigatewayv2", "get-routes", "--api-id", a.ApiId, "--page-size", "1")
		for _, r := range routes.Items {
			sa.Routes = append(sa.Routes, summaryRoute{Key: r.RouteKey, Target: r.Target})
		}
		var stages struct{ Items []struct{ StageName string } }
		cli.must(&stages, "apigatewayv2", "get-stages", "--api-id", a.ApiId, "--page-size", "1")
		for _, st := range stages.Items {
			sa.Stages = append(sa.Stages, st.StageName)
		}
		s.APIs = append(s.APIs, sa)
	}
}

func cliS3(cli *awsCLI, s *stackSummary, prefix string) {
	var buckets struct{ Buckets []struct{ Name string } }
	cli.must(&buckets, "s3api", "list-buckets", "--page-size", "1")
	for _, b := range buckets.Buckets {
		if !strings.HasPrefix(b.Name, prefix) {
			continue
		}
		var tags struct{ TagSet []cliTag }
		cli.must(&tags, "s3api", "get-bucket-tagging", "--bucket", b.Name)
		var objects struct{ Contents []struct{ Key string } }
		cli.must(&objects, "s3api", "list-objects-v2", "--bucket", b.Name, "--page-size", "1")
		sb := summaryBucket{Name: b.Name, Tags: cliTags(tags.TagSet)}
		for _, o := range objects.Contents {
			sb.Objects = append(sb.Objects, o.Key)
		}
		s.Buckets = append(s.Buckets, sb)
	}
}

func TestAWSCLIReadsStack(t *testing.T) {
	bin := testenv.LookPath(t, "aws", "the AWS CLI checks that AWS's own client reads a deployed stack; apt-get install awscli, as scripts/test.sh does")
	const stack = "cli"
	cloud := deployForClients(t, stack)
	cli := &awsCLI{t: t, bin: bin, env: awsClientEnv(t, cloud)}
	cloud.ResetStats()
	s := awsCLISummary(cli, stack)
	calls := cloud.Stats().ByOperation
	t.Logf("AWS CLI calls: %v", calls)
	if calls["lambda:ListVersionsByFunction"] < 3 || calls["apigateway:GetRoutes"] < 2 || calls["lambda:ListFunctions"] < 2 {
		t.Errorf("the AWS CLI did not page through the lists: %v", calls)
	}
	t.Logf("the AWS CLI read %d resources", len(s.names()))
	checkSummary(t, "the AWS CLI", cloud, s, stack, wantNames(t, stack))
}
