package s3api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/awsapi/s3api"
	"github.com/rudderctl/rudderctl/internal/localcloud"
)

func TestBucketLifecycle(t *testing.T) {
	_, s := awstest.Start(t, localcloud.Delays{})
	ctx := context.Background()
	c := s.S3()
	const b = "rudderctl-test-bucket"
	if err := c.FindBucket(ctx, b); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("FindBucket before create: %v", err)
	}
	if err := c.CreateBucket(ctx, b, awstest.Region); err != nil {
		t.Fatal(err)
	}
	// us-east-1 answers success to a create of a bucket you own (AWS's legacy behaviour);
	// elsewhere it is BucketAlreadyOwnedByYou.
	if err := c.CreateBucket(ctx, b, awstest.Region); err != nil {
		t.Fatalf("CreateBucket twice in us-east-1: %v", err)
	}
	if err := c.CreateBucket(ctx, "rudderctl-test-eu", "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateBucket(ctx, "rudderctl-test-eu", "eu-west-1"); !errors.Is(err, awserr.ErrAlreadyExists) {
		t.Fatalf("CreateBucket twice in eu-west-1: %v", err)
	}
	if err := c.FindBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	if tags, err := c.BucketTags(ctx, b); err != nil || len(tags) != 0 {
		t.Fatalf("BucketTags of an untagged bucket: %v %v", tags, err)
	}
	if err := c.PutBucketTags(ctx, b, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if tags, err := c.BucketTags(ctx, b); err != nil || tags["k"] != "v" {
		t.Fatalf("BucketTags: %v %v", tags, err)
	}
	if ok, err := c.ObjectExists(ctx, b, "k"); ok || err != nil {
		t.Fatalf("ObjectExists before put: %v %v", ok, err)
	}
	if _, _, err := c.GetObject(ctx, b, "k", 1<<10); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("GetObject before put: %v", err)
	}
	etag, err := c.PutObject(ctx, s3api.Object{Bucket: b, Key: "k", Body: bytes.NewReader([]byte("one")), Length: 3, IfNoneMatch: true})
	if err != nil || etag == "" {
		t.Fatalf("PutObject: %q %v", etag, err)
	}
	// Conditional writes: create-only loses to the existing object, replace-if loses to a
	// changed ETag; replacing the current ETag wins.
	if _, err := c.PutObject(ctx, s3api.Object{Bucket: b, Key: "k", Body: bytes.NewReader([]byte("two")), IfNoneMatch: true}); !errors.Is(err, awserr.ErrPreconditionFailed) {
		t.Fatalf("PutObject if-none-match over an object: %v", err)
	}
	if _, err := c.PutObject(ctx, s3api.Object{Bucket: b, Key: "k", Body: bytes.NewReader([]byte("two")), IfMatch: `"stale"`}); !errors.Is(err, awserr.ErrPreconditionFailed) {
		t.Fatalf("PutObject if-match a stale ETag: %v", err)
	}
	etag2, err := c.PutObject(ctx, s3api.Object{Bucket: b, Key: "k", Body: bytes.NewReader([]byte("two")), IfMatch: etag, ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	body, got, err := c.GetObject(ctx, b, "k", 1<<10)
	if err != nil || string(body) != "two" || got != etag2 {
		t.Fatalf("GetObject: %q %q %v", body, got, err)
	}
	if ok, err := c.ObjectExists(ctx, b, "k"); !ok || err != nil {
		t.Fatalf("ObjectExists: %v %v", ok, err)
	}
	if err := c.DeleteBucket(ctx, b); !errors.Is(err, s3api.ErrNotEmpty) {
		t.Fatalf("DeleteBucket with an object: %v", err)
	}
	if err := c.DeleteObject(ctx, b, "k"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteBucket(ctx, b); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("DeleteBucket twice: %v", err)
	}
	if err := c.DeleteObject(ctx, b, "k"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("DeleteObject in a deleted bucket: %v", err)
	}
}

// ListKeys reads every page (ContinuationToken; max-keys honoured by the local cloud).
func TestListKeysReadsEveryPage(t *testing.T) {
	cloud, s := awstest.Start(t, localcloud.Delays{})
	ctx := context.Background()
	c := s.S3()
	const b = "rudderctl-test-keys"
	if err := c.CreateBucket(ctx, b, awstest.Region); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 5 {
		k := fmt.Sprintf("k%d", i)
		want = append(want, k)
		if _, err := c.PutObject(ctx, s3api.Object{Bucket: b, Key: k, Body: bytes.NewReader(nil)}); err != nil {
			t.Fatal(err)
		}
	}
	c.PageSize = 2
	cloud.ResetStats()
	keys, err := c.ListKeys(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	if n := cloud.Stats().ByOperation["s3:ListObjectsV2"]; n != 3 {
		t.Fatalf("%d ListObjectsV2 calls for 5 keys by 2; want 3", n)
	}
}
