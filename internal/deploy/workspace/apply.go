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

// applier carries out the workspace's changes, learning ids as it goes (the function's
// ARN, the version it published, the integration it created). Each action is its own small
// kind (kinds), so the engine calls exactly one function per change: no switch on actions.
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

type step = func(context.Context, engine.Change) error

// makes is the kind of an action that creates or changes (the engine may call it as either
// verb: a "missing" resource is a create); removes, of one that deletes (the engine then
// treats "not found" as done).
func makes(act engine.Action, fn step) engine.Kind {
	return engine.Func{Acts: []engine.Action{act}, OnCreate: fn, OnUpdate: fn}
}

func removes(act engine.Action, fn step) engine.Kind {
	return engine.Func{Acts: []engine.Action{act}, OnDelete: fn}
}

// kinds are the workspace's own actions and the shared kinds of the role and the log group.
func (a *applier) kinds() []engine.Kind {
	d := a.d
	return []engine.Kind{
		makes(CreateFunction, a.createFunction),
		makes(TagFunction, a.tagFunction),
		makes(UpdateCode, a.updateCode),
		makes(UpdateConfig, a.updateConfig),
		makes(PublishVersion, a.publishVersion),
		makes(CreateAlias, a.moveAlias),
		makes(UpdateAlias, a.moveAlias),
		makes(AddPermission, a.addPermission),
		makes(CreateIntegration, a.createIntegration),
		makes(CreateRoute, a.createRoute),
		makes(UpdateRoute, a.updateRoute),
		removes(RemovePermission, a.removePermission),
		removes(DeleteRoute, a.deleteRoute),
		removes(DeleteIntegration, a.deleteIntegration),
		removes(DeleteFunction, a.deleteFunction),
		kinds.RoleKind{C: a.c, Spec: roleSpec(d), ARN: &a.roleARN},
		kinds.RolePolicyKind{C: a.c, Spec: roleSpec(d)},
		kinds.RoleTags(a.c, d.Role, d.Stack),
		kinds.LogGroupKind{C: a.c, Spec: logGroupSpec(d)},
		kinds.LogGroupTags(a.c, logGroupARN(d.Region, d.Account, d.LogGroup), d.Stack),
	}
}

func (a *applier) tagFunction(ctx context.Context, _ engine.Change) error {
	return a.c.Lambda().TagFunction(ctx, a.fnARN, a.d.Tags())
}

// settled runs call between two waits for the function's last update: Lambda refuses a
// change while an earlier one is in progress, and the next step needs this one finished.
func (a *applier) settled(ctx context.Context, call func() error) error {
	if err := a.waitUpdated(ctx); err != nil {
		return err
	}
	if err := call(); err != nil {
		return err
	}
	return a.waitUpdated(ctx)
}

func (a *applier) updateCode(ctx context.Context, _ engine.Change) error {
	return a.settled(ctx, func() error {
		return a.c.Lambda().UpdateCode(ctx, a.d.Function, lambdaapi.Code{Zip: a.d.Zip}, "")
	})
}

func (a *applier) updateConfig(ctx context.Context, _ engine.Change) error {
	return a.settled(ctx, func() error { return a.c.Lambda().UpdateConfig(ctx, a.d.Function, a.lambdaConfig()) })
}

func (a *applier) publishVersion(ctx context.Context, _ engine.Change) error {
	if err := a.waitUpdated(ctx); err != nil {
		return err
	}
	v, err := a.c.Lambda().PublishVersion(ctx, a.d.Function, a.d.CodeSha256, a.d.Description)
	if err == nil {
		a.published = v
	}
	return err
}

// moveAlias points live at the change's version (or the one just published) once that
// version passed its check; a create that finds the alias already there moves it.
func (a *applier) moveAlias(ctx context.Context, ch engine.Change) error {
	fn := a.c.Lambda()
	target := ch.Target
	if target == "" {
		target = a.published
	}
	if err := a.check(ctx, target); err != nil {
		return err
	}
	if ch.Action == CreateAlias {
		_, err := fn.CreateAlias(ctx, a.d.Function, AliasName, target, "")
		if !errors.Is(err, awsapi.ErrAlreadyExists) {
			return err
		}
	}
	_, err := fn.UpdateAlias(ctx, a.d.Function, AliasName, target)
	return err
}

func (a *applier) addPermission(ctx context.Context, _ engine.Change) error {
	d := a.d
	err := a.c.Lambda().AddPermission(ctx, d.Function, AliasName, lambdaapi.Permission{StatementID: StatementID,
		Action: "lambda:InvokeFunction", Principal: "apigateway.amazonaws.com", SourceARN: sourceARN(d.Region, d.Account, d.APIID)})
	if errors.Is(err, awsapi.ErrAlreadyExists) {
		return nil
	}
	return err
}

func (a *applier) createIntegration(ctx context.Context, _ engine.Change) error {
	d := a.d
	id, err := a.c.APIGateway().CreateDescribedLambdaIntegration(ctx, d.APIID, d.aliasARN(a.fnARN), "rudderctl workspace server of stack "+d.Stack)
	if err == nil {
		a.integration = id
	}
	return err
}

func (a *applier) createRoute(ctx context.Context, ch engine.Change) error {
	return a.c.APIGateway().CreateRoute(ctx, a.d.APIID, ch.Target, "integrations/"+a.integration)
}

func (a *applier) updateRoute(ctx context.Context, ch engine.Change) error {
	return a.c.APIGateway().UpdateRoute(ctx, a.d.APIID, ch.Target, "integrations/"+a.integration)
}

// lambdaConfig is the function's desired configuration, with the role as it is known now.
func (a *applier) lambdaConfig() lambdaapi.Config {
	c := a.d.Config
	return lambdaapi.Config{Runtime: c.Runtime, Handler: c.Handler, Arch: c.Arch, Role: a.roleARN, Memory: c.Memory, Timeout: c.Timeout, Env: c.Env}
}

func (a *applier) removePermission(ctx context.Context, _ engine.Change) error {
	return a.c.Lambda().RemovePermission(ctx, a.d.Function, AliasName, StatementID)
}

func (a *applier) deleteRoute(ctx context.Context, ch engine.Change) error {
	return a.c.APIGateway().DeleteRoute(ctx, a.d.APIID, ch.Target)
}

func (a *applier) deleteIntegration(ctx context.Context, ch engine.Change) error {
	return a.c.APIGateway().DeleteIntegration(ctx, a.d.APIID, ch.Target)
}

func (a *applier) deleteFunction(ctx context.Context, _ engine.Change) error {
	return a.c.Lambda().DeleteFunction(ctx, a.d.Function)
}

func (a *applier) createFunction(ctx context.Context, _ engine.Change) error {
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
