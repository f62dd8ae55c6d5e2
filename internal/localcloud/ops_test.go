package localcloud

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

func TestFaultsThrottleAndErrorShapes(t *testing.T) {
	c := startCloud(t, Options{Faults: "throttle=1"})
	cl := sdk(c, false)
	ctx := context.Background()
	_, err := cl.lambda.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	var tmr *ltypes.TooManyRequestsException
	if !asError(err, &tmr) {
		t.Fatalf("lambda: want TooManyRequestsException, got %v", err)
	}
	_, err = cl.iam.ListRoles(ctx, &iam.ListRolesInput{})
	wantCode(t, err, "Throttling")
	_, err = cl.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "Throttling")
	_, err = cl.apigw.GetApis(ctx, &apigatewayv2.GetApisInput{})
	var atmr *agtypes.TooManyRequestsException
	if !asError(err, &atmr) {
		t.Fatalf("apigateway: want TooManyRequestsException, got %v", err)
	}
	_, err = cl.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	wantCode(t, err, "ThrottlingException")

	must(t, c.SetFaults("error=1"))
	_, err = cl.lambda.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	var se *ltypes.ServiceException
	if !asError(err, &se) {
		t.Fatalf("lambda: want ServiceException, got %v", err)
	}
	_, err = cl.iam.ListRoles(ctx, &iam.ListRolesInput{})
	wantCode(t, err, "ServiceFailure")
	if err := c.SetFaults("throttle=2"); err == nil {
		t.Fatal("throttle=2 accepted")
	}
	if err := c.SetFaults("bogus=1"); err == nil {
		t.Fatal("unknown fault accepted")
	}
}

func TestFaultsRetriedBySDK(t *testing.T) {
	c := startCloud(t, Options{Faults: "throttle=0.3,error=0.1,latency=2ms,seed=42"})
	ctx := context.Background()
	// With the retryer disabled, some calls fail...
	raw := sdk(c, false)
	failed := 0
	for i := 0; i < 30; i++ {
		if _, err := raw.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("no call failed with throttle=0.3,error=0.1")
	}
	// ...with the SDK's standard retryer (more attempts, short backoff) they all succeed.
	cl := sdk(c, true)
	cl.cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 10; o.MaxBackoff = 20 * time.Millisecond })
	}
	cl.iam = iam.NewFromConfig(cl.cfg)
	for i := 0; i < 30; i++ {
		_, err := cl.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("role-%d", i)), AssumeRolePolicyDocument: aws.String(trustPolicy)})
		if err != nil && errCode(err) != "EntityAlreadyExists" {
			t.Fatalf("call %d with retries: %v", i, err)
		}
	}
	must(t, c.SetFaults(""))
	out, err := cl.iam.ListRoles(ctx, &iam.ListRolesInput{})
	must(t, err)
	if len(out.Roles) != 30 {
		t.Fatalf("%d roles", len(out.Roles))
	}
}

