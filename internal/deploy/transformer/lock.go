package transformer

import (
	"fmt"

	"github.com/rudderctl/rudderctl/internal/stack"
)

// The stack lock lives in internal/stack; these names keep the transformer's callers short.
const LockKey = stack.LockKey

type (
	LockRecord    = stack.LockRecord
	LockHeldError = stack.LockHeldError
)

// lockChanges are the bucket changes a locked run needs first: the stack's bucket holds
// the lock. A bucket with the name that belongs to another stack or account stops it.
func lockChanges(o *Observed, n Names, bucket string) ([]Change, error) {
	b := o.Bucket
	switch {
	case b == nil:
		return []Change{{Action: CreateBucket, Resource: "S3 bucket", Name: bucket, Reason: "missing; holds the stack lock"}}, nil
	case b.Foreign:
		return nil, &StackError{Msg: fmt.Sprintf("S3 bucket %s cannot be used: S3 refused to show it (it belongs to another account, or the credentials lack s3:ListBucket on it); it holds the stack lock that keeps two deploys of %q apart: grant the S3 permissions in docs/DEPLOY.md, or use another --stack", bucket, n.Stack)}
	case b.OtherStack != "":
		return nil, &StackError{Msg: fmt.Sprintf("S3 bucket %s belongs to stack %q: it is tagged %s=%s; pick another --stack or destroy that stack", bucket, b.OtherStack, stack.TagKey, b.OtherStack)}
	case !b.Tagged:
		return []Change{{Action: TagBucket, Resource: "S3 bucket", Name: bucket, Reason: "stack tag missing"}}, nil
	}
	return nil, nil
}
