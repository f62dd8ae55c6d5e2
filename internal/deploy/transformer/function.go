package transformer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/lambdaapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// The Lambda function: created with its code; its code (with the architecture) and its
// configuration updated apart, each only when it differs. Found by observeFunction.

// planFunction plans the function.
func planFunction(o *Observed, d *Desired) ([]Change, error) {
	if o.Func == nil {
		return []Change{{Action: CreateFunction, Resource: "Lambda function", Name: d.Function, Reason: "missing"}}, nil
	}
	if o.Func.OtherStack != "" {
		return nil, stack.OwnedByOther("Lambda function", d.Function, o.Func.OtherStack)
	}
	var cs []Change
	if !o.Func.Tagged {
		cs = append(cs, kinds.TagChange(TagFunction, "Lambda function", d.Function))
	}
	// The architecture goes with the code (UpdateFunctionCode), the rest with the configuration.
	switch {
	case o.Func.CodeSha256 != d.CodeSha256:
		cs = append(cs, Change{Action: UpdateCode, Resource: "Lambda function", Name: d.Function, Reason: "code changed"})
	case o.Func.Config.Arch != d.Config.Arch:
		cs = append(cs, Change{Action: UpdateCode, Resource: "Lambda function", Name: d.Function, Reason: "architecture " + o.Func.Config.Arch + " -> " + d.Config.Arch})
	}
	cur := o.Func.Config
	cur.Arch = d.Config.Arch
	if diff := cur.Diff(d.Config); len(diff) > 0 {
		cs = append(cs, Change{Action: UpdateConfig, Resource: "Lambda function", Name: d.Function, Reason: strings.Join(diff, ", ")})
	}
	return cs, nil
}

// functionKind creates (and waits for Active) and deletes the function.
type functionKind struct {
	*run
	engine.Unsupported
}

func (k functionKind) Actions() []engine.Action {
	return []engine.Action{CreateFunction, DeleteFunction}
}

func (k functionKind) Create(ctx context.Context, _ Change) error {
	d, l := k.d, k.l
	code, size, err := k.code()
	if err != nil {
		return err
	}
	d.Config.Role = l.RoleARN
	fmt.Fprintf(k.progress, "  creating with %d bytes of code%s (Lambda retries while the new role propagates)...\n", size, k.codeFrom())
	arn, err := k.c.Lambda().CreateFunction(ctx, lambdaapi.FunctionSpec{Name: d.Function, Config: lambdaapi.Config(d.Config), Code: code,
		Description: "RudderStack transformer (rudderctl stack " + d.Stack + ")", Tags: d.Tags()})
	if err == nil {
		k.setARN(arn)
	}
	return err
}

func (k functionKind) setARN(arn string) {
	k.l.FunctionARN = arn
	k.l.AliasARN = arn + ":" + AliasName
}

func (k functionKind) AlreadyExists(err error) bool {
	return errors.Is(err, awsapi.ErrAlreadyExists)
}

func (k functionKind) Adopt(ctx context.Context, _ Change) error {
	f, err := k.c.Lambda().FindFunction(ctx, k.d.Function)
	if err == nil {
		k.setARN(f.ARN)
	}
	return err
}

func (k functionKind) Wait(ctx context.Context, _ Change) error { return k.waitActive(ctx) }

func (k functionKind) Delete(ctx context.Context, _ Change) error {
	return k.c.Lambda().DeleteFunction(ctx, k.d.Function)
}

// functionTags puts the stack tag on the function.
func functionTags(r *run) engine.Kind {
	return engine.Func{Acts: []engine.Action{TagFunction}, OnUpdate: func(ctx context.Context, _ Change) error {
		return r.c.Lambda().TagFunction(ctx, r.l.FunctionARN, r.d.Tags())
	}}
}

// codeKind updates the function's code and architecture, once an earlier update settled.
type codeKind struct {
	*run
	engine.Unsupported
}

func (k codeKind) Actions() []engine.Action { return []engine.Action{UpdateCode} }

func (k codeKind) Ready(ctx context.Context, _ Change) error { return k.settle(ctx) }

