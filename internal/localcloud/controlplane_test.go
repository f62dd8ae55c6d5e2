package localcloud

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rudderctl/rudderctl/internal/testfn"
)

func TestSTSAndIAM(t *testing.T) {
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()

	id, err := cl.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	must(t, err)
	if *id.Account != AccountID {
		t.Fatalf("account %s", *id.Account)
	}

	out, err := cl.iam.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("rudderctl-a-transformer"), Path: aws.String("/rudderctl/"),
		AssumeRolePolicyDocument: aws.String(trustPolicy),
		Tags:                     []iamtypes.Tag{{Key: aws.String("rudderctl:stack"), Value: aws.String("a")}},
	})
	must(t, err)
	if *out.Role.Arn != "arn:aws:iam::000000000000:role/rudderctl/rudderctl-a-transformer" {
		t.Fatalf("arn %s", *out.Role.Arn)
	}
	_, err = cl.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("rudderctl-a-transformer"), AssumeRolePolicyDocument: aws.String(trustPolicy)})
	wantCode(t, err, "EntityAlreadyExists")

	got, err := cl.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("rudderctl-a-transformer")})
	must(t, err)
	doc, err := url.QueryUnescape(*got.Role.AssumeRolePolicyDocument)
	must(t, err)
	if doc != trustPolicy {
		t.Fatalf("trust policy round trip: %s", doc)
	}
	if len(got.Role.Tags) != 1 || *got.Role.Tags[0].Key != "rudderctl:stack" {
		t.Fatalf("tags %+v", got.Role.Tags)
	}
	_, err = cl.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("want NoSuchEntityException, got %v", err)
	}

	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}]}`
	_, err = cl.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("rudderctl-a-transformer"), PolicyName: aws.String("logs"), PolicyDocument: aws.String(policy)})
	must(t, err)
	gp, err := cl.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("rudderctl-a-transformer"), PolicyName: aws.String("logs")})
	must(t, err)
	if d, _ := url.QueryUnescape(*gp.PolicyDocument); d != policy || *gp.PolicyDocument == policy {
		t.Fatalf("policy document should come back URL-encoded: %s", *gp.PolicyDocument)
	}
	lp, err := cl.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("rudderctl-a-transformer")})
	must(t, err)
	if len(lp.PolicyNames) != 1 || lp.PolicyNames[0] != "logs" {
		t.Fatalf("policies %v", lp.PolicyNames)
	}
	_, err = cl.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("rudderctl-a-transformer")})
	wantCode(t, err, "DeleteConflict")

	_, err = cl.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("rudderctl-a-transformer"), Tags: []iamtypes.Tag{{Key: aws.String("k2"), Value: aws.String("v2")}}})
	must(t, err)
	_, err = cl.iam.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String("rudderctl-a-transformer"), TagKeys: []string{"rudderctl:stack"}})
	must(t, err)
	tags, err := cl.iam.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("rudderctl-a-transformer")})
	must(t, err)
	if len(tags.Tags) != 1 || *tags.Tags[0].Key != "k2" {
		t.Fatalf("tags after tag/untag: %+v", tags.Tags)
	}
	_, err = cl.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("rudderctl-a-transformer"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
	must(t, err)
	_, err = cl.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("rudderctl-a-transformer"), PolicyDocument: aws.String(`{nope`)})
	wantCode(t, err, "MalformedPolicyDocument")

	_, err = cl.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("rudderctl-a-transformer"), PolicyName: aws.String("logs")})
	must(t, err)
	_, err = cl.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("rudderctl-a-transformer")})
	must(t, err)

	// ListRoles: PathPrefix and Marker pagination.
	for _, n := range []string{"r1", "r2", "r3", "r4", "r5"} {
		mkRole(t, cl, n)
	}
	_, err = cl.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("other"), AssumeRolePolicyDocument: aws.String(trustPolicy)})
	must(t, err)
	var names []string
	pages := 0
	p := iam.NewListRolesPaginator(cl.iam, &iam.ListRolesInput{PathPrefix: aws.String("/rudderctl/"), MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		must(t, err)
		pages++
		for _, r := range pg.Roles {
			names = append(names, *r.RoleName)
		}
	}
	if pages != 3 || len(names) != 5 || !sort.StringsAreSorted(names) {
		t.Fatalf("ListRoles pages=%d names=%v", pages, names)
	}
}

func TestLambdaLifecycle(t *testing.T) {
	c := startCloud(t, Options{Delays: Delays{Active: 300 * time.Millisecond, Update: 300 * time.Millisecond, RolePropagation: 700 * time.Millisecond}})
	cl := sdk(c, false)
	ctx := context.Background()
	role := mkRole(t, cl, "fn-role")
	zip1 := dummyZip(t, "v1")
	create := &lambda.CreateFunctionInput{
		FunctionName: aws.String("rudderctl-a-transformer"), Runtime: ltypes.RuntimeNodejs22x, Role: aws.String(role),
		Handler: aws.String("rudderctl.handler"), Code: &ltypes.FunctionCode{ZipFile: zip1},
		MemorySize: aws.Int32(1024), Timeout: aws.Int32(30), Architectures: []ltypes.Architecture{ltypes.ArchitectureArm64},
		Environment: &ltypes.Environment{Variables: map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/rudderctl-wrapper", "A": "1"}},
		Tags:        map[string]string{"rudderctl:stack": "a"},
	}
	// The role is brand new: Lambda cannot assume it yet.
	_, err := cl.lambda.CreateFunction(ctx, create)
	wantCode(t, err, "InvalidParameterValueException")
	time.Sleep(750 * time.Millisecond)

	// Validation like AWS.
	bad := *create
	bad.MemorySize = aws.Int32(64)
	_, err = cl.lambda.CreateFunction(ctx, &bad)
	wantCode(t, err, "InvalidParameterValueException")
	bad = *create
	bad.Runtime = ltypes.RuntimeNodejs16x
	_, err = cl.lambda.CreateFunction(ctx, &bad)
	wantCode(t, err, "InvalidParameterValueException")
	bad = *create
	bad.Timeout = aws.Int32(901)
	_, err = cl.lambda.CreateFunction(ctx, &bad)
	wantCode(t, err, "InvalidParameterValueException")
	bad = *create
	bad.Code = &ltypes.FunctionCode{ZipFile: []byte("not a zip")}
	_, err = cl.lambda.CreateFunction(ctx, &bad)
	wantCode(t, err, "InvalidParameterValueException")
	bad = *create
	bad.Role = aws.String("arn:aws:iam::000000000000:role/missing")
	_, err = cl.lambda.CreateFunction(ctx, &bad)
	wantCode(t, err, "InvalidParameterValueException")

	out, err := cl.lambda.CreateFunction(ctx, create)
	must(t, err)
	sum := sha256.Sum256(zip1)
	if out.State != ltypes.StatePending || *out.CodeSha256 != base64.StdEncoding.EncodeToString(sum[:]) || out.CodeSize != int64(len(zip1)) {
		t.Fatalf("create: state %s sha %s size %d", out.State, *out.CodeSha256, out.CodeSize)
	}
	_, err = cl.lambda.CreateFunction(ctx, create)
	wantCode(t, err, "ResourceConflictException")
	// While Pending, updates conflict.
	_, err = cl.lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("rudderctl-a-transformer"), ZipFile: zip1})
	wantCode(t, err, "ResourceConflictException")

	must(t, lambda.NewFunctionActiveV2Waiter(cl.lambda).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("rudderctl-a-transformer")}, 10*time.Second, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 200 * time.Millisecond
	}))

	gf, err := cl.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("rudderctl-a-transformer")})
	must(t, err)
	if gf.Configuration.State != ltypes.StateActive || gf.Tags["rudderctl:stack"] != "a" || gf.Code.Location == nil || gf.Configuration.Architectures[0] != ltypes.ArchitectureArm64 {
		t.Fatalf("GetFunction: %+v %+v", gf.Configuration, gf.Tags)
	}

	// Update code, then a second update while the first is in progress conflicts.
	zip2 := dummyZip(t, "v2")
	up, err := cl.lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("rudderctl-a-transformer"), ZipFile: zip2})
	must(t, err)
	if up.LastUpdateStatus != ltypes.LastUpdateStatusInProgress {
		t.Fatalf("LastUpdateStatus %s", up.LastUpdateStatus)
	}
	_, err = cl.lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("rudderctl-a-transformer"), MemorySize: aws.Int32(2048)})
	wantCode(t, err, "ResourceConflictException")
	_, err = cl.lambda.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("rudderctl-a-transformer")})
	wantCode(t, err, "ResourceConflictException")
	waitUpdated(t, cl, "rudderctl-a-transformer")

	v1, err := cl.lambda.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("rudderctl-a-transformer")})
	must(t, err)
	again, err := cl.lambda.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("rudderctl-a-transformer")})
	must(t, err)
	if *v1.Version != "1" || *again.Version != "1" {
		t.Fatalf("publish: %s then %s, want 1 and 1 (unchanged)", *v1.Version, *again.Version)
	}
	if *v1.FunctionArn != "arn:aws:lambda:eu-west-1:000000000000:function:rudderctl-a-transformer:1" {
		t.Fatalf("version arn %s", *v1.FunctionArn)
	}

	// Configuration change (role is old enough now) -> new version.
	_, err = cl.lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("rudderctl-a-transformer"),
		Environment: &ltypes.Environment{Variables: map[string]string{"A": "2"}}, Role: aws.String(role)})
	must(t, err)
	waitUpdated(t, cl, "rudderctl-a-transformer")
	v2, err := cl.lambda.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("rudderctl-a-transformer")})
	must(t, err)
	if *v2.Version != "2" || v2.Environment.Variables["A"] != "2" {
		t.Fatalf("v2 %s env %v", *v2.Version, v2.Environment)
	}
	// Role propagation applies to UpdateFunctionConfiguration too.
	young := mkRole(t, cl, "young-role")
	_, err = cl.lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("rudderctl-a-transformer"), Role: aws.String(young)})
	wantCode(t, err, "InvalidParameterValueException")

	// Versions, paginated one at a time.
	var versions []string
	vp := lambda.NewListVersionsByFunctionPaginator(cl.lambda, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("rudderctl-a-transformer"), MaxItems: aws.Int32(1)})
	for vp.HasMorePages() {
		pg, err := vp.NextPage(ctx)
		must(t, err)
		for _, v := range pg.Versions {
			versions = append(versions, *v.Version)
		}
	}
	if len(versions) != 3 || versions[0] != "$LATEST" || versions[2] != "2" {
		t.Fatalf("versions %v", versions)
	}
	cfg1, err := cl.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("rudderctl-a-transformer"), Qualifier: aws.String("1")})
	must(t, err)
	if cfg1.Environment.Variables["A"] != "1" {
		t.Fatalf("version 1 is not immutable: %v", cfg1.Environment.Variables)
	}

	// Aliases.
	al, err := cl.lambda.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("rudderctl-a-transformer"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	must(t, err)
	if *al.AliasArn != "arn:aws:lambda:eu-west-1:000000000000:function:rudderctl-a-transformer:live" {
		t.Fatalf("alias arn %s", *al.AliasArn)
	}
	_, err = cl.lambda.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("rudderctl-a-transformer"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	wantCode(t, err, "ResourceConflictException")
	_, err = cl.lambda.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("rudderctl-a-transformer"), Name: aws.String("x"), FunctionVersion: aws.String("9")})
	wantCode(t, err, "ResourceNotFoundException")
	_, err = cl.lambda.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("rudderctl-a-transformer"), Name: aws.String("live"), FunctionVersion: aws.String("2")})
	must(t, err)
	ga, err := cl.lambda.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("rudderctl-a-transformer"), Name: aws.String("live")})
	must(t, err)
	if *ga.FunctionVersion != "2" {
		t.Fatalf("alias -> %s", *ga.FunctionVersion)
	}
	la, err := cl.lambda.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String("rudderctl-a-transformer")})
	must(t, err)
	if len(la.Aliases) != 1 {
		t.Fatalf("aliases %d", len(la.Aliases))
	}
	// GetFunction through the alias resolves to version 2.
	viaAlias, err := cl.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("rudderctl-a-transformer:live")})
	must(t, err)
	if *viaAlias.Configuration.Version != "2" {
		t.Fatalf("alias resolves to %s", *viaAlias.Configuration.Version)
	}
	_, err = cl.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("rudderctl-a-transformer"), Qualifier: aws.String("2")})
	wantCode(t, err, "ResourceConflictException")
	_, err = cl.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("rudderctl-a-transformer"), Qualifier: aws.String("1")})
	must(t, err)

	// Permissions.
	perm := &lambda.AddPermissionInput{
		FunctionName: aws.String("rudderctl-a-transformer"), Qualifier: aws.String("live"), StatementId: aws.String("apigw"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com"),
		SourceArn: aws.String("arn:aws:execute-api:eu-west-1:000000000000:abc/*/*"),
	}
	_, err = cl.lambda.AddPermission(ctx, perm)
	must(t, err)
	_, err = cl.lambda.AddPermission(ctx, perm)
	wantCode(t, err, "ResourceConflictException")
	pol, err := cl.lambda.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("rudderctl-a-transformer"), Qualifier: aws.String("live")})
	must(t, err)
	var doc struct {
		Statement []struct {
			Sid       string
			Principal map[string]string
			Condition map[string]map[string]string
		}
	}
	must(t, json.Unmarshal([]byte(*pol.Policy), &doc))
	if len(doc.Statement) != 1 || doc.Statement[0].Sid != "apigw" || doc.Statement[0].Principal["Service"] != "apigateway.amazonaws.com" ||
		doc.Statement[0].Condition["ArnLike"]["AWS:SourceArn"] == "" {
		t.Fatalf("policy %s", *pol.Policy)
	}
	_, err = cl.lambda.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("rudderctl-a-transformer")})
	wantCode(t, err, "ResourceNotFoundException")
	_, err = cl.lambda.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("rudderctl-a-transformer"), Qualifier: aws.String("live"), StatementId: aws.String("apigw")})
	must(t, err)
	_, err = cl.lambda.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("rudderctl-a-transformer"), Qualifier: aws.String("live"), StatementId: aws.String("apigw")})
	wantCode(t, err, "ResourceNotFoundException")

	// Tags.
	fnArn := "arn:aws:lambda:eu-west-1:000000000000:function:rudderctl-a-transformer"
	_, err = cl.lambda.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(fnArn), Tags: map[string]string{"k": "v"}})
	must(t, err)
	_, err = cl.lambda.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(fnArn), TagKeys: []string{"rudderctl:stack"}})
	must(t, err)
	lt, err := cl.lambda.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(fnArn)})
	must(t, err)
	if len(lt.Tags) != 1 || lt.Tags["k"] != "v" {
		t.Fatalf("tags %v", lt.Tags)
	}

	// ListFunctions pagination.
	for _, n := range []string{"f1", "f2", "f3"} {
		_, err := cl.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(n), Runtime: ltypes.RuntimeNodejs24x, Role: aws.String(role), Handler: aws.String("h.h"), Code: &ltypes.FunctionCode{ZipFile: zip1}})
		must(t, err)
	}
	var fnames []string
	fp := lambda.NewListFunctionsPaginator(cl.lambda, &lambda.ListFunctionsInput{MaxItems: aws.Int32(2)})
	for fp.HasMorePages() {
		pg, err := fp.NextPage(ctx)
		must(t, err)
		for _, f := range pg.Functions {
			fnames = append(fnames, *f.FunctionName)
		}
	}
	if len(fnames) != 4 {
		t.Fatalf("functions %v", fnames)
	}

	_, err = cl.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(fnArn)})
	must(t, err)
	_, err = cl.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("rudderctl-a-transformer")})
	var rnf *ltypes.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("want ResourceNotFoundException, got %v", err)
	}
	_, err = cl.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("rudderctl-a-transformer")})
	wantCode(t, err, "ResourceNotFoundException")
}

func waitUpdated(t *testing.T, cl clients, name string) {
	t.Helper()
	must(t, lambda.NewFunctionUpdatedV2Waiter(cl.lambda).Wait(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 10*time.Second,
		func(o *lambda.FunctionUpdatedV2WaiterOptions) {
			o.MinDelay = 100 * time.Millisecond
			o.MaxDelay = 200 * time.Millisecond
		}))
}

func TestAPIGatewayControlPlane(t *testing.T) {
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()
	api, err := cl.apigw.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("rudderctl-a-transformer"), ProtocolType: agtypes.ProtocolTypeHttp, Tags: map[string]string{"rudderctl:stack": "a"}})
	must(t, err)
	if api.ApiEndpoint == nil || *api.RouteSelectionExpression != "$request.method $request.path" || api.CreatedDate == nil {
		t.Fatalf("api %+v", api)
	}
	u, err := url.Parse(*api.ApiEndpoint)
	must(t, err)
	if u.Hostname() != "127.0.0.1" || u.Port() == "" {
		t.Fatalf("endpoint %s", *api.ApiEndpoint)
	}
	for i := 0; i < 4; i++ {
		_, err := cl.apigw.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("other"), ProtocolType: agtypes.ProtocolTypeHttp})
		must(t, err)
	}
	n, pages := 0, 0
	var token *string
	for {
		pg, err := cl.apigw.GetApis(ctx, &apigatewayv2.GetApisInput{MaxResults: aws.String("2"), NextToken: token})
		must(t, err)
		pages++
		n += len(pg.Items)
		if pg.NextToken == nil {
			break
		}
		token = pg.NextToken
	}
	if n != 5 || pages != 3 {
		t.Fatalf("GetApis: %d items in %d pages", n, pages)
	}
	_, err = cl.apigw.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: aws.String("nope")})
	var nf *agtypes.NotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("want NotFoundException, got %v", err)
	}
	uapi, err := cl.apigw.UpdateApi(ctx, &apigatewayv2.UpdateApiInput{ApiId: api.ApiId, Description: aws.String("d")})
	must(t, err)
	if *uapi.Description != "d" || *uapi.Name != "rudderctl-a-transformer" {
		t.Fatalf("update %+v", uapi)
	}

	target := "arn:aws:lambda:eu-west-1:000000000000:function:rudderctl-a-transformer:live"
	integ, err := cl.apigw.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: agtypes.IntegrationTypeAwsProxy,
		IntegrationUri: aws.String(target), PayloadFormatVersion: aws.String("2.0"), TimeoutInMillis: aws.Int32(30000)})
	must(t, err)
	if *integ.IntegrationUri != target || *integ.PayloadFormatVersion != "2.0" {
		t.Fatalf("integration %+v", integ)
	}
	_, err = cl.apigw.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: agtypes.IntegrationTypeAwsProxy, IntegrationUri: aws.String(target), PayloadFormatVersion: aws.String("2.0"), TimeoutInMillis: aws.Int32(60000)})
	wantCode(t, err, "BadRequestException")
	gi, err := cl.apigw.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: api.ApiId})
	must(t, err)
	if len(gi.Items) != 1 {
		t.Fatalf("integrations %d", len(gi.Items))
	}
	ui, err := cl.apigw.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: api.ApiId, IntegrationId: integ.IntegrationId, TimeoutInMillis: aws.Int32(10000)})
	must(t, err)
	if *ui.TimeoutInMillis != 10000 {
		t.Fatalf("timeout %d", *ui.TimeoutInMillis)
	}

	rt, err := cl.apigw.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("ANY /{proxy+}"), Target: aws.String("integrations/" + *integ.IntegrationId)})
	must(t, err)
	_, err = cl.apigw.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("ANY /{proxy+}")})
	wantCode(t, err, "ConflictException")
	_, err = cl.apigw.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("FETCH /x")})
	wantCode(t, err, "BadRequestException")
	grt, err := cl.apigw.GetRoute(ctx, &apigatewayv2.GetRouteInput{ApiId: api.ApiId, RouteId: rt.RouteId})
	must(t, err)
	if *grt.Target != "integrations/"+*integ.IntegrationId {
		t.Fatalf("route %+v", grt)
	}
	_, err = cl.apigw.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: api.ApiId, RouteId: rt.RouteId, RouteKey: aws.String("POST /{proxy+}")})
	must(t, err)
	routes, err := cl.apigw.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: api.ApiId})
	must(t, err)
	if len(routes.Items) != 1 || *routes.Items[0].RouteKey != "POST /{proxy+}" {
		t.Fatalf("routes %+v", routes.Items)
	}
	_, err = cl.apigw.DeleteIntegration(ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: api.ApiId, IntegrationId: integ.IntegrationId})
	wantCode(t, err, "ConflictException")

	st, err := cl.apigw.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("$default"), AutoDeploy: aws.Bool(true), Tags: map[string]string{"rudderctl:stack": "a"}})
	must(t, err)
	if !*st.AutoDeploy || *st.StageName != "$default" {
		t.Fatalf("stage %+v", st)
	}
	_, err = cl.apigw.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("$default")})
	wantCode(t, err, "ConflictException")
	gs, err := cl.apigw.GetStages(ctx, &apigatewayv2.GetStagesInput{ApiId: api.ApiId})
	must(t, err)
	if len(gs.Items) != 1 {
		t.Fatalf("stages %d", len(gs.Items))
	}
	_, err = cl.apigw.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: api.ApiId, StageName: aws.String("$default")})
	must(t, err)

	apiArn := "arn:aws:apigateway:eu-west-1::/apis/" + *api.ApiId
	_, err = cl.apigw.TagResource(ctx, &apigatewayv2.TagResourceInput{ResourceArn: aws.String(apiArn), Tags: map[string]string{"k": "v"}})
	must(t, err)
	_, err = cl.apigw.UntagResource(ctx, &apigatewayv2.UntagResourceInput{ResourceArn: aws.String(apiArn), TagKeys: []string{"k"}})
	must(t, err)
	tags, err := cl.apigw.GetTags(ctx, &apigatewayv2.GetTagsInput{ResourceArn: aws.String(apiArn)})
	must(t, err)
	if len(tags.Tags) != 1 || tags.Tags["rudderctl:stack"] != "a" {
		t.Fatalf("tags %v", tags.Tags)
	}
	res := c.Resources("rudderctl:stack", "a")
	if len(res) != 2 {
		t.Fatalf("resources %+v", res)
	}

	_, err = cl.apigw.DeleteStage(ctx, &apigatewayv2.DeleteStageInput{ApiId: api.ApiId, StageName: aws.String("$default")})
	must(t, err)
	_, err = cl.apigw.DeleteRoute(ctx, &apigatewayv2.DeleteRouteInput{ApiId: api.ApiId, RouteId: rt.RouteId})
	must(t, err)
	_, err = cl.apigw.DeleteIntegration(ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: api.ApiId, IntegrationId: integ.IntegrationId})
	must(t, err)
	_, err = cl.apigw.DeleteApi(ctx, &apigatewayv2.DeleteApiInput{ApiId: api.ApiId})
	must(t, err)
	_, err = cl.apigw.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: api.ApiId})
	wantCode(t, err, "NotFoundException")
}

func TestLambdaUnzippedLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 263 MB (unzipped) zip")
	}
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()
	role := mkRole(t, cl, "limit-role")
	big := testfn.Zip(t, []testfn.File{{Name: "zeros.bin", Mode: 0o644, Data: make([]byte, 263_000_000)}})
	_, err := cl.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("big"), Runtime: ltypes.RuntimeNodejs22x,
		Role: aws.String(role), Handler: aws.String("h.h"), Code: &ltypes.FunctionCode{ZipFile: big}})
	wantCode(t, err, "InvalidParameterValueException")
	// Exactly one architecture, from the allowed set.
	_, err = cl.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("arch"), Runtime: ltypes.RuntimeNodejs22x,
		Role: aws.String(role), Handler: aws.String("h.h"), Code: &ltypes.FunctionCode{ZipFile: dummyZip(t, "a")},
		Architectures: []ltypes.Architecture{"x86_64", "arm64"}})
	wantCode(t, err, "InvalidParameterValueException")
}
