package kinds

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// The stack lock (stack.AcquireLock) lives in the stack's bucket: every component takes it
// the same way before changing anything: plan the bucket (LockChanges), make those
// changes and take the lock (TakeLock).

// lockBucketSpec is bucket, the stack's, as the holder of the stack lock.
func lockBucketSpec(bucket, stackName, region string) BucketSpec {
	return BucketSpec{Name: bucket, Stack: stackName, Region: region, Why: "holds the stack lock",
		Refused: fmt.Sprintf("S3 bucket %s cannot be used: S3 refused to show it (it belongs to another account, or the credentials lack s3:ListBucket on it); it holds the stack lock that keeps two deploys of %q apart: grant the S3 permissions in docs/DEPLOY.md, or use another --stack", bucket, stackName),
		Taken:   "it would hold the stack lock: deploy under another --stack",
	}
}

// LockChanges are the changes to the stack's bucket (stack.BucketName) a locked run needs
// first (found = the bucket as observed, nil when missing). A bucket of another stack or
// account stops it.
func LockChanges(found *Bucket, bucket, stackName string) ([]engine.Change, error) {
	return DiffBucket(found, lockBucketSpec(bucket, stackName, ""))
}

// TakeLock makes the changes LockChanges planned (first) and takes the stack lock for
// operation, waiting while another run holds it (a *stack.LockHeldError once it gave up).
func TakeLock(ctx context.Context, c *awsapi.Session, st stack.Stack, found *Bucket, first []engine.Change, operation string, progress io.Writer) (*stack.Lock, error) {
	if progress == nil {
		progress = io.Discard
	}
	spec := lockBucketSpec(stack.BucketName(st.Name, st.Account, st.Region), st.Name, st.Region)
	stopped := func(err error) error {
		return fmt.Errorf("%w\n(the %s stopped before changing anything else; run it again)", err, operation)
	}
	if len(first) > 0 {
		var tags map[string]string
		if found != nil {
			tags = found.Tags
		}
		bucket := []engine.Kind{BucketKind{C: c, Spec: spec, Existing: tags, Progress: progress}, BucketTags(c, spec.Name, st.Name, tags)}
		if err := engine.Run(ctx, first, engine.Options{Kinds: bucket, Progress: progress}); err != nil {
			return nil, stopped(err)
		}
	}
	fmt.Fprintf(progress, "taking the stack lock s3://%s/%s...\n", spec.Name, stack.LockKey)
	lock, err := stack.AcquireLock(ctx, c, spec.Name, st.Name, operation, progress)
	var held *stack.LockHeldError
	if err != nil && !errors.As(err, &held) {
		return nil, stopped(err)
	}
	return lock, err
}

// LockStack takes the stack lock of stackName in c's region for operation, making the
// stack's bucket first if it is missing (found: the bucket as observed).
func LockStack(ctx context.Context, c *awsapi.Session, found *Bucket, account, stackName, operation string, progress io.Writer) (*stack.Lock, error) {
	first, err := LockChanges(found, stack.BucketName(stackName, account, c.Region), stackName)
	if err != nil {
		return nil, err
	}
	return TakeLock(ctx, c, stack.Stack{Name: stackName, Account: account, Region: c.Region}, found, first, operation, progress)
}

// LockedApply is how a component changes its stack: take the stack lock (found: the
// stack's bucket as observed), plan again under it (a run that held it before may have
// done it all) and apply what that plan holds, if anything; the lock is released after.
func LockedApply(ctx context.Context, c *awsapi.Session, found *Bucket, account, stackName, operation string, progress io.Writer,
	replan func() ([]engine.Change, error), apply func([]engine.Change) error) error {
	lock, err := LockStack(ctx, c, found, account, stackName, operation, progress)
	if err != nil {
		return err
	}
	defer lock.Release(context.WithoutCancel(ctx), progress)
	changes, err := replan()
	if err != nil || len(changes) == 0 {
		return err
	}
	return apply(changes)
}