func TestFailMutatingAndStats(t *testing.T) {
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()
	must(t, c.SetFaults("fail-mutating=2"))
	_, err := cl.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("a"), AssumeRolePolicyDocument: aws.String(trustPolicy)})
	must(t, err)
	_, err = cl.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("a")}) // reads do not count
	must(t, err)
	_, err = cl.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("b"), AssumeRolePolicyDocument: aws.String(trustPolicy)})
	var ae smithy.APIError
	if !asError(err, &ae) || ae.ErrorCode() != "ServiceFailure" {
		t.Fatalf("second mutating call: want injected 500, got %v", err)
	}
	_, err = cl.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("b")})
	wantCode(t, err, "NoSuchEntity") // the failed call changed nothing
	_, err = cl.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("b"), AssumeRolePolicyDocument: aws.String(trustPolicy)})
	must(t, err) // only once

	s := c.Stats()
	if s.Calls != 5 || s.MutatingCalls != 3 || s.ByOperation["iam:CreateRole"] != 3 || s.ByOperation["iam:GetRole"] != 2 {
		t.Fatalf("stats %+v", s)
	}
	c.ResetStats()
	_, err = cl.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	must(t, err)
	if s := c.Stats(); s.Calls != 1 || s.MutatingCalls != 0 {
		t.Fatalf("after reset %+v", s)
	}

	// The admin endpoints: never faulted, never counted.
	must(t, c.SetFaults("throttle=1"))
	resp, err := http.Get(c.Endpoint() + "/_localcloud/stats")
	must(t, err)
	var hs Stats
	must(t, json.NewDecoder(resp.Body).Decode(&hs))
	resp.Body.Close()
	if resp.StatusCode != 200 || hs.Calls != 1 {
		t.Fatalf("GET stats: %d %+v", resp.StatusCode, hs)
	}
	resp, err = http.Post(c.Endpoint()+"/_localcloud/faults", "text/plain", strings.NewReader("latency=1ms"))
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST faults: %d", resp.StatusCode)
	}
	_, err = cl.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	must(t, err) // throttle=1 replaced
	resp, err = http.Post(c.Endpoint()+"/_localcloud/faults", "text/plain", strings.NewReader("nonsense"))
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("bad spec: %d", resp.StatusCode)
	}
	resp, err = http.Post(c.Endpoint()+"/_localcloud/stats/reset", "", nil)
	must(t, err)
	resp.Body.Close()
	if s := c.Stats(); s.Calls != 0 {
		t.Fatalf("after HTTP reset %+v", s)
	}
	_, err = cl.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("a"), Tags: []iamtypes.Tag{{Key: aws.String("rudderctl:stack"), Value: aws.String("s1")}}})
	must(t, err)
	resp, err = http.Get(c.Endpoint() + "/_localcloud/resources?tag=rudderctl:stack=s1")
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var res []Resource
	must(t, json.Unmarshal(body, &res))
	if len(res) != 1 || res[0].Name != "a" || res[0].Type != "role" {
		t.Fatalf("resources %s", body)
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, Options{StateDir: dir})
	cl := sdk(c, false)
	ctx := context.Background()
	role := mkRole(t, cl, "persist-role")
	zip := dummyZip(t, "persist")
	_, err := cl.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("pf"), Runtime: ltypes.RuntimeNodejs22x, Role: aws.String(role),
		Handler: aws.String("h.h"), Code: &ltypes.FunctionCode{ZipFile: zip}, Publish: true, Tags: map[string]string{"rudderctl:stack": "p"}})
	must(t, err)
	_, err = cl.lambda.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("pf"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	must(t, err)
	_, err = cl.lambda.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("pf"), Qualifier: aws.String("live"), StatementId: aws.String("s"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com")})
	must(t, err)
	api, err := cl.apigw.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("pa"), ProtocolType: agtypes.ProtocolTypeHttp})
	must(t, err)
	_, err = cl.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/aws/lambda/pf")})
	must(t, err)
	_, err = cl.logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/aws/lambda/pf"), LogStreamName: aws.String("s")})
	must(t, err)
	_, err = cl.logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("/aws/lambda/pf"), LogStreamName: aws.String("s"),
		LogEvents: []cwtypes.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("kept")}}})
	must(t, err)
	must(t, c.Close())

	c2 := startCloud(t, Options{StateDir: dir})
	cl2 := sdk(c2, false)
	_, err = cl2.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("persist-role")})
	must(t, err)
	gf, err := cl2.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("pf"), Qualifier: aws.String("live")})
	must(t, err)
	if *gf.Configuration.Version != "1" || gf.Tags["rudderctl:stack"] != "p" {
		t.Fatalf("after restart: %+v", gf.Configuration)
	}
	_, err = cl2.lambda.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("pf"), Qualifier: aws.String("live")})
	must(t, err)
	// The code is still there.
	resp, err := http.Get(*gf.Code.Location)
	must(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != string(zip) {
		t.Fatalf("code after restart: %d bytes", len(b))
	}
	api2, err := cl2.apigw.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: api.ApiId})
	must(t, err)
	if *api2.ApiEndpoint != *api.ApiEndpoint {
		t.Fatalf("api endpoint changed across restart: %s -> %s", *api.ApiEndpoint, *api2.ApiEndpoint)
	}
	ev, err := cl2.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/lambda/pf"), LogStreamName: aws.String("s")})
	must(t, err)
	if len(ev.Events) != 1 || *ev.Events[0].Message != "kept" {
		t.Fatalf("log events after restart: %+v", ev.Events)
	}
}

