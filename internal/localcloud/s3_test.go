package localcloud

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	lambdaroom "github.com/rudderctl/rudderctl/internal/localcloud/lambda"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/rudderctl/rudderctl/internal/testfn"
)

func mkBucket(t *testing.T, cl clients, name string) {
	t.Helper()
	_, err := cl.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(cl.cfg.Region)}})
	must(t, err)
}

func TestS3Buckets(t *testing.T) {
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()
	const name = "rudderctl-s3-000000000000-eu-west-1"

	_, err := cl.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
	wantCode(t, err, "NotFound")
	// Location constraints as S3 checks them on a regional endpoint.
	_, err = cl.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	wantCode(t, err, "IllegalLocationConstraintException")
	_, err = cl.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	wantCode(t, err, "InvalidBucketName")
	c.ResetStats()
	mkBucket(t, cl, name)
	_, err = cl.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}})
	wantCode(t, err, "BucketAlreadyOwnedByYou")
	hb, err := cl.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
	must(t, err)
	if aws.ToString(hb.BucketRegion) != "eu-west-1" {
		t.Fatalf("HeadBucket region %v", aws.ToString(hb.BucketRegion))
	}
	// us-east-1: no constraint; a constraint of us-east-1 is refused; creating it again succeeds.
	east := cl.cfg.Copy()
	east.Region = "us-east-1"
	s3east := s3.NewFromConfig(east, func(o *s3.Options) { o.UsePathStyle = true })
	_, err = s3east.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("east-bucket"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "us-east-1"}})
	wantCode(t, err, "InvalidLocationConstraint")
	for range 2 {
		_, err = s3east.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("east-bucket")})
		must(t, err)
	}
	lb, err := cl.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
	must(t, err)
	if len(lb.Buckets) != 2 || aws.ToString(lb.Buckets[0].Name) != "east-bucket" || aws.ToString(lb.Buckets[1].Name) != name ||
		aws.ToString(lb.Buckets[1].BucketRegion) != "eu-west-1" || lb.Buckets[1].CreationDate == nil {
		t.Fatalf("ListBuckets %+v", lb.Buckets)
	}
	page, err := cl.s3.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(1)})
	must(t, err)
	if len(page.Buckets) != 1 || page.ContinuationToken == nil {
		t.Fatalf("ListBuckets page 1: %+v", page)
	}
	page, err = cl.s3.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(1), ContinuationToken: page.ContinuationToken})
	must(t, err)
	if len(page.Buckets) != 1 || aws.ToString(page.Buckets[0].Name) != name {
		t.Fatalf("ListBuckets page 2: %+v", page.Buckets)
	}

	// Tags: none yet, then a set, found by Resources.
	_, err = cl.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(name)})
	wantCode(t, err, "NoSuchTagSet")
	_, err = cl.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(name), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
		{Key: aws.String("rudderctl:stack"), Value: aws.String("s3")}, {Key: aws.String("team"), Value: aws.String("data")}}}})
	must(t, err)
	gt, err := cl.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(name)})
	must(t, err)
	if len(gt.TagSet) != 2 || aws.ToString(gt.TagSet[0].Key) != "rudderctl:stack" || aws.ToString(gt.TagSet[0].Value) != "s3" {
		t.Fatalf("GetBucketTagging %+v", gt.TagSet)
	}
	_, err = cl.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(name), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
		{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("a"), Value: aws.String("2")}}}})
	wantCode(t, err, "InvalidTag")
	res := c.Resources("rudderctl:stack", "s3")
	if len(res) != 1 || res[0].Service != "s3" || res[0].Type != "bucket" || res[0].Name != name || res[0].ARN != "arn:aws:s3:::"+name {
		t.Fatalf("Resources %+v", res)
	}

	// Not empty -> 409; empty -> gone.
	_, err = cl.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(name), Key: aws.String("k"), Body: strings.NewReader("x")})
	must(t, err)
	_, err = cl.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
	wantCode(t, err, "BucketNotEmpty")
	_, err = cl.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: aws.String("k")})
	must(t, err)
	_, err = cl.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
	must(t, err)
	_, err = cl.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
	wantCode(t, err, "NoSuchBucket")
	if res := c.Resources("rudderctl:stack", "s3"); len(res) != 0 {
		t.Fatalf("Resources after delete: %+v", res)
	}

	st := c.Stats()
	for op, n := range map[string]int{"s3:CreateBucket": 5, "s3:HeadBucket": 1, "s3:ListBuckets": 3, "s3:PutBucketTagging": 2, "s3:GetBucketTagging": 2, "s3:DeleteBucket": 3} {
		if st.ByOperation[op] != n {
			t.Errorf("%s counted %d times, want %d (%v)", op, st.ByOperation[op], n, st.ByOperation)
		}
	}
	// Reads (Head*, Get*, List*) are not mutating.
	if want := 5 + 2 + 3 + 1 + 1; st.MutatingCalls != want {
		t.Errorf("mutating calls %d, want %d (%v)", st.MutatingCalls, want, st.ByOperation)
	}

	// Faults: throttling is S3's 503 SlowDown, errors a 500 InternalError.
	must(t, c.SetFaults("throttle=1"))
	_, err = cl.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
	wantCode(t, err, "SlowDown")
	must(t, c.SetFaults("error=1"))
	_, err = cl.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("east-bucket")})
	wantCode(t, err, "InternalServerError") // HEAD: no body, the SDK names it after the status
	_, err = cl.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("never"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}})
	wantCode(t, err, "InternalError")
	must(t, c.SetFaults(""))
	if _, err := cl.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("never")}); errCode(err) != "NotFound" {
		t.Fatalf("a faulted CreateBucket created the bucket: %v", err)
	}
}

