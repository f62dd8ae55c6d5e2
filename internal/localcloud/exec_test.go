package localcloud

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/rudderctl/rudderctl/internal/testfn"
)

// echoZip packs testdata/echofn (aws-lambda-go) as a rudderctl task root.
func echoZip(t *testing.T) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Lambda bootstrap and runs the RIE")
	}
	return testfn.Zip(t, testfn.Files(t, testfn.Build(t, "./testdata/echofn"), nil))
}

func TestExecutionInvokeAndStage(t *testing.T) {
	zip := echoZip(t)
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()
	role := mkRole(t, cl, "exec-role")
	const fn = "rudderctl-e-transformer"
	_, err := cl.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(fn), Runtime: ltypes.RuntimeProvidedal2023, Role: aws.String(role),
		Handler: aws.String("rudderctl.handler"), Code: &ltypes.FunctionCode{ZipFile: zip}, Timeout: aws.Int32(2),
		Environment: &ltypes.Environment{Variables: map[string]string{"GREETING": "v1", "AWS_LAMBDA_EXEC_WRAPPER": "/var/task/rudderctl-wrapper"}},
	})
	must(t, err)
	// Invoking a Pending function conflicts, as on AWS.
	_, err = cl.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(`{}`)})
	wantCode(t, err, "ResourceConflictException")
	must(t, lambda.NewFunctionActiveV2Waiter(cl.lambda).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)}, 10*time.Second,
		func(o *lambda.FunctionActiveV2WaiterOptions) {
			o.MinDelay = 100 * time.Millisecond
			o.MaxDelay = 200 * time.Millisecond
		}))

	event := func(path string) []byte {
		return []byte(fmt.Sprintf(`{"version":"2.0","rawPath":%q,"requestContext":{"http":{"method":"GET","path":%q}}}`, path, path))
	}
	out, err := cl.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: event("/hello")})
	must(t, err)
	if out.FunctionError != nil || *out.ExecutedVersion != "$LATEST" {
		t.Fatalf("invoke: err=%v version=%v payload=%s", out.FunctionError, out.ExecutedVersion, out.Payload)
	}
	var resp struct {
		StatusCode int
		Body       string
	}
	must(t, json.Unmarshal(out.Payload, &resp))
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"greeting":"v1"`) {
		t.Fatalf("payload %s", out.Payload)
	}

	tail, err := cl.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: event("/tail"), LogType: ltypes.LogTypeTail})
	must(t, err)
	logTail, _ := base64.StdEncoding.DecodeString(aws.ToString(tail.LogResult))
	if !strings.Contains(string(logTail), "echofn: GET /tail") {
		t.Fatalf("LogType Tail: %q", logTail)
	}
	// Over the function timeout (2 s): a function error, then the environment recovers.
	out, err = cl.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: event("/sleep")})
	must(t, err)
	if out.FunctionError == nil {
		t.Fatalf("timeout: no function error: %s", out.Payload)
	}

	// A handled error and a crash are function errors, and the environment recovers.
	out, err = cl.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: event("/error")})
	must(t, err)
	if out.FunctionError == nil || !strings.Contains(string(out.Payload), "asked to fail") {
		t.Fatalf("error invoke: %v %s", out.FunctionError, out.Payload)
	}
	out, err = cl.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: event("/crash")})
	must(t, err)
	if out.FunctionError == nil {
		t.Fatalf("crash invoke: no function error: %s", out.Payload)
	}
	out, err = cl.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: event("/again")})
	must(t, err)
	if out.FunctionError != nil {
		t.Fatalf("after crash: %s", out.Payload)
	}
	// Oversize request: refused without running anything.
	_, err = cl.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(`"` + strings.Repeat("x", 6*1024*1024) + `"`)})
	wantCode(t, err, "RequestTooLargeException")

	// Publish, alias, and a code/config change: version 1 keeps its environment.
	v1, err := cl.lambda.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(fn)})
	must(t, err)
	_, err = cl.lambda.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(fn), Name: aws.String("live"), FunctionVersion: v1.Version})
	must(t, err)
	_, err = cl.lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(fn),
		Environment: &ltypes.Environment{Variables: map[string]string{"GREETING": "v2", "AWS_LAMBDA_EXEC_WRAPPER": "/var/task/rudderctl-wrapper"}}})
	must(t, err)
	waitUpdated(t, cl, fn)
	out, err = cl.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: event("/x")})
	must(t, err)
	if !strings.Contains(string(out.Payload), `\"greeting\":\"v2\"`) {
		t.Fatalf("$LATEST after config change: %s", out.Payload)
	}
	out, err = cl.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Qualifier: aws.String("live"), Payload: event("/x")})
	must(t, err)
	if *out.ExecutedVersion != "1" || !strings.Contains(string(out.Payload), `\"greeting\":\"v1\"`) {
		t.Fatalf("alias live: version %s payload %s", *out.ExecutedVersion, out.Payload)
	}

	// API Gateway: ANY /{proxy+} and POST /customTransform -> alias live.
	api, err := cl.apigw.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String(fn), ProtocolType: agtypes.ProtocolTypeHttp})
	must(t, err)
	aliasArn := "arn:aws:lambda:eu-west-1:000000000000:function:" + fn + ":live"
	integ, err := cl.apigw.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: agtypes.IntegrationTypeAwsProxy,
		IntegrationUri: aws.String(aliasArn), PayloadFormatVersion: aws.String("2.0"), TimeoutInMillis: aws.Int32(1500)})
	must(t, err)
	for _, rk := range []string{"GET /{proxy+}", "POST /customTransform"} {
		_, err = cl.apigw.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String(rk), Target: aws.String("integrations/" + *integ.IntegrationId)})
		must(t, err)
	}
	ep := *api.ApiEndpoint
	get := func(method, path string, body []byte) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, ep+path, bytes.NewReader(body))
		must(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// No $default stage yet: nothing is served.
	if code, _ := get("GET", "/a", nil); code != 404 {
		t.Fatalf("without stage: %d", code)
	}
	_, err = cl.apigw.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("$default"), AutoDeploy: aws.Bool(true)})
	must(t, err)
	// No invoke permission: API Gateway answers 500.
	if code, body := get("GET", "/a", nil); code != 500 || body != `{"message":"Internal Server Error"}` {
		t.Fatalf("without permission: %d %s", code, body)
	}
	_, err = cl.lambda.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(fn), Qualifier: aws.String("live"), StatementId: aws.String("apigw"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com"),
		SourceArn: aws.String("arn:aws:execute-api:eu-west-1:000000000000:" + *api.ApiId + "/*/*")})
	must(t, err)
	c.ResetStats()
	code, body := get("GET", "/pets/7?x=1", nil)
	if code != 200 || !strings.Contains(body, `"routeKey":"GET /{proxy+}"`) || !strings.Contains(body, `"proxy":"pets/7"`) || !strings.Contains(body, `"greeting":"v1"`) {
		t.Fatalf("GET through stage: %d %s", code, body)
	}
	code, body = get("POST", "/customTransform", []byte(`[{"a":1}]`))
	if code != 200 || !strings.Contains(body, `"routeKey":"POST /customTransform"`) || !strings.Contains(body, `[{\"a\":1}]`) {
		t.Fatalf("POST through stage: %d %s", code, body)
	}
	if s := c.Stats(); s.Calls != 0 {
		t.Fatalf("data-plane traffic was counted: %+v", s)
	}
	// No matching route: 404 without invoking.
	if code, body := get("POST", "/nope", []byte("{}")); code != 404 || body != `{"message":"Not Found"}` {
		t.Fatalf("unmatched: %d %s", code, body)
	}
	// Function error -> 500; over the integration timeout -> 503; too large -> 413.
	if code, _ := get("GET", "/error", nil); code != 500 {
		t.Fatalf("function error via stage: %d", code)
	}
	if code, body := get("GET", "/sleep", nil); code != 503 {
		t.Fatalf("timeout via stage: %d %s", code, body)
	}
	if code, _ := get("POST", "/customTransform", bytes.Repeat([]byte("x"), 10<<20+1)); code != 413 {
		t.Fatalf("10 MB request: %d", code)
	}
	if code, _ := get("POST", "/customTransform", bytes.Repeat([]byte("x"), 7<<20)); code != 413 {
		t.Fatalf("7 MB request (over Lambda's 6 MB): %d", code)
	}
	if code, _ := get("GET", "/big", nil); code != 500 {
		t.Fatalf("7 MB response: %d", code)
	}
	// Faults never touch the data plane.
	must(t, c.SetFaults("throttle=1"))
	if code, _ := get("GET", "/ok", nil); code != 200 {
		t.Fatalf("data plane under faults: %d", code)
	}
	must(t, c.SetFaults(""))

	// The main listener routes <apiId>.execute-api.localhost to the API.
	req, err := http.NewRequest("GET", c.Endpoint()+"/via/host", nil)
	must(t, err)
	req.Host = *api.ApiId + ".execute-api.localhost"
	hresp, err := http.DefaultClient.Do(req)
	must(t, err)
	hb, _ := io.ReadAll(hresp.Body)
	hresp.Body.Close()
	if hresp.StatusCode != 200 || !strings.Contains(string(hb), `"path":"/via/host"`) {
		t.Fatalf("host routing: %d %s", hresp.StatusCode, hb)
	}

	// Function output lands in /aws/lambda/<fn>.
	deadline := time.Now().Add(5 * time.Second)
	for {
		fe, err := cl.logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/" + fn), FilterPattern: aws.String(`"echofn: GET /pets/7"`)})
		if err == nil && len(fe.Events) > 0 {
			if !strings.Contains(*fe.Events[0].LogStreamName, "/[1]") {
				t.Fatalf("log stream %s", *fe.Events[0].LogStreamName)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("function output not in logs: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// REPORT lines are measured (docs/LOCALCLOUD.md): the emulator's own, which gives the
	// configured 128 MB as Max Memory Used, is gone; an environment's first has Init Duration.
	fe, err := cl.logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/" + fn), FilterPattern: aws.String(`"REPORT RequestId"`)})
	must(t, err)
	inits := 0
	for _, e := range fe.Events {
		m := aws.ToString(e.Message)
		if !strings.Contains(m, "\tMemory Size: 128 MB") || strings.Contains(m, "Max Memory Used: 128 MB") {
			t.Fatalf("REPORT line %q: want Memory Size 128 MB and a measured Max Memory Used", m)
		}
		if strings.Contains(m, "\tInit Duration: ") {
			inits++
		}
	}
	if len(fe.Events) < 3 || inits == 0 || inits == len(fe.Events) {
		t.Fatalf("%d REPORT lines, %d with Init Duration: want some, and Init Duration only on an environment's first", len(fe.Events), inits)
	}

	// Deleting the function closes its environments; the stage then answers 500.
	_, err = cl.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(fn)})
	must(t, err)
	if code, _ := get("GET", "/gone", nil); code != 500 {
		t.Fatalf("after delete: %d", code)
	}
}
