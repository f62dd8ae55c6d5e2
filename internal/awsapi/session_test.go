package awsapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/awsapi/s3api"
	"github.com/rudderctl/rudderctl/internal/localcloud"
)

// A session that only uses S3 builds the S3 client and no other, and builds it once.
func TestSessionBuildsClientsOnFirstUse(t *testing.T) {
	cloud, s := awstest.Start(t, localcloud.Delays{})
	if b := s.Built(); len(b) != 0 {
		t.Fatalf("NewSession built %v; want nothing before first use", b)
	}
	ctx := context.Background()
	if err := s.S3().FindBucket(ctx, "no-such-bucket"); !errors.Is(err, awsapi.ErrNotFound) {
		t.Fatalf("FindBucket: %v", err)
	}
	if s.S3() != s.S3() {
		t.Fatal("S3() built a second client")
	}
	if b := s.Built(); !slices.Equal(b, []string{"s3"}) {
		t.Fatalf("built %v; want [s3]", b)
	}
	for op := range cloud.Stats().ByOperation {
		if !strings.HasPrefix(op, "s3:") {
			t.Fatalf("an S3-only session called %s", op)
		}
	}
	if _, err := s.AccountID(ctx); err != nil {
		t.Fatal(err)
	}
	if b := s.Built(); !slices.Equal(b, []string{"s3", "sts"}) {
		t.Fatalf("built %v; want [s3 sts]", b)
	}
}

// quickBackoff keeps the policy (attempts, what is retryable) but waits 1 ms between
// attempts, so the test does not sit through the real backoff.
func quickBackoff(o *retry.StandardOptions) {
	o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
}

// oneCallPerService makes one read call with each client of s.
func oneCallPerService(s *awsapi.Session) []struct {
	op   string
	call func(context.Context) error
} {
	return []struct {
		op   string
		call func(context.Context) error
	}{
		{"sts:GetCallerIdentity", func(ctx context.Context) error { _, err := s.AccountID(ctx); return err }},
		{"iam:ListRolePolicies", func(ctx context.Context) error {
			_, err := s.IAM().ListRolePolicies(ctx, "nope")
			return notFoundIsFine(err)
		}},
		{"logs:DescribeLogGroups", func(ctx context.Context) error { _, err := s.Logs().ListLogGroups(ctx, "/x"); return err }},
		{"lambda:GetFunction", func(ctx context.Context) error {
			_, err := s.Lambda().FindFunction(ctx, "nope")
			return notFoundIsFine(err)
		}},
		{"apigateway:GetApis", func(ctx context.Context) error {
			_, err := s.APIGateway().FindAPIsByTag(ctx, "k", "v", "n")
			return err
		}},
		// Not HeadBucket: a HEAD answer has no body, so a throttled one has no code.
		{"s3:ListObjectsV2", func(ctx context.Context) error { _, err := s.S3().ListKeys(ctx, "nope"); return notFoundIsFine(err) }},
	}
}

// Every client goes through the one retry policy: a call throttled every time is tried
// exactly MaxAttempts times and then fails as ErrThrottled, explained.
func TestSessionRetryPolicyAttempts(t *testing.T) {
	cloud, s := awstest.Start(t, localcloud.Delays{}, quickBackoff)
	if err := cloud.SetFaults("throttle=1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range oneCallPerService(s) {
		err := c.call(context.Background())
		if !errors.Is(err, awsapi.ErrThrottled) || !strings.Contains(err.Error(), "AWS kept refusing after retries") {
			t.Errorf("%s always throttled: %v; want ErrThrottled, explained", c.op, err)
		}
		if n := cloud.Stats().InjectedInto[c.op]; n != awsapi.MaxAttempts {
			t.Errorf("%s: %d attempts, want the policy's %d", c.op, n, awsapi.MaxAttempts)
		}
	}
}

// With half the calls throttled, every client's calls still succeed, and the cloud really
// did throttle each service.
func TestSessionRetriesThrottling(t *testing.T) {
	cloud, s := awstest.Start(t, localcloud.Delays{}, quickBackoff)
	if err := cloud.SetFaults("throttle=0.5,seed=7"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		for _, c := range oneCallPerService(s) {
			if err := c.call(context.Background()); err != nil {
				t.Fatalf("%s under throttling: %v", c.op, err)
			}
		}
	}
	st := cloud.Stats()
	for _, c := range oneCallPerService(s) {
		if st.InjectedInto[c.op] == 0 {
			t.Errorf("no throttle reached %s (injected into %v): its retries are untested", c.op, st.InjectedInto)
		}
	}
}

