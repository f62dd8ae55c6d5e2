package localcloud

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/rudderctl/rudderctl/internal/localcloud/core"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	itypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

const (
	basicExecPolicy = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
	readOnlyPolicy  = "arn:aws:iam::aws:policy/ReadOnlyAccess"
	inlinePolicy    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}]}`
)

// auditFixture makes three roles; "audited" has three tags, an inline policy and two
// attached managed policies.
func auditFixture(t *testing.T, cl clients) {
	t.Helper()
	ctx := context.Background()
	for _, name := range []string{"audited", "other-1", "other-2"} {
		mkRole(t, cl, name)
	}
	_, err := cl.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("audited"), Tags: []itypes.Tag{
		{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}, {Key: aws.String("c"), Value: aws.String("3")}}})
	must(t, err)
	_, err = cl.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("audited"), PolicyName: aws.String("logs"), PolicyDocument: aws.String(inlinePolicy)})
	must(t, err)
	for _, arn := range []string{basicExecPolicy, readOnlyPolicy, basicExecPolicy} { // attaching twice is a no-op
		_, err = cl.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("audited"), PolicyArn: aws.String(arn)})
		must(t, err)
	}
}

func TestIAMManagedPoliciesSDK(t *testing.T) {
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()
	auditFixture(t, cl)

	var arns []string
	p := iam.NewListAttachedRolePoliciesPaginator(cl.iam, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("audited"), MaxItems: aws.Int32(1)})
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		must(t, err)
		for _, ap := range pg.AttachedPolicies {
			arns = append(arns, aws.ToString(ap.PolicyArn)+"="+aws.ToString(ap.PolicyName))
		}
	}
	if want := []string{readOnlyPolicy + "=ReadOnlyAccess", basicExecPolicy + "=AWSLambdaBasicExecutionRole"}; fmt.Sprint(arns) != fmt.Sprint(want) {
		t.Fatalf("attached %v, want %v", arns, want)
	}
	sr, err := cl.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("audited"), PathPrefix: aws.String("/service-role/")})
	must(t, err)
	if len(sr.AttachedPolicies) != 1 || aws.ToString(sr.AttachedPolicies[0].PolicyArn) != basicExecPolicy || sr.IsTruncated {
		t.Fatalf("PathPrefix /service-role/: %+v", sr)
	}

	_, err = cl.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("audited"), PolicyArn: aws.String("arn:aws:iam::000000000000:policy/mine")})
	wantCode(t, err, "NoSuchEntity")
	_, err = cl.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("audited"), PolicyArn: aws.String("not-an-arn")})
	wantCode(t, err, "InvalidInput")
	_, err = cl.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("nobody"), PolicyArn: aws.String(readOnlyPolicy)})
	wantCode(t, err, "NoSuchEntity")
	_, err = cl.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("other-1"), PolicyArn: aws.String(readOnlyPolicy)})
	wantCode(t, err, "NoSuchEntity")

	var tags []string
	tp := iam.NewListRoleTagsPaginator(cl.iam, &iam.ListRoleTagsInput{RoleName: aws.String("audited"), MaxItems: aws.Int32(2)})
	pages := 0
	for tp.HasMorePages() {
		pg, err := tp.NextPage(ctx)
		must(t, err)
		pages++
		for _, tg := range pg.Tags {
			tags = append(tags, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
		}
	}
	if fmt.Sprint(tags) != "[a=1 b=2 c=3]" || pages != 2 {
		t.Fatalf("tags %v in %d pages", tags, pages)
	}

	// A role with managed policies attached cannot be deleted; detached, it can.
	must(t, func() error {
		_, err := cl.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("audited"), PolicyName: aws.String("logs")})
		return err
	}())
	_, err = cl.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("audited")})
	wantCode(t, err, "DeleteConflict")
	for _, arn := range []string{basicExecPolicy, readOnlyPolicy} {
		_, err = cl.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("audited"), PolicyArn: aws.String(arn)})
		must(t, err)
	}
	_, err = cl.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("audited")})
	must(t, err)
}

// TestIAMAuditAWSCLI makes the read calls of a policy audit with the real AWS CLI; its
// --page-size makes it page through ListRoles and ListAttachedRolePolicies itself.
func TestIAMAuditAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("the AWS CLI is slow to start")
	}
	c := startCloud(t, Options{})
	auditFixture(t, sdk(c, false))
	run := awsCLI(t, c.Endpoint())

	roles := run("iam", "list-roles", "--page-size", "1")
	var names []string
	for _, r := range roles["Roles"].([]any) {
		names = append(names, r.(map[string]any)["RoleName"].(string))
	}
	if fmt.Sprint(names) != "[audited other-1 other-2]" {
		t.Fatalf("list-roles: %v", roles)
	}
	att := run("iam", "list-attached-role-policies", "--role-name", "audited", "--page-size", "1")
	if ap := att["AttachedPolicies"].([]any); len(ap) != 2 || ap[1].(map[string]any)["PolicyName"] != "AWSLambdaBasicExecutionRole" {
		t.Fatalf("list-attached-role-policies: %v", att)
	}
	if pn := run("iam", "list-role-policies", "--role-name", "audited")["PolicyNames"].([]any); len(pn) != 1 || pn[0] != "logs" {
		t.Fatalf("list-role-policies: %v", pn)
	}
	// The CLI decodes the URL-encoded document into JSON.
	doc := run("iam", "get-role-policy", "--role-name", "audited", "--policy-name", "logs")["PolicyDocument"].(map[string]any)
	if doc["Statement"].([]any)[0].(map[string]any)["Action"] != "logs:PutLogEvents" {
		t.Fatalf("get-role-policy: %v", doc)
	}
	role := run("iam", "get-role", "--role-name", "audited")["Role"].(map[string]any)
	if role["RoleName"] != "audited" || len(role["Tags"].([]any)) != 3 {
		t.Fatalf("get-role: %v", role)
	}
	if tags := run("iam", "list-role-tags", "--role-name", "audited")["Tags"].([]any); len(tags) != 3 {
		t.Fatalf("list-role-tags: %v", tags)
	}
	run("iam", "detach-role-policy", "--role-name", "audited", "--policy-arn", readOnlyPolicy)
	if ap := run("iam", "list-attached-role-policies", "--role-name", "audited")["AttachedPolicies"].([]any); len(ap) != 1 {
		t.Fatalf("after detach-role-policy: %v", ap)
	}
}

// boto3Audit is what a boto3 policy audit prints: every role with its attached and
// inline policies and tags, read through boto3's paginators (one item per page).
const boto3Audit = `
import json, os, boto3
iam = boto3.client("iam", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                   aws_access_key_id="x", aws_secret_access_key="x")
def pages(op, key, **kw):
    out = []
    for pg in iam.get_paginator(op).paginate(PaginationConfig={"PageSize": 1}, **kw):
        out += pg[key]
    return out
