package workspace

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	atypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/workspace/serve"
)

// Waiter timing, as the transformer's.
var (
	waitMin = 250 * time.Millisecond
	waitMax = 5 * time.Second
	waitFor = 10 * time.Minute
)

// applier is the one kind carrying out every workspace change; it learns ids as it goes.
type applier struct {
	c        *awsapi.Clients
	d        *desired
	progress io.Writer

	roleARN, fnARN, published, integration string
	liveBefore                             string
}

func newApplier(c *awsapi.Clients, o *observed, d *desired, progress io.Writer) *applier {
	a := &applier{c: c, d: d, progress: progress, roleARN: roleARN(d.Account, d.Role), integration: o.Integration, liveBefore: o.AliasVer}
	if o.Role != nil && o.Role.ARN != "" {
		a.roleARN = o.Role.ARN
	}
	if o.Func != nil {
		a.fnARN = o.Func.ARN
	}
	return a
}

func (a *applier) Actions() []engine.Action {
	return []engine.Action{CreateFunction, TagFunction, UpdateCode, UpdateConfig, PublishVersion, CreateAlias, UpdateAlias,
		AddPermission, RemovePermission, CreateIntegration, UpdateIntegration, CreateRoute, UpdateRoute, DeleteRoute,
		DeleteIntegration, DeleteFunction}
}

// kinds are the applier and the shared kinds of the role and the log group.
func (a *applier) kinds() []engine.Kind {
	d := a.d
	return []engine.Kind{a,
		kinds.RoleKind{C: a.c, Spec: roleSpec(d), ARN: &a.roleARN},
		kinds.RolePolicyKind{C: a.c, Spec: roleSpec(d)},
		kinds.RoleTags(a.c, d.Role, d.Stack),
		kinds.LogGroupKind{C: a.c, Spec: logGroupSpec(d)},
		kinds.LogGroupTags(a.c, logGroupARN(d.Region, d.Account, d.LogGroup), d.Stack),
	}
}

func (a *applier) Create(ctx context.Context, ch engine.Change) error { return a.Update(ctx, ch) }

func (a *applier) Update(ctx context.Context, ch engine.Change) error {
	d := a.d
	switch ch.Action {
	case CreateFunction:
		return a.createFunction(ctx)
	case TagFunction:
		_, err := a.c.Lambda.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(a.fnARN), Tags: d.Tags()})
		return err
	case UpdateCode:
		if err := a.waitUpdated(ctx); err != nil {
			return err
		}
		if _, err := a.c.Lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(d.Function), ZipFile: d.Zip}); err != nil {
			return err
		}
		return a.waitUpdated(ctx)
	case UpdateConfig:
		if err := a.waitUpdated(ctx); err != nil {
			return err
		}
		_, err := a.c.Lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(d.Function), Role: aws.String(a.roleARN), Runtime: ltypes.Runtime(d.Config.Runtime),
			Handler: aws.String(d.Config.Handler), MemorySize: aws.Int32(d.Config.Memory), Timeout: aws.Int32(d.Config.Timeout),
			Environment: &ltypes.Environment{Variables: d.Config.Env},
		})
		if err != nil {
			return err
		}
		return a.waitUpdated(ctx)
	case PublishVersion:
		if err := a.waitUpdated(ctx); err != nil {
			return err
		}
		out, err := a.c.Lambda.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(d.Function),
			CodeSha256: aws.String(d.CodeSha256), Description: aws.String(d.Description)})
		if err != nil {
			return err
		}
		a.published = aws.ToString(out.Version)
	case CreateAlias, UpdateAlias:
		target := ch.Target
		if target == "" {
			target = a.published
		}
		if err := a.check(ctx, target); err != nil {
			return err
		}
		if ch.Action == CreateAlias {
			_, err := a.c.Lambda.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(d.Function), Name: aws.String(AliasName), FunctionVersion: aws.String(target)})
			if !awsapi.IsCode(err, "ResourceConflictException") {
				return err
			}
		}
		_, err := a.c.Lambda.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(d.Function), Name: aws.String(AliasName), FunctionVersion: aws.String(target)})
		return err
	case AddPermission:
		_, err := a.c.Lambda.AddPermission(ctx, &lambda.AddPermissionInput{
			FunctionName: aws.String(d.Function), Qualifier: aws.String(AliasName), StatementId: aws.String(StatementID),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com"),
			SourceArn: aws.String(sourceARN(d.Region, d.Account, d.APIID)),
		})
		if awsapi.IsCode(err, "ResourceConflictException") {
			return nil
		}
		return err
	case CreateIntegration:
		out, err := a.c.APIGateway.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
			ApiId: aws.String(d.APIID), IntegrationType: atypes.IntegrationTypeAwsProxy,
			IntegrationUri: aws.String(d.aliasARN(a.fnARN)), PayloadFormatVersion: aws.String("2.0"),
			Description: aws.String("rudderctl workspace server of stack " + d.Stack),
		})
		if err != nil {
			return err
		}
		a.integration = aws.ToString(out.IntegrationId)
	case CreateRoute:
		_, err := a.c.APIGateway.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: aws.String(d.APIID), RouteKey: aws.String(ch.Target), Target: aws.String("integrations/" + a.integration)})
		return err
	case UpdateRoute:
		_, err := a.c.APIGateway.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: aws.String(d.APIID), RouteId: aws.String(ch.Target), Target: aws.String("integrations/" + a.integration)})
		return err
	default:
		return fmt.Errorf("internal: the workspace cannot %s", ch.Action)
	}
	return nil
}

