package lambdalocal

import (
	"context"
	"strings"
	"testing"
)

// nodeFor is the part of StartPool that differs between its two callers: rudderctl
// invoke/serve fail without Node of the runtime, the local cloud runs with node from PATH.
func TestNodeForChoices(t *testing.T) {
	ctx := context.Background()
	if node, _, err := nodeFor(ctx, "nodejs22.x", "x86_64", Launch{Node: "/opt/my/node"}); err != nil || node != "/opt/my/node" {
		t.Errorf("given node: %q %v", node, err)
	}
	// A runtime without a Node: an error for the CLI, PATH's node for the local cloud.
	if _, _, err := nodeFor(ctx, "provided.al2023", "x86_64", Launch{}); err == nil {
		t.Errorf("provided.al2023 without NoNode: no error")
	}
	told := false
	node, _, err := nodeFor(ctx, "provided.al2023", "x86_64", Launch{NoNode: func(int, error) { told = true }})
	if err != nil || node != "" || told {
		t.Errorf("provided.al2023 with NoNode: %q %v (told %v)", node, err, told)
	}
	// A Node that cannot be had (no such architecture): told why, PATH's node used.
	var why error
	node, _, err = nodeFor(ctx, "nodejs22.x", "sparc", Launch{NoNode: func(_ int, err error) { why = err }})
	if err != nil || node != "" || why == nil {
		t.Errorf("unavailable Node with NoNode: %q %v (why %v)", node, err, why)
	}
	if _, _, err := nodeFor(ctx, "nodejs22.x", "sparc", Launch{}); err == nil || !strings.Contains(err.Error(), "cannot get Node 22") {
		t.Errorf("unavailable Node without NoNode: %v", err)
	}
}