func TestS3Objects(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, Options{StateDir: dir})
	cl := sdk(c, false)
	ctx := context.Background()
	const bucket = "objects"
	mkBucket(t, cl, bucket)

	data := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // 1.6 MB
	sum := sha256.Sum256(data)
	_, err := cl.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a.zip")})
	wantCode(t, err, "NotFound")
	c.ResetStats()
	put, err := cl.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a.zip"), Body: bytes.NewReader(data),
		ContentType: aws.String("application/zip"), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32, Metadata: map[string]string{"sha256": fmt.Sprintf("%x", sum)}})
	must(t, err)
	if st := c.Stats(); st.MutatingCalls != 1 || st.ByOperation["s3:PutObject"] != 1 {
		t.Fatalf("PutObject stats %+v", st)
	}
	// The SDK sent a CRC32 checksum and S3 echoes it.
	if put.ETag == nil || put.ChecksumCRC32 == nil {
		t.Fatalf("PutObject output: etag %v crc32 %v", put.ETag, put.ChecksumCRC32)
	}
	ho, err := cl.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a.zip")})
	must(t, err)
	if aws.ToInt64(ho.ContentLength) != int64(len(data)) || aws.ToString(ho.ETag) != aws.ToString(put.ETag) ||
		aws.ToString(ho.ContentType) != "application/zip" || ho.Metadata["sha256"] != fmt.Sprintf("%x", sum) || ho.LastModified == nil {
		t.Fatalf("HeadObject %+v", ho)
	}
	get, err := cl.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a.zip"), ChecksumMode: s3types.ChecksumModeEnabled})
	must(t, err)
	got, err := io.ReadAll(get.Body) // the SDK validates the CRC32 while reading
	get.Body.Close()
	must(t, err)
	if !bytes.Equal(got, data) || aws.ToString(get.ChecksumCRC32) != aws.ToString(put.ChecksumCRC32) {
		t.Fatalf("GetObject: %d bytes, crc %v", len(got), aws.ToString(get.ChecksumCRC32))
	}
	rng, err := cl.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a.zip"), Range: aws.String("bytes=16-31")})
	must(t, err)
	part, _ := io.ReadAll(rng.Body)
	rng.Body.Close()
	if string(part) != "0123456789abcdef" {
		t.Fatalf("range: %q", part)
	}
	// Other checksum algorithms are verified too.
	for _, alg := range []s3types.ChecksumAlgorithm{s3types.ChecksumAlgorithmSha256, s3types.ChecksumAlgorithmCrc32c, s3types.ChecksumAlgorithmCrc64nvme, s3types.ChecksumAlgorithmSha1} {
		_, err := cl.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("alg/" + string(alg)), Body: bytes.NewReader([]byte("hello " + alg)), ChecksumAlgorithm: alg})
		if err != nil {
			t.Fatalf("PutObject with %s: %v", alg, err)
		}
	}
	_, err = cl.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("bad"), Body: strings.NewReader("hello"),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(make([]byte, 32)))})
	wantCode(t, err, "BadDigest")

	_, err = cl.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("missing")})
	wantCode(t, err, "NoSuchKey")
	_, err = cl.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("k")})
	wantCode(t, err, "NoSuchBucket")
	_, err = cl.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("k"), Body: strings.NewReader("x")})
	wantCode(t, err, "NoSuchBucket")

	// ListObjectsV2: prefix, delimiter, pages.
	for _, k := range []string{"dir/b.zip", "dir/sub/c.zip", "top.txt"} {
		_, err := cl.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: strings.NewReader(k)})
		must(t, err)
	}
	lo, err := cl.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("dir/"), Delimiter: aws.String("/")})
	must(t, err)
	if len(lo.Contents) != 2 || aws.ToString(lo.Contents[0].Key) != "dir/a.zip" || aws.ToInt64(lo.Contents[0].Size) != int64(len(data)) ||
		len(lo.CommonPrefixes) != 1 || aws.ToString(lo.CommonPrefixes[0].Prefix) != "dir/sub/" || aws.ToBool(lo.IsTruncated) {
		t.Fatalf("ListObjectsV2 delimiter: %+v", lo)
	}
	var keys []string
	p := s3.NewListObjectsV2Paginator(cl.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		must(t, err)
		pages++
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	if pages != 4 || len(keys) != 8 || keys[0] != "alg/CRC32C" || keys[7] != "top.txt" {
		t.Fatalf("paginated: %d pages %v", pages, keys)
	}

	// Objects persist (by content) across a restart; a deleted object's data goes.
	must(t, c.Close())
	c2 := startCloud(t, Options{StateDir: dir})
	cl = sdk(c2, false)
	get, err = cl.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a.zip")})
	must(t, err)
	got, _ = io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("object lost across a restart")
	}
	blob := filepath.Join(dir, "s3", fmt.Sprintf("%x", sum))
	if _, err := os.Stat(blob); err != nil {
		t.Fatalf("object not stored by content: %v", err)
	}
	_, err = cl.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a.zip")})
	must(t, err)
	if _, err := os.Stat(blob); !os.IsNotExist(err) {
		t.Fatalf("data of a deleted object kept: %v", err)
	}
	_, err = cl.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a.zip")})
	must(t, err) // deleting a missing key succeeds, as on S3

	// Virtual-host style addressing works too (bucket.s3.localhost).
	req, _ := http.NewRequest(http.MethodGet, c2.Endpoint()+"/top.txt", nil)
	req.Host = bucket + ".s3.localhost"
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	vb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(vb) != "top.txt" {
		t.Fatalf("virtual host: %d %s", resp.StatusCode, vb)
	}
}

