package awsapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func isolate(t *testing.T) {
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_PROFILE", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "x")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

func TestS3PathStyleOnlyWithAnEndpointOverride(t *testing.T) {
	isolate(t)
	pathStyle := func() bool {
		c, err := New(context.Background(), "eu-west-1")
		if err != nil {
			t.Fatal(err)
		}
		return c.S3.(*s3.Client).Options().UsePathStyle
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
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")

	// With AWS_ENDPOINT_URL the request really goes to HOST/bucket.
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Host + r.URL.Path
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	c, err := New(context.Background(), "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.S3.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String("my-bucket")}); err != nil {
		t.Fatal(err)
	}
	if want := srv.Listener.Addr().String() + "/my-bucket"; got != want {
		t.Fatalf("request to %q, want %q", got, want)
	}
}
