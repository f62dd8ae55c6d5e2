// Package s3api is the part of S3 rudderctl uses: a stack's artifacts bucket, its tags and
// keys, objects (content-addressed code zips, the stack lock with conditional writes).
// Errors are *awserr.Error (errors.Is(err, awserr.ErrNotFound) and this package's kinds).
package s3api

import (
	"context"
	"errors"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

// S3's own kinds.
var (
	// ErrForeign: the bucket exists but S3 will not show it to these credentials here (403:
	// another account's, or no s3:ListBucket; 301: it lives in another region).
	ErrForeign = errors.New("bucket exists but is not readable here")
	// ErrNameTaken: another account owns a bucket of this name (names are global).
	ErrNameTaken = errors.New("bucket name taken by another account")
	// ErrNotEmpty: a bucket still holds objects.
	ErrNotEmpty = errors.New("bucket not empty")
)

// Client is S3, domain-shaped.
type Client struct {
	sdk *s3.Client
	// PageSize is MaxKeys of each list call; 0 = the service's default (sent as absent).
	PageSize int32
}

// New wraps an SDK client (awsapi.Session builds it, path-style with an endpoint override).
func New(c *s3.Client) *Client { return &Client{sdk: c} }

// SDK is the SDK client underneath, for what has no domain method (tests).
func (c *Client) SDK() *s3.Client { return c.sdk }

// FindBucket says whether the bucket exists and is readable (s3:HeadBucket): nil,
// ErrNotFound or ErrForeign.
func (c *Client) FindBucket(ctx context.Context, bucket string) error {
	_, err := c.sdk.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	return awserr.Wrap("read S3 bucket "+bucket, err, awserr.Codes{
		"Forbidden": ErrForeign, "AccessDenied": ErrForeign, "MovedPermanently": ErrForeign, "PermanentRedirect": ErrForeign, "Redirect": ErrForeign})
}

// BucketTags are the bucket's tags (none: an empty map).
func (c *Client) BucketTags(ctx context.Context, bucket string) (map[string]string, error) {
	tags := map[string]string{}
	out, err := c.sdk.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	var typed *awserr.Error
	if err = awserr.Wrap("read the tags of S3 bucket "+bucket, err, nil); errors.As(err, &typed) && typed.Code() == "NoSuchTagSet" {
		return tags, nil
	}
	if err != nil {
		return nil, err
	}
	for _, t := range out.TagSet {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

// PutBucketTags replaces the bucket's tag set.
func (c *Client) PutBucketTags(ctx context.Context, bucket string, tags map[string]string) error {
	var set []types.Tag
	for k, v := range tags {
		set = append(set, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	_, err := c.sdk.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket), Tagging: &types.Tagging{TagSet: set}})
	return awserr.Wrap("tag S3 bucket "+bucket, err, nil)
}

// ListKeys are the bucket's object keys, every page.
func (c *Client) ListKeys(ctx context.Context, bucket string) ([]string, error) {
	var keys []string
	err := c.EachKeyPage(ctx, bucket, func(page []string) error { keys = append(keys, page...); return nil })
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// EachKeyPage calls fn with the keys of each page of the bucket's listing, one page at a
// time (fn may delete them before the next page is read); fn's error stops it.
func (c *Client) EachKeyPage(ctx context.Context, bucket string, fn func(keys []string) error) error {
	p := s3.NewListObjectsV2Paginator(c.sdk, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}, func(o *s3.ListObjectsV2PaginatorOptions) { o.Limit = c.PageSize })
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return awserr.Wrap("list the objects of S3 bucket "+bucket, err, nil)
		}
		keys := []string{}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if err := fn(keys); err != nil {
			return err
		}
	}
	return nil
}

// CreateBucket creates a bucket in region: ErrAlreadyExists when it is ours already,
// ErrNameTaken when another account has the name.
func (c *Client) CreateBucket(ctx context.Context, bucket, region string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if region != "us-east-1" { // us-east-1 takes no location constraint
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(region)}
	}
	_, err := c.sdk.CreateBucket(ctx, in)
	return awserr.Wrap("create S3 bucket "+bucket, err, awserr.Codes{"BucketAlreadyExists": ErrNameTaken})
}

// DeleteBucket deletes an empty bucket: ErrNotFound when it is gone already, ErrNotEmpty
// while it holds objects.
func (c *Client) DeleteBucket(ctx context.Context, bucket string) error {
	_, err := c.sdk.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	return awserr.Wrap("delete S3 bucket "+bucket, err, awserr.Codes{"BucketNotEmpty": ErrNotEmpty})
}

// ObjectExists says whether bucket/key exists (s3:HeadObject).
func (c *Client) ObjectExists(ctx context.Context, bucket, key string) (bool, error) {
	_, err := c.sdk.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err = awserr.Wrap("read s3://"+bucket+"/"+key, err, nil); errors.Is(err, awserr.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Object is an object to put.
type Object struct {
	Bucket, Key    string
	Body           io.Reader
	Length         int64  // 0 = let the SDK find out
	ContentType    string // "" = none
	ChecksumSHA256 string // base64 SHA-256 S3 checks the body against; "" = none
	// Conditional writes: IfNoneMatch creates only; IfMatch replaces only that ETag.
	IfNoneMatch bool
	IfMatch     string
}

// PutObject writes an object and returns its ETag. A conditional write that loses
// (another writer first, the object changed or gone) is ErrPreconditionFailed.
func (c *Client) PutObject(ctx context.Context, o Object) (string, error) {
	in := &s3.PutObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key), Body: o.Body}
	if o.Length > 0 {
		in.ContentLength = aws.Int64(o.Length)
	}
	if o.ContentType != "" {
		in.ContentType = aws.String(o.ContentType)
	}
	if o.ChecksumSHA256 != "" {
		in.ChecksumSHA256 = aws.String(o.ChecksumSHA256)
	}
	if o.IfNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	if o.IfMatch != "" {
		in.IfMatch = aws.String(o.IfMatch)
	}
	out, err := c.sdk.PutObject(ctx, in)
	if err != nil {
		return "", awserr.Wrap("write s3://"+o.Bucket+"/"+o.Key, err, awserr.Codes{"NoSuchKey": awserr.ErrPreconditionFailed})
	}
	return aws.ToString(out.ETag), nil
}

// GetObject reads at most max bytes of an object and its ETag; ErrNotFound when missing.
func (c *Client) GetObject(ctx context.Context, bucket, key string, max int64) ([]byte, string, error) {
	what := "read s3://" + bucket + "/" + key
	out, err := c.sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, "", awserr.Wrap(what, err, nil)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, max))
	if err != nil {
		return nil, "", awserr.Wrap(what, err, nil)
	}
	return b, aws.ToString(out.ETag), nil
}

// DeleteObject deletes an object (S3 answers success for a missing key; a missing bucket
// is ErrNotFound).
func (c *Client) DeleteObject(ctx context.Context, bucket, key string) error {
	_, err := c.sdk.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return awserr.Wrap("delete s3://"+bucket+"/"+key, err, nil)
}
