// Package lambdaapi is the part of Lambda rudderctl uses: functions, published versions,
// aliases, resource-policy statements, waits and the health-check invoke. Errors are
// *awserr.Error (errors.Is(err, awserr.ErrNotFound), ErrAlreadyExists on the creates).
package lambdaapi

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

// Client is Lambda, domain-shaped.
type Client struct {
	sdk *lambda.Client
	// PageSize is MaxItems of each list call; 0 = the service's default (sent as absent).
	PageSize int32
}

// New wraps an SDK client (awsapi.Session builds it, with the Lambda retry errors).
func New(c *lambda.Client) *Client { return &Client{sdk: c} }

// Config is a function's (or version's) configuration.
type Config struct {
	Runtime string
	Handler string
	Arch    string // x86_64 when Lambda lists none
	Role    string
	Memory  int32
	Timeout int32
	Env     map[string]string // nil when empty
}

// Function is what GetFunction says of a function ($LATEST).
type Function struct {
	ARN              string // as Lambda returns it
	Config           Config
	CodeSha256       string
	State            string // Pending, Active, Failed, Inactive
	StateReason      string
	LastUpdate       string // InProgress, Successful, Failed
	LastUpdateReason string
	Tags             map[string]string
}

// Version is one published version (or $LATEST, or what an alias points at, from
// FindConfiguration).
type Version struct {
	Number      string
	Config      Config
	CodeSha256  string
	Description string
}

func versionOf(v *types.FunctionConfiguration) Version {
	return Version{Number: aws.ToString(v.Version), Config: configOf(v), CodeSha256: aws.ToString(v.CodeSha256), Description: aws.ToString(v.Description)}
}

// Alias is what an alias points at.
type Alias struct {
	Version string
	ARN     string
}

func configOf(fc *types.FunctionConfiguration) Config {
	c := Config{Runtime: string(fc.Runtime), Handler: aws.ToString(fc.Handler), Arch: "x86_64", Role: aws.ToString(fc.Role),
		Memory: aws.ToInt32(fc.MemorySize), Timeout: aws.ToInt32(fc.Timeout)}
	if len(fc.Architectures) > 0 {
		c.Arch = string(fc.Architectures[0])
	}
	if fc.Environment != nil && len(fc.Environment.Variables) > 0 {
		c.Env = fc.Environment.Variables
	}
	return c
}

func functionOf(fc *types.FunctionConfiguration, tags map[string]string) *Function {
	return &Function{ARN: aws.ToString(fc.FunctionArn), Config: configOf(fc), CodeSha256: aws.ToString(fc.CodeSha256),
		State: string(fc.State), StateReason: aws.ToString(fc.StateReason),
		LastUpdate: string(fc.LastUpdateStatus), LastUpdateReason: aws.ToString(fc.LastUpdateStatusReason), Tags: tags}
}

// FindFunction reads a function (lambda:GetFunction); ErrNotFound when there is none.
func (c *Client) FindFunction(ctx context.Context, name string) (*Function, error) {
	out, err := c.sdk.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		return nil, awserr.Wrap("read Lambda function "+name, err, nil)
	}
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	return functionOf(out.Configuration, out.Tags), nil
}

// PublishedVersions are the function's published versions ($LATEST left out), every page,
// in Lambda's order.
func (c *Client) PublishedVersions(ctx context.Context, name string) ([]Version, error) {
	var vs []Version
	p := lambda.NewListVersionsByFunctionPaginator(c.sdk, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(name)},
		func(o *lambda.ListVersionsByFunctionPaginatorOptions) { o.Limit = c.PageSize })
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, awserr.Wrap("list the versions of "+name, err, nil)
		}
		for i := range out.Versions {
			v := &out.Versions[i]
			if aws.ToString(v.Version) == "$LATEST" {
				continue
			}
			vs = append(vs, versionOf(v))
		}
	}
	return vs, nil
}

