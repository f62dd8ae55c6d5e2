package localcloud

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/rudderctl/rudderctl/internal/testfn"
)

const trustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// fastDelays keep tests quick but still observable.
var fastDelays = Delays{Active: 150 * time.Millisecond, Update: 150 * time.Millisecond, RolePropagation: -1}

func startCloud(t testing.TB, o Options) *Cloud {
	t.Helper()
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.StateDir == "" {
		o.StateDir = t.TempDir()
	}
	if o.Delays == (Delays{}) {
		o.Delays = fastDelays
	}
	if testing.Verbose() {
		o.Log = os.Stderr
	}
	c, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

type clients struct {
	cfg    aws.Config
	sts    *sts.Client
	iam    *iam.Client
	lambda *lambda.Client
	apigw  *apigatewayv2.Client
	logs   *cloudwatchlogs.Client
	s3     *s3.Client // path-style, as a local endpoint needs
}

// sdk builds real SDK clients pointed at the cloud. retry=false disables the retryer.
func sdk(c *Cloud, retry bool) clients {
	cfg := aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""),
		BaseEndpoint: aws.String(c.Endpoint()),
	}
	if !retry {
		cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	}
	return clients{
		cfg:    cfg,
		sts:    sts.NewFromConfig(cfg),
		iam:    iam.NewFromConfig(cfg),
		lambda: lambda.NewFromConfig(cfg),
		apigw:  apigatewayv2.NewFromConfig(cfg),
		logs:   cloudwatchlogs.NewFromConfig(cfg),
		s3:     s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
	}
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %s, got success", code)
	}
	if got := errCode(err); got != code {
		t.Fatalf("want error %s, got %q (%v)", code, got, err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func dummyZip(t *testing.T, content string) []byte {
	return testfn.Zip(t, []testfn.File{{Name: "index.js", Mode: 0o644, Data: []byte(content)}})
}

// mkRole creates a role usable by Lambda.
func mkRole(t *testing.T, cl clients, name string) string {
	t.Helper()
	out, err := cl.iam.CreateRole(context.Background(), &iam.CreateRoleInput{
		RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trustPolicy), Path: aws.String("/rudderctl/"),
	})
	must(t, err)
	return *out.Role.Arn
}

func asError[T any](err error, target *T) bool { return err != nil && errors.As(err, target) }