audit = {}
for role in pages("list_roles", "Roles"):
    name = role["RoleName"]
    got = iam.get_role(RoleName=name)["Role"]
    inline = {p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
              for p in pages("list_role_policies", "PolicyNames", RoleName=name)}
    audit[name] = {
        "arn": got["Arn"],
        "trust": got["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
        "attached": [p["PolicyArn"] for p in pages("list_attached_role_policies", "AttachedPolicies", RoleName=name)],
        "inline": inline,
        "tags": {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]},
    }
print(json.dumps(audit))
`

func TestIAMAuditBoto3(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(py, "-c", "import boto3").Run()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3 with boto3 is needed (pip install boto3): %v", err)
		}
		t.Skipf("python3 with boto3 not available: %v", err)
	}
	c := startCloud(t, Options{})
	auditFixture(t, sdk(c, false))
	cmd := exec.Command(py, "-c", boto3Audit)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	home := t.TempDir()
	cmd.Env = append(env, "ENDPOINT="+c.Endpoint(), "AWS_CONFIG_FILE="+filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"))
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("boto3 audit: %v\n%s", err, stderr)
	}
	var audit map[string]struct {
		ARN      string                    `json:"arn"`
		Trust    map[string]any            `json:"trust"`
		Attached []string                  `json:"attached"`
		Inline   map[string]map[string]any `json:"inline"`
		Tags     map[string]string         `json:"tags"`
	}
	if err := json.Unmarshal(out, &audit); err != nil {
		t.Fatalf("boto3 audit output: %v\n%s", err, out)
	}
	names := core.SortedKeys(audit)
	sort.Strings(names)
	if fmt.Sprint(names) != "[audited other-1 other-2]" {
		t.Fatalf("roles %v", names)
	}
	a := audit["audited"]
	if a.ARN != "arn:aws:iam::"+AccountID+":role/rudderctl/audited" || a.Trust["Service"] != "lambda.amazonaws.com" ||
		fmt.Sprint(a.Attached) != fmt.Sprint([]string{readOnlyPolicy, basicExecPolicy}) ||
		a.Inline["logs"]["Version"] != "2012-10-17" || len(a.Tags) != 3 {
		t.Fatalf("audited: %+v", a)
	}
	if o := audit["other-1"]; len(o.Attached) != 0 || len(o.Inline) != 0 {
		t.Fatalf("other-1: %+v", o)
	}
}
