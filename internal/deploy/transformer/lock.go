package transformer

import (
	"fmt"

	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
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
	return kinds.DiffBucket(o.Bucket, kinds.BucketSpec{Name: bucket, Stack: n.Stack, Why: "holds the stack lock",
		Refused: fmt.Sprintf("S3 bucket %s cannot be used: S3 refused to show it (it belongs to another account, or the credentials lack s3:ListBucket on it); it holds the stack lock that keeps two deploys of %q apart: grant the S3 permissions in docs/DEPLOY.md, or use another --stack", bucket, n.Stack)})
}