// bigZip is the echo function plus incompressible padding: over Lambda's 50 MB direct limit.
func bigZip(t *testing.T, mb int) []byte {
	t.Helper()
	pad := make([]byte, mb<<20)
	rand.New(rand.NewSource(7)).Read(pad)
	return testfn.Zip(t, testfn.Files(t, testfn.Build(t, "./testdata/echofn"), nil, testfn.File{Name: "padding.bin", Mode: 0o644, Data: pad}))
}

func TestLambdaCodeFromS3(t *testing.T) {
	zip := echoZip(t)
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()
	role := mkRole(t, cl, "s3-role")
	const bucket, fn = "code-bucket", "from-s3"
	mkBucket(t, cl, bucket)

	create := func(key string) error {
		_, err := cl.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(fn), Runtime: ltypes.RuntimeProvidedal2023, Role: aws.String(role), Handler: aws.String("rudderctl.handler"),
			Code:        &ltypes.FunctionCode{S3Bucket: aws.String(bucket), S3Key: aws.String(key)},
			Environment: &ltypes.Environment{Variables: map[string]string{"GREETING": "s3", "AWS_LAMBDA_EXEC_WRAPPER": "/var/task/rudderctl-wrapper"}},
		})
		return err
	}
	err := create("missing.zip")
	wantCode(t, err, "InvalidParameterValueException")
	if !strings.Contains(err.Error(), "Error occurred while GetObject. S3 Error Code: NoSuchKey") {
		t.Fatalf("missing key: %v", err)
	}
	_, err = cl.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(fn), Runtime: ltypes.RuntimeProvidedal2023, Role: aws.String(role),
		Handler: aws.String("h"), Code: &ltypes.FunctionCode{S3Bucket: aws.String("nope"), S3Key: aws.String("k")}})
	if errCode(err) != "InvalidParameterValueException" || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Fatalf("missing bucket: %v", err)
	}

	// Over 50 MB: refused as ZipFile, accepted from S3.
	big := bigZip(t, 56)
	if len(big) <= lambdaroom.MaxZipDirect {
		t.Fatalf("big zip is only %d B", len(big))
	}
	_, err = cl.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("big.zip"), Body: bytes.NewReader(big)})
	must(t, err)
	must(t, create("big.zip"))
	sum := sha256.Sum256(big)
	wait := func() {
		must(t, lambda.NewFunctionUpdatedV2Waiter(cl.lambda).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)}, 10*time.Second,
			func(o *lambda.FunctionUpdatedV2WaiterOptions) {
				o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
			}))
	}
	wait()
	gf, err := cl.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)})
	must(t, err)
	if aws.ToString(gf.Configuration.CodeSha256) != base64.StdEncoding.EncodeToString(sum[:]) || gf.Configuration.CodeSize != int64(len(big)) {
		t.Fatalf("CodeSha256 %s size %d", aws.ToString(gf.Configuration.CodeSha256), gf.Configuration.CodeSize)
	}
	invoke := func() string {
		out, err := cl.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn),
			Payload: []byte(`{"version":"2.0","rawPath":"/s3","requestContext":{"http":{"method":"GET","path":"/s3"}}}`)})
		must(t, err)
		if out.FunctionError != nil {
			t.Fatalf("invoke: %s", out.Payload)
		}
		return string(out.Payload)
	}
	if p := invoke(); !strings.Contains(p, `\"greeting\":\"s3\"`) && !strings.Contains(p, `"greeting":"s3"`) {
		t.Fatalf("invoke payload %s", p)
	}
	_, err = cl.lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(fn), ZipFile: big})
	wantCode(t, err, "RequestEntityTooLargeException")

	// UpdateFunctionCode from S3; the object can go afterwards (Lambda keeps its own copy).
	_, err = cl.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("small.zip"), Body: bytes.NewReader(zip)})
	must(t, err)
	up, err := cl.lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(fn), S3Bucket: aws.String(bucket), S3Key: aws.String("small.zip")})
	must(t, err)
	small := sha256.Sum256(zip)
	if aws.ToString(up.CodeSha256) != base64.StdEncoding.EncodeToString(small[:]) {
		t.Fatalf("UpdateFunctionCode CodeSha256 %s", aws.ToString(up.CodeSha256))
	}
	wait()
	_, err = cl.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("small.zip")})
	must(t, err)
	invoke()

	// A bucket in another region: Lambda cannot read it.
	east := cl.cfg.Copy()
	east.Region = "us-east-1"
	s3east := s3.NewFromConfig(east, func(o *s3.Options) { o.UsePathStyle = true })
	_, err = s3east.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("far-away")})
	must(t, err)
	_, err = s3east.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("far-away"), Key: aws.String("k.zip"), Body: bytes.NewReader(zip)})
	must(t, err)
	_, err = cl.lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(fn), S3Bucket: aws.String("far-away"), S3Key: aws.String("k.zip")})
	if errCode(err) != "InvalidParameterValueException" || !strings.Contains(err.Error(), "PermanentRedirect") {
		t.Fatalf("bucket in another region: %v", err)
	}
}

