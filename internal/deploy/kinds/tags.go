package kinds

import (
	"context"

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
func RoleTags(c *awsapi.Session, role, stackName string) engine.Kind {
	return engine.Func{Acts: []engine.Action{TagRole}, OnUpdate: func(ctx context.Context, _ engine.Change) error {
		return c.IAM().TagRole(ctx, role, map[string]string{stack.TagKey: stackName})
	}}
}

// LogGroupTags tags a log group by its ARN.
func LogGroupTags(c *awsapi.Session, arn, stackName string) engine.Kind {
	return engine.Func{Acts: []engine.Action{TagLogGroup}, OnUpdate: func(ctx context.Context, _ engine.Change) error {
		return c.Logs().TagLogGroup(ctx, arn, stack.Tags(stackName))
	}}
}

// BucketTags sets a bucket's tags to existing plus the stack tag (S3 replaces the whole
// set, so the other tags are kept).
func BucketTags(c *awsapi.Session, bucket, stackName string, existing map[string]string) engine.Kind {
	return engine.Func{Acts: []engine.Action{TagBucket}, OnUpdate: func(ctx context.Context, _ engine.Change) error {
		return putBucketTags(ctx, c, bucket, stackName, existing)
	}}
}

func putBucketTags(ctx context.Context, c *awsapi.Session, bucket, stackName string, existing map[string]string) error {
	tags := map[string]string{}
	for k, v := range existing {
		tags[k] = v
	}
	tags[stack.TagKey] = stackName
	return c.S3().PutBucketTags(ctx, bucket, tags)
}