func (k codeKind) Update(ctx context.Context, _ Change) error {
	code, size, err := k.code()
	if err != nil {
		return err
	}
	fmt.Fprintf(k.progress, "  updating with %d bytes of code%s...\n", size, k.codeFrom())
	err = k.c.Lambda().UpdateCode(ctx, k.d.Function, code, k.d.Config.Arch)
	if err == nil {
		k.settled = false
	}
	return err
}

func (k codeKind) Wait(ctx context.Context, _ Change) error { return k.waitUpdated(ctx) }

// configKind updates the function's configuration, once an earlier update settled.
type configKind struct {
	*run
	engine.Unsupported
}

func (k configKind) Actions() []engine.Action { return []engine.Action{UpdateConfig} }

func (k configKind) Ready(ctx context.Context, _ Change) error { return k.settle(ctx) }

func (k configKind) Update(ctx context.Context, _ Change) error {
	cfg := lambdaapi.Config(k.d.Config)
	cfg.Role = k.l.RoleARN
	err := k.c.Lambda().UpdateConfig(ctx, k.d.Function, cfg)
	if err == nil {
		k.settled = false
	}
	return err
}

func (k configKind) Wait(ctx context.Context, _ Change) error { return k.waitUpdated(ctx) }

// waitPolicy is how the function's waits poll: short first polls (it is usually ready
// within a second or two), growing to a few seconds.
func waitPolicy() lambdaapi.Wait {
	return lambdaapi.Wait{MinDelay: kinds.WaitMin, MaxDelay: kinds.WaitMax, For: kinds.WaitFor}
}

func (r *run) waitActive(ctx context.Context) error {
	fmt.Fprintf(r.progress, "  waiting for %s to become Active...\n", r.d.Function)
	if err := r.c.Lambda().WaitActive(ctx, r.d.Function, waitPolicy()); err != nil {
		return r.waitFailed(ctx, "wait for "+r.d.Function+" to become Active", err)
	}
	r.settled = true
	return nil
}

func (r *run) waitUpdated(ctx context.Context) error {
	fmt.Fprintf(r.progress, "  waiting for the update of %s to finish...\n", r.d.Function)
	if err := r.c.Lambda().WaitUpdated(ctx, r.d.Function, waitPolicy()); err != nil {
		return r.waitFailed(ctx, "wait for the update of "+r.d.Function+" to finish", err)
	}
	r.settled = true
	return nil
}

// waitFailed explains a failed wait with Lambda's own reason when there is one.
func (r *run) waitFailed(ctx context.Context, what string, err error) error {
	f, gerr := r.c.Lambda().FindFunction(ctx, r.d.Function)
	if gerr == nil {
		reason := f.StateReason
		if s := f.LastUpdateReason; s != "" {
			reason = s
		}
		if f.State == "Failed" || f.LastUpdate == "Failed" {
			return engine.Plain(fmt.Errorf("could not %s: Lambda reports state %s, last update %s: %s; fix the cause (code, role, settings) and deploy again",
				what, f.State, f.LastUpdate, reason))
		}
	}
	return engine.Plain(awsapi.Explain(what, err))
}

// settle waits for an update of a previous (interrupted) run before touching the function.
func (r *run) settle(ctx context.Context) error {
	if r.settled {
		return nil
	}
	return r.waitUpdated(ctx)
}

// findFunction reads the function and its tags.
func findFunction(ctx context.Context, c *awsapi.Session, n Names) (*Function, error) {
	fn, err := c.Lambda().FindFunction(ctx, n.Function)
	if errors.Is(err, awsapi.ErrNotFound) {
		return nil, engine.ErrNotFound
	}
	if err != nil {
		return nil, awsapi.Explain("read Lambda function "+n.Function, err)
	}
	f := &Function{
		ARN:        strings.TrimSuffix(fn.ARN, ":$LATEST"),
		Config:     FunctionConfig(fn.Config),
		CodeSha256: fn.CodeSha256,
		State:      fn.State,
		LastUpdate: fn.LastUpdate,
	}
	f.Tagged, f.OtherStack = tagState(fn.Tags, n.Stack)
	return f, nil
}
