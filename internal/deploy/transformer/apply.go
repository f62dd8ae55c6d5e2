package transformer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	atypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	itypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/rudderctl/rudderctl/internal/awsapi"
)

// Waiter timing: short first polls (a function is usually Active within a second or two),
// growing to a few seconds, giving up after 10 minutes.
var (
	waitMin = 250 * time.Millisecond
	waitMax = 5 * time.Second
	waitFor = 10 * time.Minute
)

// Live is what the apply step knows as it goes: ids from the cloud, filled in as things
// are created.
type Live struct {
	RoleARN, FunctionARN, Version, AliasARN string
	APIID, APIEndpoint, IntegrationID       string
}

func liveFrom(o *Observed, d *Desired) *Live {
	l := &Live{RoleARN: RoleARN(o.Account, d.Role)}
	if o.Role != nil && o.Role.ARN != "" {
		l.RoleARN = o.Role.ARN
	}
	if o.Func != nil {
		l.FunctionARN = o.Func.ARN
		l.AliasARN = o.Func.ARN + ":" + AliasName
	}
	if n := len(o.Versions); n > 0 {
		l.Version = o.Versions[n-1].Number
	}
	if len(o.APIs) > 0 {
		l.APIID, l.APIEndpoint = o.APIs[0].ID, o.APIs[0].Endpoint
	}
	aliasARN := l.AliasARN
	for _, in := range o.Integrations {
		if in.Type == "AWS_PROXY" && in.URI == aliasARN && in.PayloadFormatVersion == "2.0" {
			l.IntegrationID = in.ID
			break
		}
	}
	if l.IntegrationID == "" && len(o.Integrations) > 0 {
		l.IntegrationID = o.Integrations[0].ID // the one the plan updates
	}
	return l
}

type applier struct {
	c        *awsapi.Clients
	o        *Observed
	d        *Desired
	l        *Live
	progress io.Writer
	settled  bool // the function has no update in progress
	// beforeBucketDelete runs just before DeleteBucket (destroy releases the lock it holds
	// in that bucket).
	beforeBucketDelete func(context.Context) error
}

// Apply makes the changes in order. It stops at the first error; running the deploy
// again resumes (every change is found again by the next observe).
func Apply(ctx context.Context, c *awsapi.Clients, o *Observed, d *Desired, changes []Change, progress io.Writer) (*Live, error) {
	return applyChanges(ctx, c, o, d, changes, progress, nil)
}

func applyChanges(ctx context.Context, c *awsapi.Clients, o *Observed, d *Desired, changes []Change, progress io.Writer, beforeBucketDelete func(context.Context) error) (*Live, error) {
	if progress == nil {
		progress = io.Discard
	}
	a := &applier{c: c, o: o, d: d, l: liveFrom(o, d), progress: progress, beforeBucketDelete: beforeBucketDelete}
	a.settled = o.Func == nil || (o.Func.State == "Active" && o.Func.LastUpdate != "InProgress")
	for _, ch := range changes {
		fmt.Fprintln(progress, ch.String())
		// No version becomes live without answering its health check first.
		if ch.Action == CreateAlias || ch.Action == UpdateAlias {
			live := ""
			if o.Alias != nil {
				live = o.Alias.Version
			}
			if err := a.smoke(ctx, live); err != nil {
				var se *SmokeError
				if errors.As(err, &se) {
					return a.l, se
				}
				return a.l, errors.New(redact(err.Error(), d.Secret))
			}
		}
		if err := a.apply(ctx, ch); err != nil {
			return a.l, errors.New(redact(err.Error(), d.Secret))
		}
	}
	return a.l, nil
}

func (a *applier) apiID(ch Change) *string {
	if ch.API != "" {
		return aws.String(ch.API)
	}
	return aws.String(a.l.APIID)
}