// TestAWSCLIS3 checks the real AWS CLI against the local S3.
func TestAWSCLIS3(t *testing.T) {
	if testing.Short() {
		t.Skip("the AWS CLI is slow to start")
	}
	c := startCloud(t, Options{})
	run := awsCLI(t, c.Endpoint())
	home := t.TempDir()
	file := filepath.Join(home, "obj.bin")
	must(t, os.WriteFile(file, bytes.Repeat([]byte("rudder"), 1000), 0o644))

	run("s3api", "create-bucket", "--bucket", "cli-bucket")
	run("s3api", "put-bucket-tagging", "--bucket", "cli-bucket", "--tagging", "TagSet=[{Key=rudderctl:stack,Value=cli}]")
	lb := run("s3api", "list-buckets")
	buckets := lb["Buckets"].([]any)
	if len(buckets) != 1 || buckets[0].(map[string]any)["Name"] != "cli-bucket" {
		t.Fatalf("list-buckets: %v", lb)
	}
	put := run("s3api", "put-object", "--bucket", "cli-bucket", "--key", "transformer/x.zip", "--body", file)
	if put["ETag"] == nil {
		t.Fatalf("put-object: %v", put)
	}
	ho := run("s3api", "head-object", "--bucket", "cli-bucket", "--key", "transformer/x.zip")
	if ho["ContentLength"] != float64(6000) || ho["ETag"] != put["ETag"] {
		t.Fatalf("head-object: %v", ho)
	}
	lo := run("s3api", "list-objects-v2", "--bucket", "cli-bucket", "--prefix", "transformer/")
	if cs := lo["Contents"].([]any); len(cs) != 1 || cs[0].(map[string]any)["Key"] != "transformer/x.zip" {
		t.Fatalf("list-objects-v2: %v", lo)
	}
	tags := run("s3api", "get-bucket-tagging", "--bucket", "cli-bucket")
	if ts := tags["TagSet"].([]any); len(ts) != 1 || ts[0].(map[string]any)["Value"] != "cli" {
		t.Fatalf("get-bucket-tagging: %v", tags)
	}
	out := filepath.Join(home, "back.bin")
	run("s3api", "get-object", "--bucket", "cli-bucket", "--key", "transformer/x.zip", out)
	if b, _ := os.ReadFile(out); len(b) != 6000 {
		t.Fatalf("get-object wrote %d bytes", len(b))
	}
	run("s3api", "delete-object", "--bucket", "cli-bucket", "--key", "transformer/x.zip")
	run("s3api", "delete-bucket", "--bucket", "cli-bucket")
	if lb := run("s3api", "list-buckets"); len(lb["Buckets"].([]any)) != 0 { // an empty list, not absent
		t.Fatalf("list-buckets after delete: %v", lb)
	}
}