// FindConfiguration reads the configuration of function:qualifier (a version number, an
// alias; "" = $LATEST) with lambda:GetFunctionConfiguration; ErrNotFound when either is
// missing.
func (c *Client) FindConfiguration(ctx context.Context, function, qualifier string) (*Version, error) {
	in := &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(function)}
	what := "read Lambda function " + function
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
		what += ":" + qualifier
	}
	out, err := c.sdk.GetFunctionConfiguration(ctx, in)
	if err != nil {
		return nil, awserr.Wrap(what, err, nil)
	}
	v := versionOf(&types.FunctionConfiguration{Version: out.Version, Runtime: out.Runtime, Handler: out.Handler, Role: out.Role,
		MemorySize: out.MemorySize, Timeout: out.Timeout, Architectures: out.Architectures, Environment: out.Environment,
		CodeSha256: out.CodeSha256, Description: out.Description})
	return &v, nil
}

// FindAlias reads an alias; ErrNotFound when there is none.
func (c *Client) FindAlias(ctx context.Context, function, alias string) (*Alias, error) {
	out, err := c.sdk.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(function), Name: aws.String(alias)})
	if err != nil {
		return nil, awserr.Wrap("read alias "+alias+" of "+function, err, nil)
	}
	return &Alias{Version: aws.ToString(out.FunctionVersion), ARN: aws.ToString(out.AliasArn)}, nil
}

// ResourcePolicy is the resource policy document of function:qualifier; ErrNotFound when
// it has none.
func (c *Client) ResourcePolicy(ctx context.Context, function, qualifier string) (string, error) {
	out, err := c.sdk.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(function), Qualifier: aws.String(qualifier)})
	if err != nil {
		return "", awserr.Wrap("read the resource policy of "+function+":"+qualifier, err, nil)
	}
	return aws.ToString(out.Policy), nil
}

// Code is a function's code: a zip, or an object in S3.
type Code struct {
	Zip             []byte
	S3Bucket, S3Key string
}

func (c Code) sdk() *types.FunctionCode {
	if c.S3Key != "" {
		return &types.FunctionCode{S3Bucket: aws.String(c.S3Bucket), S3Key: aws.String(c.S3Key)}
	}
	return &types.FunctionCode{ZipFile: c.Zip}
}

// FunctionSpec is a function to create (unpublished: versions come from PublishVersion).
type FunctionSpec struct {
	Name        string
	Config      Config
	Code        Code
	Description string
	Tags        map[string]string
}

// CreateFunction creates a function and returns its ARN; ErrAlreadyExists when the name
// is taken. Lambda retries while a new role propagates (awsapi's retry policy).
func (c *Client) CreateFunction(ctx context.Context, s FunctionSpec) (string, error) {
	out, err := c.sdk.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName:  aws.String(s.Name),
		Role:          aws.String(s.Config.Role),
		Runtime:       types.Runtime(s.Config.Runtime),
		Handler:       aws.String(s.Config.Handler),
		Architectures: []types.Architecture{types.Architecture(s.Config.Arch)},
		MemorySize:    aws.Int32(s.Config.Memory),
		Timeout:       aws.Int32(s.Config.Timeout),
		Environment:   &types.Environment{Variables: s.Config.Env},
		Code:          s.Code.sdk(),
		Description:   aws.String(s.Description),
		Tags:          s.Tags,
		Publish:       false,
	})
	if err != nil {
		return "", awserr.Wrap("create Lambda function "+s.Name, err, awserr.Codes{"ResourceConflictException": awserr.ErrAlreadyExists})
	}
	return aws.ToString(out.FunctionArn), nil
}

// TagFunction adds (or overwrites) tags of the function with this ARN.
func (c *Client) TagFunction(ctx context.Context, arn string, tags map[string]string) error {
	_, err := c.sdk.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: tags})
	return awserr.Wrap("tag Lambda function "+arn, err, nil)
}

