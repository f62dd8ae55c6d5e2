package transformer

import (
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// The stack lock lives in internal/stack; these names keep the transformer's callers short.
const LockKey = stack.LockKey

type (
	LockRecord    = stack.LockRecord
	LockHeldError = stack.LockHeldError
)

// lockChanges are the bucket changes a locked run needs first (kinds.LockChanges).
func lockChanges(o *Observed, n Names, bucket string) ([]Change, error) {
	return kinds.LockChanges(o.Bucket, bucket, n.Stack)
}