func (a *applier) waitActive(ctx context.Context) error {
	fmt.Fprintf(a.progress, "  waiting for %s to become Active...\n", a.d.Function)
	w := lambda.NewFunctionActiveV2Waiter(a.c.Lambda, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = waitMin, waitMax
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(a.d.Function)}, waitFor); err != nil {
		return a.waitFailed(ctx, "wait for "+a.d.Function+" to become Active", err)
	}
	a.settled = true
	return nil
}

func (a *applier) waitUpdated(ctx context.Context) error {
	fmt.Fprintf(a.progress, "  waiting for the update of %s to finish...\n", a.d.Function)
	w := lambda.NewFunctionUpdatedV2Waiter(a.c.Lambda, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = waitMin, waitMax
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(a.d.Function)}, waitFor); err != nil {
		return a.waitFailed(ctx, "wait for the update of "+a.d.Function+" to finish", err)
	}
	a.settled = true
	return nil
}

// waitFailed explains a failed wait with Lambda's own reason when there is one.
func (a *applier) waitFailed(ctx context.Context, what string, err error) error {
	out, gerr := a.c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(a.d.Function)})
	if gerr == nil && out.Configuration != nil {
		fc := out.Configuration
		reason := aws.ToString(fc.StateReason)
		if r := aws.ToString(fc.LastUpdateStatusReason); r != "" {
			reason = r
		}
		if fc.State == ltypes.StateFailed || fc.LastUpdateStatus == ltypes.LastUpdateStatusFailed {
			return fmt.Errorf("could not %s: Lambda reports state %s, last update %s: %s; fix the cause (code, role, settings) and deploy again",
				what, fc.State, fc.LastUpdateStatus, reason)
		}
	}
	return awsapi.Explain(what, err)
}

// settle waits for an update of a previous (interrupted) run before touching the function.
func (a *applier) settle(ctx context.Context) error {
	if a.settled {
		return nil
	}
	return a.waitUpdated(ctx)
}

func (a *applier) zip() ([]byte, error) {
	b, err := os.ReadFile(a.d.Zip)
	if err != nil {
		return nil, fmt.Errorf("could not read %s: %v; check the --zip path", a.d.Zip, err)
	}
	return b, nil
}

// code is the function code: the zip itself, or for a zip over MaxDirectUpload the object
// the UploadCode step put in the artifacts bucket.
func (a *applier) code() (*ltypes.FunctionCode, int64, error) {
	if a.d.ViaS3() {
		return &ltypes.FunctionCode{S3Bucket: aws.String(a.d.Bucket), S3Key: aws.String(CodeKey(a.d.CodeSha256))}, a.d.ZipBytes, nil
	}
	b, err := a.zip()
	if err != nil {
		return nil, 0, err
	}
	return &ltypes.FunctionCode{ZipFile: b}, int64(len(b)), nil
}

func (a *applier) codeFrom() string {
	if a.d.ViaS3() {
		return " from s3://" + a.d.Bucket + "/" + CodeKey(a.d.CodeSha256)
	}
	return ""
}

// bucketTags is the bucket's tag set with the stack tag added (other tags are kept).
func (a *applier) bucketTags() []s3types.Tag {
	tags := map[string]string{}
	if a.o.Bucket != nil {
		for k, v := range a.o.Bucket.Tags {
			tags[k] = v
		}
	}
	tags[TagKey] = a.d.Stack
	var out []s3types.Tag
	for k, v := range tags {
		out = append(out, s3types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// emptyBucket deletes every object of the bucket (objects that appeared after observe).
func (a *applier) emptyBucket(ctx context.Context) error {
	var token *string
	for {
		out, err := a.c.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(a.d.Bucket), ContinuationToken: token})
		if err != nil {
			return err
		}
		for _, obj := range out.Contents {
			if aws.ToString(obj.Key) == LockKey { // someone else's lock: not ours to delete
				continue
			}
			if _, err := a.c.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(a.d.Bucket), Key: obj.Key}); err != nil && !awsapi.IsNotFound(err) {
				return err
			}
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return nil
		}
		token = out.NextContinuationToken
	}
}

func (a *applier) env() *ltypes.Environment {
	return &ltypes.Environment{Variables: a.d.Config.Env}
}

