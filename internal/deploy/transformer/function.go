package transformer

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/rudderctl/rudderctl/internal/awsapi"
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
	out, err := k.c.Lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName:  aws.String(d.Function),
		Role:          aws.String(l.RoleARN),
		Runtime:       ltypes.Runtime(d.Config.Runtime),
		Handler:       aws.String(d.Config.Handler),
		Architectures: []ltypes.Architecture{ltypes.Architecture(d.Config.Arch)},
		MemorySize:    aws.Int32(d.Config.Memory),
		Timeout:       aws.Int32(d.Config.Timeout),
		Environment:   &ltypes.Environment{Variables: d.Config.Env},
		Code:          code,
		Description:   aws.String("RudderStack transformer (rudderctl stack " + d.Stack + ")"),
		Tags:          d.Tags(),
		Publish:       false,
	})
	if err == nil {
		k.setARN(aws.ToString(out.FunctionArn))
	}
	return err
}

func (k functionKind) setARN(arn string) {
	k.l.FunctionARN = arn
	k.l.AliasARN = arn + ":" + AliasName
}

func (k functionKind) AlreadyExists(err error) bool {
	return awsapi.IsCode(err, "ResourceConflictException")
}

func (k functionKind) Adopt(ctx context.Context, _ Change) error {
	g, err := k.c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(k.d.Function)})
	if err == nil {
		k.setARN(aws.ToString(g.Configuration.FunctionArn))
	}
	return err
}

func (k functionKind) Wait(ctx context.Context, _ Change) error { return k.waitActive(ctx) }

func (k functionKind) Delete(ctx context.Context, _ Change) error {
	_, err := k.c.Lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(k.d.Function)})
	return err
}

// functionTags puts the stack tag on the function.
func functionTags(r *run) engine.Kind {
	return engine.Func{Acts: []engine.Action{TagFunction}, OnUpdate: func(ctx context.Context, _ Change) error {
		_, err := r.c.Lambda.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(r.l.FunctionARN), Tags: r.d.Tags()})
		return err
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
	_, err = k.c.Lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName:  aws.String(k.d.Function),
		ZipFile:       code.ZipFile,
		S3Bucket:      code.S3Bucket,
		S3Key:         code.S3Key,
		Architectures: []ltypes.Architecture{ltypes.Architecture(k.d.Config.Arch)},
	})
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
	d := k.d
	_, err := k.c.Lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(d.Function),
		Role:         aws.String(k.l.RoleARN),
		Runtime:      ltypes.Runtime(d.Config.Runtime),
		Handler:      aws.String(d.Config.Handler),
		MemorySize:   aws.Int32(d.Config.Memory),
		Timeout:      aws.Int32(d.Config.Timeout),
		Environment:  &ltypes.Environment{Variables: d.Config.Env},
	})
	if err == nil {
		k.settled = false
	}
	return err
}

func (k configKind) Wait(ctx context.Context, _ Change) error { return k.waitUpdated(ctx) }

func (r *run) waitActive(ctx context.Context) error {
	fmt.Fprintf(r.progress, "  waiting for %s to become Active...\n", r.d.Function)
	w := lambda.NewFunctionActiveV2Waiter(r.c.Lambda, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = kinds.WaitMin, kinds.WaitMax
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(r.d.Function)}, kinds.WaitFor); err != nil {
		return r.waitFailed(ctx, "wait for "+r.d.Function+" to become Active", err)
	}
	r.settled = true
	return nil
}

func (r *run) waitUpdated(ctx context.Context) error {
	fmt.Fprintf(r.progress, "  waiting for the update of %s to finish...\n", r.d.Function)
	w := lambda.NewFunctionUpdatedV2Waiter(r.c.Lambda, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = kinds.WaitMin, kinds.WaitMax
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(r.d.Function)}, kinds.WaitFor); err != nil {
		return r.waitFailed(ctx, "wait for the update of "+r.d.Function+" to finish", err)
	}
	r.settled = true
	return nil
}

// waitFailed explains a failed wait with Lambda's own reason when there is one.
func (r *run) waitFailed(ctx context.Context, what string, err error) error {
	out, gerr := r.c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(r.d.Function)})
	if gerr == nil && out.Configuration != nil {
		fc := out.Configuration
		reason := aws.ToString(fc.StateReason)
		if s := aws.ToString(fc.LastUpdateStatusReason); s != "" {
			reason = s
		}
		if fc.State == ltypes.StateFailed || fc.LastUpdateStatus == ltypes.LastUpdateStatusFailed {
			return engine.Plain(fmt.Errorf("could not %s: Lambda reports state %s, last update %s: %s; fix the cause (code, role, settings) and deploy again",
				what, fc.State, fc.LastUpdateStatus, reason))
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
func findFunction(ctx context.Context, c *awsapi.Clients, n Names) (*Function, error) {
	out, err := c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(n.Function)})
	if awsapi.IsNotFound(err) {
		return nil, engine.ErrNotFound
	}
	if err != nil {
		return nil, awsapi.Explain("read Lambda function "+n.Function, err)
	}
	fc := out.Configuration
	f := &Function{
		ARN:        strings.TrimSuffix(aws.ToString(fc.FunctionArn), ":$LATEST"),
		Config:     configOf(fc),
		CodeSha256: aws.ToString(fc.CodeSha256),
		State:      string(fc.State),
		LastUpdate: string(fc.LastUpdateStatus),
	}
	f.Tagged, f.OtherStack = tagState(out.Tags, n.Stack)
	return f, nil
}
