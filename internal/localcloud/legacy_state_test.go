package localcloud

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestLegacyStateDirLoads: testdata/legacy-state was written by the local cloud before each
// service kept its own document (one state.json for everything, logs.json, code/, s3/). It
// loads unchanged, and after Close it is in the rooms' documents (state.json gone), which
// load again.
func TestLegacyStateDirLoads(t *testing.T) {
	dir := t.TempDir()
	must(t, os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "legacy-state"))))
	for round := range 2 {
		c := startCloud(t, Options{StateDir: dir})
		checkLegacyStack(t, c)
		must(t, c.Close())
		if _, err := os.Stat(filepath.Join(dir, "state.json")); err == nil {
			t.Fatalf("round %d: state.json still there after Close", round)
		}
		for _, f := range []string{"iam.json", "lambda.json", "apigateway.json", "s3.json", "logs.json"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}

// checkLegacyStack reads everything testdata/legacy-state holds through the SDK.
func checkLegacyStack(t *testing.T, c *Cloud) {
	t.Helper()
	cl := sdk(c, false)
	ctx := context.Background()
	res := c.Resources("rudderctl:stack", "legacy")
	var kinds []string
	for _, r := range res {
		kinds = append(kinds, r.Service+"/"+r.Type+"/"+r.Name)
	}
	if got := strings.Join(kinds, " "); got != "apigateway/api/legacy-api iam/role/legacy-role lambda/function/legacy-fn logs/log-group//legacy/group s3/bucket/legacy-bucket" {
		t.Fatalf("tagged resources: %s", got)
	}
	pol, err := cl.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("legacy-role"), PolicyName: aws.String("logs")})
	must(t, err)
	if !strings.Contains(aws.ToString(pol.PolicyDocument), "logs") {
		t.Errorf("inline policy: %s", aws.ToString(pol.PolicyDocument))
	}
	att, err := cl.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("legacy-role")})
	must(t, err)
	if len(att.AttachedPolicies) != 1 || aws.ToString(att.AttachedPolicies[0].PolicyArn) != "arn:aws:iam::aws:policy/ReadOnlyAccess" {
		t.Errorf("attached policies: %+v", att.AttachedPolicies)
	}
	alias, err := cl.lambda.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("legacy-fn"), Name: aws.String("live")})
	must(t, err)
	if aws.ToString(alias.FunctionVersion) != "1" {
		t.Errorf("alias live -> %s", aws.ToString(alias.FunctionVersion))
	}
	p, err := cl.lambda.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("legacy-fn"), Qualifier: aws.String("live")})
	must(t, err)
	if !strings.Contains(aws.ToString(p.Policy), "apigateway.amazonaws.com") {
		t.Errorf("alias policy: %s", aws.ToString(p.Policy))
	}
	fn, err := cl.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("legacy-fn")})
	must(t, err)
	if fn.Configuration.CodeSize == 0 {
		t.Errorf("function code: %+v", fn.Configuration)
	}
	apis, err := cl.apigw.GetApis(ctx, &apigatewayv2.GetApisInput{})
	must(t, err)
	if len(apis.Items) != 1 || aws.ToString(apis.Items[0].ApiEndpoint) == "" {
		t.Fatalf("apis: %+v", apis.Items)
	}
	routes, err := cl.apigw.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: apis.Items[0].ApiId})
	must(t, err)
	stages, err := cl.apigw.GetStages(ctx, &apigatewayv2.GetStagesInput{ApiId: apis.Items[0].ApiId})
	must(t, err)
	if len(routes.Items) != 1 || len(stages.Items) != 1 {
		t.Errorf("routes %d, stages %d", len(routes.Items), len(stages.Items))
	}
	obj, err := cl.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("legacy-bucket"), Key: aws.String("code/fn.zip")})
	must(t, err)
	b, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(b) != "hello legacy" {
		t.Errorf("object: %q", b)
	}
	ev, err := cl.logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/legacy/group")})
	must(t, err)
	if len(ev.Events) != 1 || aws.ToString(ev.Events[0].Message) != "legacy line" {
		t.Errorf("log events: %+v", ev.Events)
	}
}
