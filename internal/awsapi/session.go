package awsapi

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rudderctl/rudderctl/internal/awsapi/apigwapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/appscalingapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ec2api"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecrapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/elbv2api"
	"github.com/rudderctl/rudderctl/internal/awsapi/iamapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/lambdaapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/logsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/rdsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/s3api"
	"github.com/rudderctl/rudderctl/internal/awsapi/secretsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/stsapi"
)

// Session is one region's AWS access: the configuration is read once (NewSession), and
// each service's client is built the first time it is asked for, so a command that only
// touches S3 never builds the others.
type Session struct {
	Region string
	cfg    aws.Config
	opts   []RetryOption

	mu    sync.Mutex
	built []string // services built so far, in order (Built)

	sts     lazy[stsapi.Client]
	iam     lazy[iamapi.Client]
	logs    lazy[logsapi.Client]
	lambda  lazy[lambdaapi.Client]
	apigw   lazy[apigwapi.Client]
	s3      lazy[s3api.Client]
	ec2     lazy[ec2api.Client]
	ecs     lazy[ecsapi.Client]
	elbv2   lazy[elbv2api.Client]
	aas     lazy[appscalingapi.Client]
	ecr     lazy[ecrapi.Client]
	rds     lazy[rdsapi.Client]
	secrets lazy[secretsapi.Client]
}

// lazy is one client built once, on first use.
type lazy[T any] struct {
	once sync.Once
	c    *T
}

func (l *lazy[T]) get(s *Session, service string, build func() *T) *T {
	l.once.Do(func() {
		l.c = build()
		s.mu.Lock()
		s.built = append(s.built, service)
		s.mu.Unlock()
	})
	return l.c
}

// NewSession reads the configuration from the default credential chain (env, shared
// config, SSO, IMDS, ...) for region, with the one retry policy (retry.go).
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> are honoured by the SDK itself. No
// client is built and no network call is made here.
//
// opts adjust the retry policy (tests use them to stop at an injected fault instead of
// retrying it, to simulate an interrupted run).
func NewSession(ctx context.Context, region string, opts ...RetryOption) (*Session, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(region),
		awsconfig.WithRetryer(func() aws.Retryer { return NewRetryer(false, opts...) }),
	)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration unreadable: %v; check AWS_PROFILE and ~/.aws/config", err)
	}
	return &Session{Region: region, cfg: cfg, opts: opts}, nil
}

// Built are the services whose client this session has built, in the order first used
// ("sts", "iam", "logs", "lambda", "apigateway", "s3").
func (s *Session) Built() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.built...)
}

// STS is the STS client.
func (s *Session) STS() *stsapi.Client {
	return s.sts.get(s, "sts", func() *stsapi.Client { return stsapi.New(sts.NewFromConfig(s.cfg)) })
}

// IAM is the IAM client.
func (s *Session) IAM() *iamapi.Client {
	return s.iam.get(s, "iam", func() *iamapi.Client { return iamapi.New(iam.NewFromConfig(s.cfg)) })
}

// Logs is the CloudWatch Logs client.
func (s *Session) Logs() *logsapi.Client {
	return s.logs.get(s, "logs", func() *logsapi.Client { return logsapi.New(cloudwatchlogs.NewFromConfig(s.cfg)) })
}

// Lambda is the Lambda client; its retryer adds the Lambda transient errors.
func (s *Session) Lambda() *lambdaapi.Client {
	return s.lambda.get(s, "lambda", func() *lambdaapi.Client {
		return lambdaapi.New(lambda.NewFromConfig(s.cfg, func(o *lambda.Options) { o.Retryer = NewRetryer(true, s.opts...) }))
	})
}

// APIGateway is the API Gateway v2 (HTTP APIs) client.
func (s *Session) APIGateway() *apigwapi.Client {
	return s.apigw.get(s, "apigateway", func() *apigwapi.Client { return apigwapi.New(apigatewayv2.NewFromConfig(s.cfg)) })
}

// S3 is the S3 client: path-style addressing only with an endpoint override (see
// EndpointOverridden).
func (s *Session) S3() *s3api.Client {
	return s.s3.get(s, "s3", func() *s3api.Client {
		return s3api.New(s3.NewFromConfig(s.cfg, func(o *s3.Options) { o.UsePathStyle = EndpointOverridden("S3") }))
	})
}

// EC2 is the EC2 client (VPCs, subnets, security groups).
func (s *Session) EC2() *ec2api.Client {
	return s.ec2.get(s, "ec2", func() *ec2api.Client { return ec2api.New(ec2.NewFromConfig(s.cfg)) })
}

// ECS is the ECS client.
func (s *Session) ECS() *ecsapi.Client {
	return s.ecs.get(s, "ecs", func() *ecsapi.Client { return ecsapi.New(ecs.NewFromConfig(s.cfg)) })
}

// ELBv2 is the Elastic Load Balancing v2 client (ALBs, target groups, listeners).
func (s *Session) ELBv2() *elbv2api.Client {
	return s.elbv2.get(s, "elbv2", func() *elbv2api.Client { return elbv2api.New(elasticloadbalancingv2.NewFromConfig(s.cfg)) })
}

// AppScaling is the Application Auto Scaling client.
func (s *Session) AppScaling() *appscalingapi.Client {
	return s.aas.get(s, "appscaling", func() *appscalingapi.Client {
		return appscalingapi.New(applicationautoscaling.NewFromConfig(s.cfg))
	})
}

// ECR is the ECR client.
func (s *Session) ECR() *ecrapi.Client {
	return s.ecr.get(s, "ecr", func() *ecrapi.Client { return ecrapi.New(ecr.NewFromConfig(s.cfg)) })
}

// Config is the session's AWS configuration (credentials, region, endpoint), for callers
// that speak to AWS without a client of their own (an image push to ECR).
func (s *Session) Config() aws.Config { return s.cfg }

// AccountID asks STS who we are.
func (s *Session) AccountID(ctx context.Context) (string, error) {
	return s.STS().AccountID(ctx)
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

// RDS is the RDS client (PostgreSQL instances, snapshots, DB subnet groups).
func (s *Session) RDS() *rdsapi.Client {
	return s.rds.get(s, "rds", func() *rdsapi.Client { return rdsapi.New(rds.NewFromConfig(s.cfg)) })
}

// Secrets is the Secrets Manager client.
func (s *Session) Secrets() *secretsapi.Client {
	return s.secrets.get(s, "secretsmanager", func() *secretsapi.Client { return secretsapi.New(secretsmanager.NewFromConfig(s.cfg)) })
}