// UpdateCode replaces the code of $LATEST, and its architecture unless arch is ""; the
// update runs on (WaitUpdated).
func (c *Client) UpdateCode(ctx context.Context, name string, code Code, arch string) error {
	sc := code.sdk()
	in := &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: sc.ZipFile, S3Bucket: sc.S3Bucket, S3Key: sc.S3Key}
	if arch != "" {
		in.Architectures = []types.Architecture{types.Architecture(arch)}
	}
	_, err := c.sdk.UpdateFunctionCode(ctx, in)
	return awserr.Wrap("update the code of "+name, err, awserr.Codes{"ResourceConflictException": awserr.ErrConflict})
}

// UpdateConfig replaces runtime, handler, role, memory, timeout and environment of
// $LATEST (architecture goes with the code); the update runs on (WaitUpdated).
func (c *Client) UpdateConfig(ctx context.Context, name string, cfg Config) error {
	_, err := c.sdk.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(name),
		Role:         aws.String(cfg.Role),
		Runtime:      types.Runtime(cfg.Runtime),
		Handler:      aws.String(cfg.Handler),
		MemorySize:   aws.Int32(cfg.Memory),
		Timeout:      aws.Int32(cfg.Timeout),
		Environment:  &types.Environment{Variables: cfg.Env},
	})
	return awserr.Wrap("update the configuration of "+name, err, awserr.Codes{"ResourceConflictException": awserr.ErrConflict})
}

// PublishVersion publishes $LATEST, refused unless its code is codeSha256; returns the
// version number.
func (c *Client) PublishVersion(ctx context.Context, name, codeSha256, description string) (string, error) {
	out, err := c.sdk.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name), CodeSha256: aws.String(codeSha256), Description: aws.String(description)})
	if err != nil {
		return "", awserr.Wrap("publish a version of "+name, err, awserr.Codes{"ResourceConflictException": awserr.ErrConflict})
	}
	return aws.ToString(out.Version), nil
}

// CreateAlias points a new alias at version; ErrAlreadyExists when it exists.
func (c *Client) CreateAlias(ctx context.Context, function, alias, version, description string) (*Alias, error) {
	in := &lambda.CreateAliasInput{FunctionName: aws.String(function), Name: aws.String(alias), FunctionVersion: aws.String(version)}
	if description != "" {
		in.Description = aws.String(description)
	}
	out, err := c.sdk.CreateAlias(ctx, in)
	if err != nil {
		return nil, awserr.Wrap("create alias "+alias+" of "+function, err, awserr.Codes{"ResourceConflictException": awserr.ErrAlreadyExists})
	}
	return &Alias{Version: aws.ToString(out.FunctionVersion), ARN: aws.ToString(out.AliasArn)}, nil
}

// UpdateAlias points an alias at version.
func (c *Client) UpdateAlias(ctx context.Context, function, alias, version string) (*Alias, error) {
	out, err := c.sdk.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(function), Name: aws.String(alias), FunctionVersion: aws.String(version)})
	if err != nil {
		return nil, awserr.Wrap("point alias "+alias+" of "+function+" at version "+version, err, nil)
	}
	return &Alias{Version: aws.ToString(out.FunctionVersion), ARN: aws.ToString(out.AliasArn)}, nil
}

// DeleteAlias deletes an alias (Lambda answers success for a missing one).
func (c *Client) DeleteAlias(ctx context.Context, function, alias string) error {
	_, err := c.sdk.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String(function), Name: aws.String(alias)})
	return awserr.Wrap("delete alias "+alias+" of "+function, err, nil)
}

// DeleteVersion deletes one published version; ErrNotFound when it is gone already.
func (c *Client) DeleteVersion(ctx context.Context, function, version string) error {
	_, err := c.sdk.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(function), Qualifier: aws.String(version)})
	return awserr.Wrap("delete version "+version+" of "+function, err, nil)
}

// DeleteFunction deletes a function with all its versions; ErrNotFound when it is gone.
func (c *Client) DeleteFunction(ctx context.Context, function string) error {
	_, err := c.sdk.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(function)})
	return awserr.Wrap("delete Lambda function "+function, err, nil)
}