func (a *applier) Delete(ctx context.Context, ch engine.Change) error {
	d := a.d
	var err error
	switch ch.Action {
	case RemovePermission:
		_, err = a.c.Lambda.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(d.Function), Qualifier: aws.String(AliasName), StatementId: aws.String(StatementID)})
	case DeleteRoute:
		_, err = a.c.APIGateway.DeleteRoute(ctx, &apigatewayv2.DeleteRouteInput{ApiId: aws.String(d.APIID), RouteId: aws.String(ch.Target)})
	case DeleteIntegration:
		_, err = a.c.APIGateway.DeleteIntegration(ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: aws.String(d.APIID), IntegrationId: aws.String(ch.Target)})
	case DeleteFunction:
		_, err = a.c.Lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(d.Function)})
	default:
		return fmt.Errorf("internal: the workspace cannot %s", ch.Action)
	}
	return err
}

func (a *applier) createFunction(ctx context.Context) error {
	d := a.d
	fmt.Fprintf(a.progress, "  creating with %d bytes of code (Lambda retries while the new role propagates)...\n", len(d.Zip))
	out, err := a.c.Lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(d.Function), Role: aws.String(a.roleARN), Runtime: ltypes.Runtime(d.Config.Runtime),
		Handler: aws.String(d.Config.Handler), Architectures: []ltypes.Architecture{ltypes.Architecture(d.Config.Arch)},
		MemorySize: aws.Int32(d.Config.Memory), Timeout: aws.Int32(d.Config.Timeout),
		Environment: &ltypes.Environment{Variables: d.Config.Env}, Code: &ltypes.FunctionCode{ZipFile: d.Zip},
		Description: aws.String("rudderctl workspace server (stack " + d.Stack + ")"), Tags: d.Tags(),
	})
	switch {
	case awsapi.IsCode(err, "ResourceConflictException"): // an earlier attempt got through
		g, gerr := a.c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(d.Function)})
		if gerr != nil {
			return gerr
		}
		a.fnARN = strings.TrimSuffix(aws.ToString(g.Configuration.FunctionArn), ":$LATEST")
	case err != nil:
		return err
	default:
		a.fnARN = strings.TrimSuffix(aws.ToString(out.FunctionArn), ":$LATEST")
	}
	w := lambda.NewFunctionActiveV2Waiter(a.c.Lambda, func(o *lambda.FunctionActiveV2WaiterOptions) { o.MinDelay, o.MaxDelay = waitMin, waitMax })
	return w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(d.Function)}, waitFor)
}

func (a *applier) waitUpdated(ctx context.Context) error {
	w := lambda.NewFunctionUpdatedV2Waiter(a.c.Lambda, func(o *lambda.FunctionUpdatedV2WaiterOptions) { o.MinDelay, o.MaxDelay = waitMin, waitMax })
	return w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(a.d.Function)}, waitFor)
}

// CheckError says a version failed its check, so alias live was not moved to it.
type CheckError struct{ Version, Live, Why string }

func (e *CheckError) Error() string {
	live := "nothing serves the workspace yet"
	if e.Live != "" {
		live = "version " + e.Live + " stays live"
	}
	return fmt.Sprintf("version %s of the workspace server failed its check (GET /workspaceConfig with the token): %s; alias %s was not moved, %s. Read `rudderctl logs workspace`, fix, and deploy again.", e.Version, e.Why, AliasName, live)
}

// Final: running the deploy again does not finish anything; fixing does.
func (e *CheckError) Final() {}

// check invokes version (not the alias: nothing routes to it yet) as API Gateway would with
// GET /<secret>/workspaceConfig and the token, and wants 200 before live moves to it.
func (a *applier) check(ctx context.Context, version string) error {
	d := a.d
	raw := "/" + d.Secret + serve.PathConfig
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(d.Token+":"))
	ev, _ := json.Marshal(map[string]any{
		"version": "2.0", "routeKey": "GET " + raw, "rawPath": raw, "rawQueryString": "fetchAll=true",
		"headers":        map[string]string{"authorization": auth, "user-agent": "rudderctl-deploy-check"},
		"requestContext": map[string]any{"stage": "$default", "http": map[string]any{"method": "GET", "path": raw}},
	})
	out, err := a.c.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(d.Function), Qualifier: aws.String(version), Payload: ev})
	if err != nil {
		return err
	}
	var resp struct {
		StatusCode int `json:"statusCode"`
	}
	switch {
	case out.FunctionError != nil:
		return &CheckError{Version: version, Live: a.liveBefore, Why: "the function failed (" + aws.ToString(out.FunctionError) + "): " + truncate(string(out.Payload), 300)}
	case json.Unmarshal(out.Payload, &resp) != nil || resp.StatusCode != 200:
		return &CheckError{Version: version, Live: a.liveBefore, Why: fmt.Sprintf("it answered %d", resp.StatusCode)}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
