package kinds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/s3api"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// Bucket is the stack's S3 bucket (stack.BucketName) as found.
type Bucket struct {
	Name       string
	Tagged     bool
	OtherStack string
	Tags       map[string]string
	// Foreign: HeadBucket was refused (403, or a redirect): the name belongs to another
	// account, or the credentials may not read it. Nothing more is known.
	Foreign bool
	Keys    []string // every object key
}

// Has reports whether the bucket holds key.
func (b *Bucket) Has(key string) bool { return slices.Contains(b.Keys, key) }

// BucketSpec is the bucket a component needs, and why (for the plan and the refusals).
type BucketSpec struct {
	Name, Stack, Region string
	// Why is added to the reason of its creation ("missing; <why>"), "" for none.
	Why string
	// Refused is the refusal when S3 will not show the bucket (Foreign).
	Refused string
	// Taken is what to do when the name is taken by another account.
	Taken string
}

// FindBucket reads the bucket: whether it exists, its tags and its keys. A refused
// HeadBucket (403, redirect) is a Foreign bucket, not an error: a stack that never needed
// the bucket need not have S3 permissions to be read.
func FindBucket(ctx context.Context, c *awsapi.Session, name, stackName string) (*Bucket, error) {
	err := c.S3().FindBucket(ctx, name)
	switch {
	case errors.Is(err, awsapi.ErrNotFound):
		return nil, engine.ErrNotFound
	case errors.Is(err, s3api.ErrForeign):
		return &Bucket{Name: name, Foreign: true}, nil
	case err != nil:
		return nil, awsapi.Explain("read S3 bucket "+name, err)
	}
	tags, err := c.S3().BucketTags(ctx, name)
	if err != nil {
		return nil, awsapi.Explain("read the tags of S3 bucket "+name, err)
	}
	b := &Bucket{Name: name, Tags: tags}
	b.Tagged, b.OtherStack = stack.TagState(b.Tags, stackName)
	if b.OtherStack != "" {
		return b, nil // not ours: look no further
	}
	b.Keys, err = c.S3().ListKeys(ctx, name)
	if err != nil {
		return nil, awsapi.Explain("list the objects of S3 bucket "+name, err)
	}
	return b, nil
}

// ObserveBucket is FindBucket with nil for a bucket that does not exist.
func ObserveBucket(ctx context.Context, c *awsapi.Session, name, stackName string) (*Bucket, error) {
	return absent(FindBucket(ctx, c, name, stackName))
}

// DiffBucket plans the bucket: created when missing, tagged when untagged; refused when
// S3 will not show it or it is another stack's.
func DiffBucket(found *Bucket, want BucketSpec) ([]engine.Change, error) {
	switch {
	case found == nil:
		reason := "missing"
		if want.Why != "" {
			reason += "; " + want.Why
		}
		return []engine.Change{{Action: CreateBucket, Resource: "S3 bucket", Name: want.Name, Reason: reason}}, nil
	case found.Foreign:
		return nil, &stack.Error{Msg: want.Refused}
	case found.OtherStack != "":
		return nil, stack.OwnedByOther("S3 bucket", want.Name, found.OtherStack)
	case !found.Tagged:
		return []engine.Change{TagChange(TagBucket, "S3 bucket", want.Name)}, nil
	}
	return nil, nil
}

// BucketKind creates the bucket (then tags it) and deletes it with what is left in it,
// except another run's stack lock.
type BucketKind struct {
	C        *awsapi.Session
	Spec     BucketSpec
	Existing map[string]string // the tags found, kept when the stack tag is added
	Progress io.Writer
	// BeforeDelete runs just before DeleteBucket (destroy releases the stack lock it
	// holds in the bucket).
	BeforeDelete func(context.Context) error
}

func (k BucketKind) Actions() []engine.Action { return []engine.Action{CreateBucket, DeleteBucket} }

func (k BucketKind) Create(ctx context.Context, _ engine.Change) error {
	err := k.C.S3().CreateBucket(ctx, k.Spec.Name, k.Spec.Region)
	if errors.Is(err, s3api.ErrNameTaken) {
		return engine.Plain(fmt.Errorf("could not create S3 bucket %s: the name is taken by another AWS account (bucket names are global); %s", k.Spec.Name, k.Spec.Taken))
	}
	return err
}

// AlreadyExists: ours already (an earlier attempt got through).
func (k BucketKind) AlreadyExists(err error) bool {
	return errors.Is(err, awsapi.ErrAlreadyExists)
}

func (k BucketKind) Adopt(context.Context, engine.Change) error { return nil }

// Wait tags the new bucket, retrying while it is unknown to other S3 calls (a new bucket
// can briefly be: eventual consistency).
func (k BucketKind) Wait(ctx context.Context, _ engine.Change) error {
	for wait := WaitMin; ; wait *= 2 {
		err := putBucketTags(ctx, k.C, k.Spec.Name, k.Spec.Stack, k.Existing)
		if !errors.Is(err, awsapi.ErrNotFound) || wait > WaitMax {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return engine.Plain(ctx.Err())
		}
	}
}

// Update: the bucket's only update, its tags, is BucketTags.
func (k BucketKind) Update(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

func (k BucketKind) Delete(ctx context.Context, _ engine.Change) error {
	if k.BeforeDelete != nil {
		if err := k.BeforeDelete(ctx); err != nil {
			return err
		}
	}
	del := func() error { return k.C.S3().DeleteBucket(ctx, k.Spec.Name) }
	err := del()
	if errors.Is(err, s3api.ErrNotEmpty) { // objects put since observe
		if err := k.empty(ctx); err != nil {
			return err
		}
		err = del()
	}
	if errors.Is(err, s3api.ErrNotEmpty) { // only a lock is left: another run's, now
		fmt.Fprintf(k.Progress, "  S3 bucket %s kept: another run took the stack lock in it meanwhile\n", k.Spec.Name)
		return nil
	}
	return err
}

// empty deletes every object of the bucket (objects that appeared after observe) but
// another run's stack lock.
func (k BucketKind) empty(ctx context.Context) error {
	return k.C.S3().EachKeyPage(ctx, k.Spec.Name, func(keys []string) error {
		for _, key := range keys {
			if key == stack.LockKey { // someone else's lock: not ours to delete
				continue
			}
			if err := k.C.S3().DeleteObject(ctx, k.Spec.Name, key); err != nil && !errors.Is(err, awsapi.ErrNotFound) {
				return err
			}
		}
		return nil
	})
}
