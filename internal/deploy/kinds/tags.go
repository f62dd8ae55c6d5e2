package kinds

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	itypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// Tags: a resource found without the stack tag (a run killed between a create and its
// tagging, or a resource made by hand with our name) gets it. One kind per service, each
// one call; the diff that plans them is in the resource's own file (TagChange).

// TagChange is the change that puts the stack tag on a resource found without it.
func TagChange(action engine.Action, resource, name string) engine.Change {
	return engine.Change{Action: action, Resource: resource, Name: name, Reason: "stack tag missing"}
}

// RoleTags tags an IAM role.
func RoleTags(c *awsapi.Clients, role, stackName string) engine.Kind {
	return engine.Func{Acts: []engine.Action{TagRole}, OnUpdate: func(ctx context.Context, _ engine.Change) error {
		_, err := c.IAM.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(role), Tags: []itypes.Tag{{Key: aws.String(stack.TagKey), Value: aws.String(stackName)}}})
		return err
	}}
}

// LogGroupTags tags a log group by its ARN.
func LogGroupTags(c *awsapi.Clients, arn, stackName string) engine.Kind {
	return engine.Func{Acts: []engine.Action{TagLogGroup}, OnUpdate: func(ctx context.Context, _ engine.Change) error {
		_, err := c.Logs.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(arn), Tags: stack.Tags(stackName)})
		return err
	}}
}

// BucketTags sets a bucket's tags to existing plus the stack tag (S3 replaces the whole
// set, so the other tags are kept).
func BucketTags(c *awsapi.Clients, bucket, stackName string, existing map[string]string) engine.Kind {
	return engine.Func{Acts: []engine.Action{TagBucket}, OnUpdate: func(ctx context.Context, _ engine.Change) error {
		return putBucketTags(ctx, c, bucket, stackName, existing)
	}}
}

func putBucketTags(ctx context.Context, c *awsapi.Clients, bucket, stackName string, existing map[string]string) error {
	tags := map[string]string{}
	for k, v := range existing {
		tags[k] = v
	}
	tags[stack.TagKey] = stackName
	var set []s3types.Tag
	for k, v := range tags {
		set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	_, err := c.S3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket), Tagging: &s3types.Tagging{TagSet: set}})
	return err
}
