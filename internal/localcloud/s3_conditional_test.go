package localcloud

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestS3ConditionalWrites: PutObject with If-None-Match: * and If-Match: <ETag>, with S3's
// answers — 412 PreconditionFailed, 404 NoSuchKey, 409 ConditionalRequestConflict — and
// exactly one winner among concurrent create-only writes.
func TestS3ConditionalWrites(t *testing.T) {
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()
	_, err := cl.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cond"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}})
	must(t, err)
	put := func(key, body string, set func(*s3.PutObjectInput)) (*s3.PutObjectOutput, error) {
		in := &s3.PutObjectInput{Bucket: aws.String("cond"), Key: aws.String(key), Body: strings.NewReader(body)}
		set(in)
		return cl.s3.PutObject(ctx, in)
	}
	noneMatch := func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") }
	ifMatch := func(etag string) func(*s3.PutObjectInput) {
		return func(in *s3.PutObjectInput) { in.IfMatch = aws.String(etag) }
	}

	first, err := put("lock", "one", noneMatch)
	must(t, err)
	_, err = put("lock", "two", noneMatch)
	wantCode(t, err, "PreconditionFailed")
	second, err := put("lock", "two", ifMatch(aws.ToString(first.ETag)))
	must(t, err)
	_, err = put("lock", "three", ifMatch(aws.ToString(first.ETag))) // stale ETag
	wantCode(t, err, "PreconditionFailed")
	_, err = put("missing", "x", ifMatch(aws.ToString(second.ETag)))
	wantCode(t, err, "NoSuchKey")
	_, err = put("lock", "x", func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String(`"abc"`) })
	wantCode(t, err, "NotImplemented")
	got, err := cl.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("cond"), Key: aws.String("lock")})
	must(t, err)
	b, _ := io.ReadAll(got.Body)
	if string(b) != "two" || aws.ToString(got.ETag) != aws.ToString(second.ETag) {
		t.Fatalf("object after the refused writes: %q %s", b, aws.ToString(got.ETag))
	}

	// Concurrent create-only writes: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, codes := 0, map[string]int{}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := put("race", strings.Repeat("x", i+1), noneMatch)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else {
				codes[errCode(err)]++
			}
		}(i)
	}
	wg.Wait()
	if wins != 1 || codes["PreconditionFailed"]+codes["ConditionalRequestConflict"] != 7 {
		t.Fatalf("concurrent If-None-Match: %d winners, refusals %v", wins, codes)
	}

}
