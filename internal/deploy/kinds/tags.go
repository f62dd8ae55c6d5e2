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

// Owned refuses a resource tagged for another stack and, when tag is not "", plans the
// tag of an untagged one (its Target: the resource's id for the tag call).
func Owned(tags map[string]string, stackName, resource, name string, tag engine.Action, target string) ([]engine.Change, error) {
	ours, other := stack.TagState(tags, stackName)
	if other != "" {
		return nil, stack.OwnedByOther(resource, name, other)
	}
	if !ours && tag != "" {
		ch := TagChange(tag, resource, name)
		ch.Target = target
		return []engine.Change{ch}, nil
	}
	return nil, nil
}

// ELBTags, EC2Tags, ECSTags and SecretTags tag a resource by the change's Target (its
// ARN or id).
func ELBTags(c *awsapi.Session, tags map[string]string) engine.Kind {
	return engine.Func{Acts: []engine.Action{TagELB}, OnUpdate: func(ctx context.Context, ch engine.Change) error {
		return c.ELBv2().AddTags(ctx, ch.Target, tags)
	}}
}

func EC2Tags(c *awsapi.Session, tags map[string]string) engine.Kind {
	return engine.Func{Acts: []engine.Action{TagEC2}, OnUpdate: func(ctx context.Context, ch engine.Change) error {
		return c.EC2().TagResources(ctx, []string{ch.Target}, tags)
	}}
}

func ECSTags(c *awsapi.Session, tags map[string]string) engine.Kind {
	return engine.Func{Acts: []engine.Action{TagECS}, OnUpdate: func(ctx context.Context, ch engine.Change) error {
		return c.ECS().TagResource(ctx, ch.Target, tags)
	}}
}

func SecretTags(c *awsapi.Session, tags map[string]string) engine.Kind {
	return engine.Func{Acts: []engine.Action{TagSecret}, OnUpdate: func(ctx context.Context, ch engine.Change) error {
		return c.Secrets().Tag(ctx, ch.Target, tags)
	}}
}
