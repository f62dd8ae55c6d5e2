package awsapi

// Clients and New are the SDK-shaped interfaces the deploy used before the per-service
// clients of Session; they go once no call site is left.

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// STS is the part of STS rudderctl uses.
type STS interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, o ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// IAM is the part of IAM rudderctl uses.
type IAM interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, o ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	CreateRole(ctx context.Context, in *iam.CreateRoleInput, o ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	UpdateAssumeRolePolicy(ctx context.Context, in *iam.UpdateAssumeRolePolicyInput, o ...func(*iam.Options)) (*iam.UpdateAssumeRolePolicyOutput, error)
	TagRole(ctx context.Context, in *iam.TagRoleInput, o ...func(*iam.Options)) (*iam.TagRoleOutput, error)
	ListRoleTags(ctx context.Context, in *iam.ListRoleTagsInput, o ...func(*iam.Options)) (*iam.ListRoleTagsOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, o ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, o ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, o ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	DeleteRolePolicy(ctx context.Context, in *iam.DeleteRolePolicyInput, o ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	DeleteRole(ctx context.Context, in *iam.DeleteRoleInput, o ...func(*iam.Options)) (*iam.DeleteRoleOutput, error)
}

// Logs is the part of CloudWatch Logs rudderctl uses.
type Logs interface {
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	PutRetentionPolicy(ctx context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
	ListTagsForResource(ctx context.Context, in *cloudwatchlogs.ListTagsForResourceInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error)
	TagResource(ctx context.Context, in *cloudwatchlogs.TagResourceInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.TagResourceOutput, error)
	DeleteLogGroup(ctx context.Context, in *cloudwatchlogs.DeleteLogGroupInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteLogGroupOutput, error)
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// Lambda is the part of Lambda rudderctl uses. It satisfies the SDK waiters' GetFunction
// and GetFunctionConfiguration client interfaces.
type Lambda interface {
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, o ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput, o ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error)
	CreateFunction(ctx context.Context, in *lambda.CreateFunctionInput, o ...func(*lambda.Options)) (*lambda.CreateFunctionOutput, error)
	UpdateFunctionCode(ctx context.Context, in *lambda.UpdateFunctionCodeInput, o ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error)
	UpdateFunctionConfiguration(ctx context.Context, in *lambda.UpdateFunctionConfigurationInput, o ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error)
	TagResource(ctx context.Context, in *lambda.TagResourceInput, o ...func(*lambda.Options)) (*lambda.TagResourceOutput, error)
	ListVersionsByFunction(ctx context.Context, in *lambda.ListVersionsByFunctionInput, o ...func(*lambda.Options)) (*lambda.ListVersionsByFunctionOutput, error)
	PublishVersion(ctx context.Context, in *lambda.PublishVersionInput, o ...func(*lambda.Options)) (*lambda.PublishVersionOutput, error)
	GetAlias(ctx context.Context, in *lambda.GetAliasInput, o ...func(*lambda.Options)) (*lambda.GetAliasOutput, error)
	CreateAlias(ctx context.Context, in *lambda.CreateAliasInput, o ...func(*lambda.Options)) (*lambda.CreateAliasOutput, error)
	UpdateAlias(ctx context.Context, in *lambda.UpdateAliasInput, o ...func(*lambda.Options)) (*lambda.UpdateAliasOutput, error)
	DeleteAlias(ctx context.Context, in *lambda.DeleteAliasInput, o ...func(*lambda.Options)) (*lambda.DeleteAliasOutput, error)
	GetPolicy(ctx context.Context, in *lambda.GetPolicyInput, o ...func(*lambda.Options)) (*lambda.GetPolicyOutput, error)
	AddPermission(ctx context.Context, in *lambda.AddPermissionInput, o ...func(*lambda.Options)) (*lambda.AddPermissionOutput, error)
	RemovePermission(ctx context.Context, in *lambda.RemovePermissionInput, o ...func(*lambda.Options)) (*lambda.RemovePermissionOutput, error)
	DeleteFunction(ctx context.Context, in *lambda.DeleteFunctionInput, o ...func(*lambda.Options)) (*lambda.DeleteFunctionOutput, error)
	// Invoke is the deploy's health check of a new version before alias live moves to it.
	Invoke(ctx context.Context, in *lambda.InvokeInput, o ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// APIGateway is the part of API Gateway v2 (HTTP APIs) rudderctl uses.
type APIGateway interface {
	GetApis(ctx context.Context, in *apigatewayv2.GetApisInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.GetApisOutput, error)
	CreateApi(ctx context.Context, in *apigatewayv2.CreateApiInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.CreateApiOutput, error)
	DeleteApi(ctx context.Context, in *apigatewayv2.DeleteApiInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.DeleteApiOutput, error)
	GetIntegrations(ctx context.Context, in *apigatewayv2.GetIntegrationsInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.GetIntegrationsOutput, error)
	CreateIntegration(ctx context.Context, in *apigatewayv2.CreateIntegrationInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.CreateIntegrationOutput, error)
	UpdateIntegration(ctx context.Context, in *apigatewayv2.UpdateIntegrationInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.UpdateIntegrationOutput, error)
	DeleteIntegration(ctx context.Context, in *apigatewayv2.DeleteIntegrationInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.DeleteIntegrationOutput, error)
	GetRoutes(ctx context.Context, in *apigatewayv2.GetRoutesInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.GetRoutesOutput, error)
	CreateRoute(ctx context.Context, in *apigatewayv2.CreateRouteInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.CreateRouteOutput, error)
	UpdateRoute(ctx context.Context, in *apigatewayv2.UpdateRouteInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.UpdateRouteOutput, error)
	DeleteRoute(ctx context.Context, in *apigatewayv2.DeleteRouteInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.DeleteRouteOutput, error)
	GetStages(ctx context.Context, in *apigatewayv2.GetStagesInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.GetStagesOutput, error)
	CreateStage(ctx context.Context, in *apigatewayv2.CreateStageInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.CreateStageOutput, error)
	UpdateStage(ctx context.Context, in *apigatewayv2.UpdateStageInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.UpdateStageOutput, error)
	DeleteStage(ctx context.Context, in *apigatewayv2.DeleteStageInput, o ...func(*apigatewayv2.Options)) (*apigatewayv2.DeleteStageOutput, error)
}

// S3 is the part of S3 rudderctl uses: the stack's artifacts bucket for zips over Lambda's
// 50 MB direct-upload limit.
type S3 interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, o ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, o ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	GetBucketTagging(ctx context.Context, in *s3.GetBucketTaggingInput, o ...func(*s3.Options)) (*s3.GetBucketTaggingOutput, error)
	PutBucketTagging(ctx context.Context, in *s3.PutBucketTaggingInput, o ...func(*s3.Options)) (*s3.PutBucketTaggingOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, o ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, o ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	// GetObject reads the stack lock (the holder's record) before waiting or taking it over.
	GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, o ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	DeleteBucket(ctx context.Context, in *s3.DeleteBucketInput, o ...func(*s3.Options)) (*s3.DeleteBucketOutput, error)
}

// Clients is one client per service, all for one region.
type Clients struct {
	Region     string
	STS        STS
	IAM        IAM
	Logs       Logs
	Lambda     Lambda
	APIGateway APIGateway
	S3         S3
}

// New builds the clients from the default credential chain (env, shared config, SSO,
// IMDS, ...) for region. AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> are honoured by
// the SDK itself. No network call is made here.
//
// opts adjust the retry policy (tests use them to stop at an injected fault instead of
// retrying it, to simulate an interrupted run).
func New(ctx context.Context, region string, opts ...RetryOption) (*Clients, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(region),
		awsconfig.WithRetryer(func() aws.Retryer { return NewRetryer(false, opts...) }),
	)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration unreadable: %v; check AWS_PROFILE and ~/.aws/config", err)
	}
	return &Clients{
		Region: region,
		STS:    sts.NewFromConfig(cfg),
		IAM:    iam.NewFromConfig(cfg),
		Logs:   cloudwatchlogs.NewFromConfig(cfg),
		Lambda: lambda.NewFromConfig(cfg, func(o *lambda.Options) {
			o.Retryer = NewRetryer(true, opts...)
		}),
		APIGateway: apigatewayv2.NewFromConfig(cfg),
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = EndpointOverridden("S3")
		}),
	}, nil
}

// EndpointOverridden reports whether AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_<service> points
// the SDK somewhere else than AWS (and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS does not cancel
// it). S3 then needs path-style addressing (http://HOST/bucket/key): a local endpoint has no
// per-bucket DNS names. Against AWS itself the SDK's virtual-hosted style is kept.
func EndpointOverridden(service string) bool {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")), "true") {
		return false
	}
	return strings.TrimSpace(os.Getenv("AWS_ENDPOINT_URL")) != "" ||
		strings.TrimSpace(os.Getenv("AWS_ENDPOINT_URL_"+strings.ToUpper(service))) != ""
}

// AccountID asks STS who we are.
func (c *Clients) AccountID(ctx context.Context) (string, error) {
	out, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", Explain("identify the AWS account (sts:GetCallerIdentity)", err)
	}
	return aws.ToString(out.Account), nil
}