// Permission is one statement of a resource policy that lets a service invoke.
type Permission struct {
	StatementID string
	Action      string // lambda:InvokeFunction
	Principal   string // apigateway.amazonaws.com
	SourceARN   string
}

// AddPermission adds a statement to function:qualifier's resource policy;
// ErrAlreadyExists when a statement with this id is there.
func (c *Client) AddPermission(ctx context.Context, function, qualifier string, p Permission) error {
	_, err := c.sdk.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(function), Qualifier: aws.String(qualifier),
		StatementId: aws.String(p.StatementID), Action: aws.String(p.Action), Principal: aws.String(p.Principal), SourceArn: aws.String(p.SourceARN)})
	return awserr.Wrap("add permission "+p.StatementID+" to "+function+":"+qualifier, err, awserr.Codes{"ResourceConflictException": awserr.ErrAlreadyExists})
}

// RemovePermission removes a statement; ErrNotFound when it is gone already.
func (c *Client) RemovePermission(ctx context.Context, function, qualifier, statementID string) error {
	_, err := c.sdk.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(function), Qualifier: aws.String(qualifier), StatementId: aws.String(statementID)})
	return awserr.Wrap("remove permission "+statementID+" from "+function+":"+qualifier, err, nil)
}

// Wait is how a wait polls: between MinDelay and MaxDelay apart, for at most For.
type Wait struct{ MinDelay, MaxDelay, For time.Duration }

// WaitActive waits until the function's State is Active (after CreateFunction) with the
// SDK's FunctionActiveV2 waiter (lambda:GetFunction).
func (c *Client) WaitActive(ctx context.Context, name string, w Wait) error {
	waiter := lambda.NewFunctionActiveV2Waiter(c.sdk, func(o *lambda.FunctionActiveV2WaiterOptions) { o.MinDelay, o.MaxDelay = w.MinDelay, w.MaxDelay })
	err := waiter.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, w.For)
	return awserr.Wrap("wait for "+name+" to become Active", err, nil)
}

// WaitUpdated waits until LastUpdateStatus is Successful (after an Update*) with the SDK's
// FunctionUpdatedV2 waiter (lambda:GetFunction).
func (c *Client) WaitUpdated(ctx context.Context, name string, w Wait) error {
	waiter := lambda.NewFunctionUpdatedV2Waiter(c.sdk, func(o *lambda.FunctionUpdatedV2WaiterOptions) { o.MinDelay, o.MaxDelay = w.MinDelay, w.MaxDelay })
	err := waiter.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, w.For)
	return awserr.Wrap("wait for the update of "+name+" to finish", err, nil)
}

// WaitVersionActive waits until a published version is Active (invocable) with the SDK's
// PublishedVersionActive waiter (lambda:GetFunctionConfiguration).
func (c *Client) WaitVersionActive(ctx context.Context, name, version string, w Wait) error {
	waiter := lambda.NewPublishedVersionActiveWaiter(c.sdk, func(o *lambda.PublishedVersionActiveWaiterOptions) { o.MinDelay, o.MaxDelay = w.MinDelay, w.MaxDelay })
	err := waiter.Wait(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name), Qualifier: aws.String(version)}, w.For)
	return awserr.Wrap("wait for version "+version+" of "+name+" to become Active", err, nil)
}

// Invocation is a synchronous invoke's answer.
type Invocation struct {
	Payload       []byte
	FunctionError string // "" = the function answered; "Unhandled" and the like otherwise
	LogTail       string // the last 4 KB of its log, decoded
}

// Invoke calls function:qualifier synchronously with the log tail.
func (c *Client) Invoke(ctx context.Context, function, qualifier string, payload []byte) (*Invocation, error) {
	out, err := c.sdk.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(function), Qualifier: aws.String(qualifier), LogType: types.LogTypeTail, Payload: payload})
	if err != nil {
		return nil, awserr.Wrap("invoke version "+qualifier+" of "+function, err, nil)
	}
	tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	return &Invocation{Payload: out.Payload, FunctionError: aws.ToString(out.FunctionError), LogTail: string(tail)}, nil
}