func (a *applier) apply(ctx context.Context, ch Change) error {
	d, l := a.d, a.l
	what := fmt.Sprintf("%s %s (%s)", ch.Verb(), ch.Resource, ch.Action)
	fail := func(err error) error { return awsapi.Explain(what+" "+ch.Name, err) }
	switch ch.Action {
	case CreateRole:
		out, err := a.c.IAM.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName:                 aws.String(d.Role),
			Path:                     aws.String(RolePath),
			AssumeRolePolicyDocument: aws.String(TrustPolicy),
			Description:              aws.String("rudderctl: execution role of the transformer of stack " + d.Stack),
			Tags:                     []itypes.Tag{{Key: aws.String(TagKey), Value: aws.String(d.Stack)}},
		})
		if awsapi.IsCode(err, "EntityAlreadyExists") { // an earlier attempt got through
			g, gerr := a.c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(d.Role)})
			if gerr != nil {
				return fail(gerr)
			}
			l.RoleARN = aws.ToString(g.Role.Arn)
			return nil
		}
		if err != nil {
			return fail(err)
		}
		l.RoleARN = aws.ToString(out.Role.Arn)
	case TagRole:
		_, err := a.c.IAM.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(d.Role), Tags: []itypes.Tag{{Key: aws.String(TagKey), Value: aws.String(d.Stack)}}})
		if err != nil {
			return fail(err)
		}
	case UpdateTrust:
		_, err := a.c.IAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(d.Role), PolicyDocument: aws.String(TrustPolicy)})
		if err != nil {
			return fail(err)
		}
	case PutRolePolicy:
		_, err := a.c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(d.Role), PolicyName: aws.String(PolicyName),
			PolicyDocument: aws.String(LogsPolicy(d.Region, d.Account, d.LogGroup))})
		if err != nil {
			return fail(err)
		}
	case CreateLogGroup:
		_, err := a.c.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(d.LogGroup), Tags: d.Tags()})
		if err != nil && !awsapi.IsCode(err, "ResourceAlreadyExistsException") {
			return fail(err)
		}
	case TagLogGroup:
		_, err := a.c.Logs.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(LogGroupARN(d.Region, d.Account, d.LogGroup)), Tags: d.Tags()})
		if err != nil {
			return fail(err)
		}
	case PutRetention:
		_, err := a.c.Logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(d.LogGroup), RetentionInDays: aws.Int32(d.LogRetention)})
		if err != nil {
			return fail(err)
		}
	case CreateBucket:
		in := &s3.CreateBucketInput{Bucket: aws.String(d.Bucket)}
		if d.Region != "us-east-1" { // us-east-1 takes no location constraint
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(d.Region)}
		}
		_, err := a.c.S3.CreateBucket(ctx, in)
		// Already ours: an earlier attempt got through.
		if err != nil && !awsapi.IsCode(err, "BucketAlreadyOwnedByYou") {
			if awsapi.IsCode(err, "BucketAlreadyExists") {
				return fmt.Errorf("could not create S3 bucket %s: the name is taken by another AWS account (bucket names are global); the zip is over 50 MB and must go through S3: shrink it under 50 MB, or deploy under another --stack", d.Bucket)
			}
			return fail(err)
		}
		// A new bucket can briefly be unknown to other S3 calls (eventual consistency).
		for wait := waitMin; ; wait *= 2 {
			_, err = a.c.S3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(d.Bucket), Tagging: &s3types.Tagging{TagSet: a.bucketTags()}})
			if !awsapi.IsCode(err, "NoSuchBucket") || wait > waitMax {
				break
			}
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err != nil {
			return fail(err)
		}
	case TagBucket:
		if _, err := a.c.S3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(d.Bucket), Tagging: &s3types.Tagging{TagSet: a.bucketTags()}}); err != nil {
			return fail(err)
		}
	case UploadCode:
		// Content-addressed: an object under this key is this zip; upload only when missing.
		_, err := a.c.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String(ch.Target)})
		if err == nil {
			fmt.Fprintf(a.progress, "  s3://%s/%s is already there\n", d.Bucket, ch.Target)
			return nil
		}
		if !awsapi.IsNotFound(err) {
			return fail(err)
		}
		f, err := os.Open(d.Zip)
		if err != nil {
			return fmt.Errorf("could not read %s: %v; check the --zip path", d.Zip, err)
		}
		defer f.Close()
		fmt.Fprintf(a.progress, "  uploading %d bytes to s3://%s/%s...\n", d.ZipBytes, d.Bucket, ch.Target)
		// ChecksumSHA256 is the zip's SHA-256 (= CodeSha256): S3 refuses a corrupted upload.
		_, err = a.c.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket:         aws.String(d.Bucket),
			Key:            aws.String(ch.Target),
			Body:           f,
			ContentLength:  aws.Int64(d.ZipBytes),
			ContentType:    aws.String("application/zip"),
			ChecksumSHA256: aws.String(d.CodeSha256),
		})
		if err != nil {
			return fail(err)
		}
	case DeleteObject:
		_, err := a.c.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String(ch.Target)})
		if err != nil && !awsapi.IsNotFound(err) {
			return fail(err)
		}
	case DeleteBucket:
		if a.beforeBucketDelete != nil {
			if err := a.beforeBucketDelete(ctx); err != nil {
				return fail(err)
			}
		}
		_, err := a.c.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(d.Bucket)})
		if awsapi.IsCode(err, "BucketNotEmpty") { // objects put since observe
			if err := a.emptyBucket(ctx); err != nil {
				return fail(err)
			}
			_, err = a.c.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(d.Bucket)})
		}
		if awsapi.IsCode(err, "BucketNotEmpty") { // only a lock is left: another run's, now
			fmt.Fprintf(a.progress, "  S3 bucket %s kept: another run took the stack lock in it meanwhile\n", d.Bucket)
			return nil
		}
		if err != nil && !awsapi.IsNotFound(err) {
			return fail(err)
		}
	case CreateFunction:
		code, size, err := a.code()
		if err != nil {
			return err
		}
		d.Config.Role = l.RoleARN
		fmt.Fprintf(a.progress, "  creating with %d bytes of code%s (Lambda retries while the new role propagates)...\n", size, a.codeFrom())
		out, err := a.c.Lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName:  aws.String(d.Function),
			Role:          aws.String(l.RoleARN),
			Runtime:       ltypes.Runtime(d.Config.Runtime),
			Handler:       aws.String(d.Config.Handler),
			Architectures: []ltypes.Architecture{ltypes.Architecture(d.Config.Arch)},
			MemorySize:    aws.Int32(d.Config.Memory),
			Timeout:       aws.Int32(d.Config.Timeout),
			Environment:   a.env(),
			Code:          code,
			Description:   aws.String("RudderStack transformer (rudderctl stack " + d.Stack + ")"),
			Tags:          d.Tags(),
			Publish:       false,
		})
		if awsapi.IsCode(err, "ResourceConflictException") { // an earlier attempt got through
			g, gerr := a.c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(d.Function)})
			if gerr != nil {
				return fail(gerr)
			}
			l.FunctionARN = aws.ToString(g.Configuration.FunctionArn)
		} else if err != nil {
			return fail(err)
		} else {
			l.FunctionARN = aws.ToString(out.FunctionArn)
		}
		l.AliasARN = l.FunctionARN + ":" + AliasName
		return a.waitActive(ctx)
	case TagFunction:
		_, err := a.c.Lambda.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(l.FunctionARN), Tags: d.Tags()})
		if err != nil {
			return fail(err)
		}
	case UpdateCode:
		if err := a.settle(ctx); err != nil {
			return err
		}
		code, size, err := a.code()
		if err != nil {
			return err
		}
		fmt.Fprintf(a.progress, "  updating with %d bytes of code%s...\n", size, a.codeFrom())
		_, err = a.c.Lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
			FunctionName:  aws.String(d.Function),
			ZipFile:       code.ZipFile,
			S3Bucket:      code.S3Bucket,
			S3Key:         code.S3Key,
			Architectures: []ltypes.Architecture{ltypes.Architecture(d.Config.Arch)},
		})
		if err != nil {
			return fail(err)
		}
		a.settled = false
		return a.waitUpdated(ctx)
	case UpdateConfig:
		if err := a.settle(ctx); err != nil {
			return err
		}
		_, err := a.c.Lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(d.Function),
			Role:         aws.String(l.RoleARN),
			Runtime:      ltypes.Runtime(d.Config.Runtime),
			Handler:      aws.String(d.Config.Handler),
			MemorySize:   aws.Int32(d.Config.Memory),
			Timeout:      aws.Int32(d.Config.Timeout),
			Environment:  a.env(),
		})
		if err != nil {
			return fail(err)
		}
		a.settled = false
		return a.waitUpdated(ctx)
	case PublishVersion:
		if err := a.settle(ctx); err != nil {
			return err
		}
		out, err := a.c.Lambda.PublishVersion(ctx, &lambda.PublishVersionInput{
			FunctionName: aws.String(d.Function),
			CodeSha256:   aws.String(d.CodeSha256),
			Description:  aws.String("rudderctl deploy"),
		})
		if err != nil {
			return fail(err)
		}
		l.Version = aws.ToString(out.Version)
	case CreateAlias:
		out, err := a.c.Lambda.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(d.Function), Name: aws.String(AliasName), FunctionVersion: aws.String(l.Version),
			Description: aws.String("the version API Gateway serves")})
		if awsapi.IsCode(err, "ResourceConflictException") {
			return a.apply(ctx, Change{Action: UpdateAlias, Resource: ch.Resource, Name: ch.Name})
		}
		if err != nil {
			return fail(err)
		}
		l.AliasARN = aws.ToString(out.AliasArn)
	case UpdateAlias:
		out, err := a.c.Lambda.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(d.Function), Name: aws.String(AliasName), FunctionVersion: aws.String(l.Version)})
		if err != nil {
			return fail(err)
		}
		l.AliasARN = aws.ToString(out.AliasArn)
	case CreateAPI:
		out, err := a.c.APIGateway.CreateApi(ctx, &apigatewayv2.CreateApiInput{
			Name:         aws.String(d.API),
			ProtocolType: atypes.ProtocolTypeHttp,
			Description:  aws.String("rudderctl: RudderStack transformer of stack " + d.Stack),
			Tags:         d.Tags(),
		})
		if err != nil {
			return fail(err)
		}
		l.APIID, l.APIEndpoint = aws.ToString(out.ApiId), aws.ToString(out.ApiEndpoint)
	case CreateIntegration:
		out, err := a.c.APIGateway.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
			ApiId:                a.apiID(ch),
			IntegrationType:      atypes.IntegrationTypeAwsProxy,
			IntegrationUri:       aws.String(l.AliasARN),
			IntegrationMethod:    aws.String("POST"),
			PayloadFormatVersion: aws.String("2.0"),
			TimeoutInMillis:      aws.Int32(30000),
		})
		if err != nil {
			return fail(err)
		}
		l.IntegrationID = aws.ToString(out.IntegrationId)
	case UpdateIntegration:
		_, err := a.c.APIGateway.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{
			ApiId:                a.apiID(ch),
			IntegrationId:        aws.String(ch.Target),
			IntegrationType:      atypes.IntegrationTypeAwsProxy,
			IntegrationUri:       aws.String(l.AliasARN),
			IntegrationMethod:    aws.String("POST"),
			PayloadFormatVersion: aws.String("2.0"),
		})
		if err != nil {
			return fail(err)
		}
		l.IntegrationID = ch.Target
	case CreateRoute:
		_, err := a.c.APIGateway.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: a.apiID(ch), RouteKey: aws.String(ch.Target), Target: aws.String("integrations/" + l.IntegrationID)})
		if err != nil && !awsapi.IsCode(err, "ConflictException") {
			return fail(err)
		}
	case UpdateRoute:
		_, err := a.c.APIGateway.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: a.apiID(ch), RouteId: aws.String(ch.Target), Target: aws.String("integrations/" + l.IntegrationID)})
		if err != nil {
			return fail(err)
		}
	case CreateStage:
		_, err := a.c.APIGateway.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: a.apiID(ch), StageName: aws.String(StageName), AutoDeploy: aws.Bool(true), Tags: d.Tags()})
		if err != nil && !awsapi.IsCode(err, "ConflictException") {
			return fail(err)
		}
	case UpdateStage:
		_, err := a.c.APIGateway.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: a.apiID(ch), StageName: aws.String(StageName), AutoDeploy: aws.Bool(true)})
		if err != nil {
			return fail(err)
		}
	case AddPermission:
		_, err := a.c.Lambda.AddPermission(ctx, &lambda.AddPermissionInput{
			FunctionName: aws.String(d.Function),
			Qualifier:    aws.String(AliasName),
			StatementId:  aws.String(StatementID),
			Action:       aws.String("lambda:InvokeFunction"),
			Principal:    aws.String("apigateway.amazonaws.com"),
			SourceArn:    aws.String(SourceARN(d.Region, d.Account, l.APIID)),
		})
		// A statement with our id already there: an earlier attempt got through.
		if err != nil && !awsapi.IsCode(err, "ResourceConflictException") {
			return fail(err)
		}
	case RemovePermission:
		_, err := a.c.Lambda.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(d.Function), Qualifier: aws.String(AliasName), StatementId: aws.String(StatementID)})
		if err != nil && !awsapi.IsNotFound(err) {
			return fail(err)
		}
	case DeleteRoute:
		_, err := a.c.APIGateway.DeleteRoute(ctx, &apigatewayv2.DeleteRouteInput{ApiId: a.apiID(ch), RouteId: aws.String(ch.Target)})
		if err != nil && !awsapi.IsNotFound(err) {
			return fail(err)
		}
	case DeleteIntegration:
		_, err := a.c.APIGateway.DeleteIntegration(ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: a.apiID(ch), IntegrationId: aws.String(ch.Target)})
		if err != nil && !awsapi.IsNotFound(err) {
			return fail(err)
		}
	case DeleteStage:
		_, err := a.c.APIGateway.DeleteStage(ctx, &apigatewayv2.DeleteStageInput{ApiId: a.apiID(ch), StageName: aws.String(ch.Target)})
		if err != nil && !awsapi.IsNotFound(err) {
			return fail(err)
		}
	case DeleteAPI:
		_, err := a.c.APIGateway.DeleteApi(ctx, &apigatewayv2.DeleteApiInput{ApiId: aws.String(ch.Target)})
		if err != nil && !awsapi.IsNotFound(err) {
			return fail(err)
		}
	case DeleteAlias:
		_, err := a.c.Lambda.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String(d.Function), Name: aws.String(AliasName)})
		if err != nil && !awsapi.IsNotFound(err) {
			return fail(err)
		}
	case DeleteVersion:
		_, err := a.c.Lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(d.Function), Qualifier: aws.String(ch.Target)})
		if err != nil && !awsapi.IsNotFound(err) {
			return fail(err)
		}
	case DeleteFunction:
		_, err := a.c.Lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(d.Function)})
		if err != nil && !awsapi.IsNotFound(err) {
			return fail(err)
		}
	case DeleteLogGroup:
		_, err := a.c.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(d.LogGroup)})
		if err != nil && !awsapi.IsNotFound(err) {
			return fail(err)
		}
	case DeleteRolePolicy:
		_, err := a.c.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(d.Role), PolicyName: aws.String(ch.Target)})
		if err != nil && !awsapi.IsNotFound(err) {
			return fail(err)
		}
	case DeleteRole:
		_, err := a.c.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(d.Role)})
		if err != nil && !awsapi.IsNotFound(err) {
			return fail(err)
		}
	default:
		return fmt.Errorf("internal: unknown change %s", ch.Action)
	}
	return nil
}