func TestLogs(t *testing.T) {
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()
	for _, n := range []string{"/aws/lambda/a", "/aws/lambda/b", "/aws/lambda/c", "/other"} {
		_, err := cl.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(n), Tags: map[string]string{"rudderctl:stack": "l"}})
		must(t, err)
	}
	_, err := cl.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/other")})
	wantCode(t, err, "ResourceAlreadyExistsException")
	var names []string
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(cl.logs, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/"), Limit: aws.Int32(2)})
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		must(t, err)
		for _, g := range pg.LogGroups {
			names = append(names, *g.LogGroupName)
		}
	}
	if len(names) != 3 {
		t.Fatalf("groups %v", names)
	}
	_, err = cl.logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/a"), RetentionInDays: aws.Int32(14)})
	must(t, err)
	_, err = cl.logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/a"), RetentionInDays: aws.Int32(13)})
	wantCode(t, err, "InvalidParameterException")
	dg, err := cl.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/a")})
	must(t, err)
	if *dg.LogGroups[0].RetentionInDays != 14 {
		t.Fatalf("retention %v", dg.LogGroups[0].RetentionInDays)
	}
	arn := *dg.LogGroups[0].LogGroupArn
	_, err = cl.logs.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"k": "v"}})
	must(t, err)
	_, err = cl.logs.UntagResource(ctx, &cloudwatchlogs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"k"}})
	must(t, err)
	lt, err := cl.logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	must(t, err)
	if len(lt.Tags) != 1 || lt.Tags["rudderctl:stack"] != "l" {
		t.Fatalf("tags %v", lt.Tags)
	}
	_, err = cl.logs.TagLogGroup(ctx, &cloudwatchlogs.TagLogGroupInput{LogGroupName: aws.String("/aws/lambda/a"), Tags: map[string]string{"old": "api"}})
	must(t, err)
	ltg, err := cl.logs.ListTagsLogGroup(ctx, &cloudwatchlogs.ListTagsLogGroupInput{LogGroupName: aws.String("/aws/lambda/a")})
	must(t, err)
	if ltg.Tags["old"] != "api" {
		t.Fatalf("legacy tags %v", ltg.Tags)
	}

	g := aws.String("/aws/lambda/a")
	now := time.Now().UnixMilli()
	for _, s := range []string{"s1", "s2"} {
		_, err = cl.logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: g, LogStreamName: aws.String(s)})
		must(t, err)
		var evs []cwtypes.InputLogEvent
		for i := 0; i < 5; i++ {
			evs = append(evs, cwtypes.InputLogEvent{Timestamp: aws.Int64(now + int64(i)), Message: aws.String(fmt.Sprintf("%s line %d ERROR=%v", s, i, i%2 == 0))})
		}
		_, err = cl.logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: g, LogStreamName: aws.String(s), LogEvents: evs})
		must(t, err)
	}
	ds, err := cl.logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, OrderBy: cwtypes.OrderByLastEventTime, Descending: aws.Bool(true)})
	must(t, err)
	if len(ds.LogStreams) != 2 || ds.LogStreams[0].LastEventTimestamp == nil {
		t.Fatalf("streams %+v", ds.LogStreams)
	}
	ge, err := cl.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: g, LogStreamName: aws.String("s1"), StartFromHead: aws.Bool(true), Limit: aws.Int32(3)})
	must(t, err)
	if len(ge.Events) != 3 || *ge.Events[0].Message != "s1 line 0 ERROR=true" {
		t.Fatalf("get events %+v", ge.Events)
	}
	ge2, err := cl.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: g, LogStreamName: aws.String("s1"), NextToken: ge.NextForwardToken})
	must(t, err)
	if len(ge2.Events) != 2 {
		t.Fatalf("forward page %d", len(ge2.Events))
	}
	// FilterLogEvents: substring pattern, time window, pagination.
	var msgs []string
	fp := cloudwatchlogs.NewFilterLogEventsPaginator(cl.logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(`"ERROR=true"`), StartTime: aws.Int64(now), Limit: aws.Int32(2)})
	for fp.HasMorePages() {
		pg, err := fp.NextPage(ctx)
		must(t, err)
		for _, e := range pg.Events {
			msgs = append(msgs, *e.Message)
		}
	}
	if len(msgs) != 6 {
		t.Fatalf("filtered %v", msgs)
	}
	fe, err := cl.logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, StartTime: aws.Int64(now + 4)})
	must(t, err)
	if len(fe.Events) != 2 {
		t.Fatalf("startTime filter: %d", len(fe.Events))
	}
	_, err = cl.logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: g})
	must(t, err)
	_, err = cl.logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: g})
	var rnf *cwtypes.ResourceNotFoundException
	if !asError(err, &rnf) {
		t.Fatalf("want ResourceNotFoundException, got %v", err)
	}
}
