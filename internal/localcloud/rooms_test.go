package localcloud

import (
	"testing"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// TestOpTablesMutating: every room's table marks as mutating exactly the operations the
// call counters counted as mutating before the tables existed (everything but the reads by
// verb, and GetCallerIdentity), so Stats, the call log and fail-mutating see the same calls.
func TestOpTablesMutating(t *testing.T) {
	n := 0
	for _, r := range rooms() {
		for _, op := range r.Ops() {
			want := core.MutatingByName(op.Name) && op.Name != "GetCallerIdentity"
			if op.Mutating != want {
				t.Errorf("%s:%s mutating=%v, want %v", r.Name(), op.Name, op.Mutating, want)
			}
			if op.Handle == nil {
				t.Errorf("%s:%s has no handler", r.Name(), op.Name)
			}
			n++
		}
	}
	if n < 80 {
		t.Errorf("only %d operations in the tables", n)
	}
}