// TestS3AWSChunked puts objects the way the SDK does over HTTPS (aws-chunked bodies with a
// trailing checksum), through a TLS proxy in front of the cloud, and as raw signed chunks.
func TestS3AWSChunked(t *testing.T) {
	c := startCloud(t, Options{})
	target, _ := url.Parse(c.Endpoint())
	tls := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	defer tls.Close()
	cl := sdk(c, false)
	ctx := context.Background()
	mkBucket(t, cl, "chunked")
	cfg := cl.cfg.Copy()
	cfg.BaseEndpoint = aws.String(tls.URL)
	cfg.HTTPClient = tls.Client()
	var sent []string
	viaTLS := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.HTTPClient = tls.Client()
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("record", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if r, ok := in.Request.(*smithyhttp.Request); ok {
					sent = append(sent, r.Header.Get("Content-Encoding")+" "+r.Header.Get("X-Amz-Trailer"))
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
		})
	})
	data := bytes.Repeat([]byte("chunk"), 300_000) // 1.5 MB: several chunks
	put, err := viaTLS.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("chunked"), Key: aws.String("k"), Body: bytes.NewReader(data),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32})
	must(t, err)
	if len(sent) != 1 || !strings.Contains(sent[0], "aws-chunked") || !strings.Contains(strings.ToLower(sent[0]), "x-amz-checksum-crc32") {
		t.Fatalf("the SDK did not send aws-chunked with a trailer: %q", sent)
	}
	get, err := viaTLS.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("chunked"), Key: aws.String("k"), ChecksumMode: s3types.ChecksumModeEnabled})
	must(t, err)
	got, err := io.ReadAll(get.Body)
	get.Body.Close()
	must(t, err)
	if !bytes.Equal(got, data) || aws.ToString(get.ChecksumCRC32) != aws.ToString(put.ChecksumCRC32) {
		t.Fatalf("round trip: %d bytes, crc %s vs %s", len(got), aws.ToString(get.ChecksumCRC32), aws.ToString(put.ChecksumCRC32))
	}

	// Signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), and a wrong trailing checksum.
	raw := func(body, trailer string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPut, c.Endpoint()+"/chunked/raw", strings.NewReader(body))
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=0")
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
		req.Header.Set("X-Amz-Decoded-Content-Length", "11")
		if trailer != "" {
			req.Header.Set("X-Amz-Trailer", trailer)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	if resp, _ := raw("5;chunk-signature=ab\r\nhello\r\n6;chunk-signature=cd\r\n world\r\n0;chunk-signature=ef\r\n\r\n", ""); resp.StatusCode != 200 {
		t.Fatalf("signed chunks: %d", resp.StatusCode)
	}
	o, err := cl.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("chunked"), Key: aws.String("raw")})
	must(t, err)
	b, _ := io.ReadAll(o.Body)
	o.Body.Close()
	if string(b) != "hello world" {
		t.Fatalf("decoded %q", b)
	}
	if resp, body := raw("b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", "x-amz-checksum-crc32"); resp.StatusCode != 400 || !strings.Contains(body, "<Code>BadDigest</Code>") {
		t.Fatalf("bad trailing checksum: %d %s", resp.StatusCode, body)
	}
}