func notFoundIsFine(err error) error {
	if errors.Is(err, awsapi.ErrNotFound) {
		return nil
	}
	return err
}

// A typed error matches its kind, keeps the SDK error, and reads the way Explain words it.
func TestTypedErrorsAreExplained(t *testing.T) {
	_, s := awstest.Start(t, localcloud.Delays{})
	_, err := s.IAM().FindRole(context.Background(), "ghost")
	if !errors.Is(err, awsapi.ErrNotFound) || errors.Is(err, awsapi.ErrAlreadyExists) {
		t.Fatalf("FindRole(ghost) = %v; want ErrNotFound only", err)
	}
	if !awsapi.IsNotFound(err) || !awsapi.IsCode(err, "NoSuchEntity") {
		t.Fatalf("the SDK error is not reachable: %v", err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatal("errors.As(smithy.APIError) failed")
	}
	want := fmt.Sprintf("could not read IAM role ghost: NoSuchEntity: %s; check the error above and run the command again (every step is idempotent)", ae.ErrorMessage())
	if err.Error() != want {
		t.Fatalf("message\n got %q\nwant %q", err.Error(), want)
	}
	// Explained again under another "what", it reads as if the SDK error were explained.
	if got, want := awsapi.Explain("observe", err).Error(), awsapi.Explain("observe", ae).Error(); got != want {
		t.Fatalf("re-explained\n got %q\nwant %q", got, want)
	}
}

// Unreachable endpoint: no retry storm, and the explanation says what to do.
func TestUnreachableIsExplained(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	isolateEnv(t)
	t.Setenv("AWS_ENDPOINT_URL", url)
	s, err := awsapi.NewSession(context.Background(), "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Lambda().FindFunction(context.Background(), "f")
	if err == nil || errors.Is(err, awsapi.ErrNotFound) || !strings.Contains(err.Error(), "could not read Lambda function f: ") ||
		!strings.HasSuffix(err.Error(), "AWS is unreachable from here; check the network, or AWS_ENDPOINT_URL if you target a local cloud") {
		t.Fatalf("unreachable: %v", err)
	}
}

// The Session's S3 client addresses buckets path-style only with an endpoint override
// (a local endpoint has no per-bucket DNS names); against AWS it keeps virtual-hosted style.
func TestSessionS3PathStyleOnlyWithAnEndpointOverride(t *testing.T) {
	isolateEnv(t)
	pathStyle := func() bool {
		s, err := awsapi.NewSession(context.Background(), "eu-west-1")
		if err != nil {
			t.Fatal(err)
		}
		return s.S3().SDK().Options().UsePathStyle
	}
	if pathStyle() {
		t.Fatal("path style against AWS itself")
	}
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
	if !pathStyle() {
		t.Fatal("AWS_ENDPOINT_URL_S3 set: want path style")
	}
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	if pathStyle() {
		t.Fatal("endpoints ignored: want virtual-hosted style")
	}
}

// A bucket S3 refuses to show (403: another account's, or no s3:ListBucket) is ErrForeign,
// not "not found" and not a credentials problem.
func TestFindBucketForbiddenIsForeign(t *testing.T) {
	isolateEnv(t)
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Method + " " + r.Host + r.URL.Path
		w.WriteHeader(http.StatusForbidden)
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	s, err := awsapi.NewSession(context.Background(), "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	err = s.S3().FindBucket(context.Background(), "their-bucket")
	if !errors.Is(err, s3api.ErrForeign) || errors.Is(err, awsapi.ErrNotFound) || strings.Contains(err.Error(), "credentials") {
		t.Fatalf("403 HeadBucket: %v; want ErrForeign", err)
	}
	if want := "HEAD " + srv.Listener.Addr().String() + "/their-bucket"; got != want {
		t.Fatalf("request %q, want %q (path style)", got, want)
	}
}

func isolateEnv(t *testing.T) {
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_PROFILE", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "x")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}
