package workspace

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/lambdaapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/workspace/serve"
)

// Waiter timing, as the transformer's.
var lambdaWait = lambdaapi.Wait{MinDelay: 250 * time.Millisecond, MaxDelay: 5 * time.Second, For: 10 * time.Minute}

// applier is the one kind carrying out every workspace change; it learns ids as it goes.
type applier struct {
	c        *awsapi.Session
	d        *desired
	progress io.Writer

	roleARN, fnARN, published, integration string
	liveBefore                             string
}

func newApplier(c *awsapi.Session, o *observed, d *desired, progress io.Writer) *applier {
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
	fn, apigw := a.c.Lambda(), a.c.APIGateway()
	switch ch.Action {
	case CreateFunction:
		return a.createFunction(ctx)
	case TagFunction:
		return fn.TagFunction(ctx, a.fnARN, d.Tags())
	case UpdateCode:
		if err := a.waitUpdated(ctx); err != nil {
			return err
		}
		if err := fn.UpdateCode(ctx, d.Function, lambdaapi.Code{Zip: d.Zip}, ""); err != nil {
			return err
		}
		return a.waitUpdated(ctx)
	case UpdateConfig:
		if err := a.waitUpdated(ctx); err != nil {
			return err
		}
		if err := fn.UpdateConfig(ctx, d.Function, a.lambdaConfig()); err != nil {
			return err
		}
		return a.waitUpdated(ctx)
	case PublishVersion:
		if err := a.waitUpdated(ctx); err != nil {
			return err
		}
		v, err := fn.PublishVersion(ctx, d.Function, d.CodeSha256, d.Description)
		if err != nil {
			return err
		}
		a.published = v
	case CreateAlias, UpdateAlias:
		target := ch.Target
		if target == "" {
			target = a.published
		}
		if err := a.check(ctx, target); err != nil {
			return err
		}
		if ch.Action == CreateAlias {
			_, err := fn.CreateAlias(ctx, d.Function, AliasName, target, "")
			if !errors.Is(err, awsapi.ErrAlreadyExists) {
				return err
			}
		}
		_, err := fn.UpdateAlias(ctx, d.Function, AliasName, target)
		return err
	case AddPermission:
		err := fn.AddPermission(ctx, d.Function, AliasName, lambdaapi.Permission{StatementID: StatementID,
			Action: "lambda:InvokeFunction", Principal: "apigateway.amazonaws.com", SourceARN: sourceARN(d.Region, d.Account, d.APIID)})
		if errors.Is(err, awsapi.ErrAlreadyExists) {
			return nil
		}
		return err
	case CreateIntegration:
		id, err := apigw.CreateDescribedLambdaIntegration(ctx, d.APIID, d.aliasARN(a.fnARN), "rudderctl workspace server of stack "+d.Stack)
		if err != nil {
			return err
		}
		a.integration = id
	case CreateRoute:
		return apigw.CreateRoute(ctx, d.APIID, ch.Target, "integrations/"+a.integration)
	case UpdateRoute:
		return apigw.UpdateRoute(ctx, d.APIID, ch.Target, "integrations/"+a.integration)
	default:
		return fmt.Errorf("internal: the workspace cannot %s", ch.Action)
	}
	return nil
}

// lambdaConfig is the function's desired configuration, with the role as it is known now.
func (a *applier) lambdaConfig() lambdaapi.Config {
	c := a.d.Config
	return lambdaapi.Config{Runtime: c.Runtime, Handler: c.Handler, Arch: c.Arch, Role: a.roleARN, Memory: c.Memory, Timeout: c.Timeout, Env: c.Env}
}

func (a *applier) Delete(ctx context.Context, ch engine.Change) error {
	d := a.d
	switch ch.Action {
	case RemovePermission:
		return a.c.Lambda().RemovePermission(ctx, d.Function, AliasName, StatementID)
	case DeleteRoute:
		return a.c.APIGateway().DeleteRoute(ctx, d.APIID, ch.Target)
	case DeleteIntegration:
		return a.c.APIGateway().DeleteIntegration(ctx, d.APIID, ch.Target)
	case DeleteFunction:
		return a.c.Lambda().DeleteFunction(ctx, d.Function)
	default:
		return fmt.Errorf("internal: the workspace cannot %s", ch.Action)
	}
}

func (a *applier) createFunction(ctx context.Context) error {
	d := a.d
	fn := a.c.Lambda()
	fmt.Fprintf(a.progress, "  creating with %d bytes of code (Lambda retries while the new role propagates)...\n", len(d.Zip))
	arn, err := fn.CreateFunction(ctx, lambdaapi.FunctionSpec{Name: d.Function, Config: a.lambdaConfig(), Code: lambdaapi.Code{Zip: d.Zip},
		Description: "rudderctl workspace server (stack " + d.Stack + ")", Tags: d.Tags()})
	switch {
	case errors.Is(err, awsapi.ErrAlreadyExists): // an earlier attempt got through
		f, ferr := fn.FindFunction(ctx, d.Function)
		if ferr != nil {
			return ferr
		}
		arn = f.ARN
	case err != nil:
		return err
	}
	a.fnARN = strings.TrimSuffix(arn, ":$LATEST")
	return fn.WaitActive(ctx, d.Function, lambdaWait)
}

func (a *applier) waitUpdated(ctx context.Context) error {
	return a.c.Lambda().WaitUpdated(ctx, a.d.Function, lambdaWait)
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
	out, err := a.c.Lambda().Invoke(ctx, d.Function, version, ev)
	if err != nil {
		return err
	}
	var resp struct {
		StatusCode int `json:"statusCode"`
	}
	switch {
	case out.FunctionError != "":
		return &CheckError{Version: version, Live: a.liveBefore, Why: "the function failed (" + out.FunctionError + "): " + truncate(string(out.Payload), 300)}
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
