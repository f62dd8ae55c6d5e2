package container

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// noRetryInjected makes an injected "fail-mutating" fault stop the run (as a killed process
// would) instead of being retried away by the SDK.
func noRetryInjected(o *retry.StandardOptions) {
	o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
		if strings.Contains(err.Error(), "injected fault") {
			return aws.FalseTernary
		}
		return aws.UnknownTernary
	})}, o.Retryables...)
}

// A deploy stopped at its k-th mutating call, for every k, is finished by running it
// again; then it is converged (0 mutating calls) and destroy leaves nothing of it.
func TestDeployKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys into the local cloud and runs ECS tasks, once per mutating call")
	}
	ctx := context.Background()
	cloud := startCloud(t)
	cl := session(t)
	killable := session(t, noRetryInjected)
	const stack = "ufkill"
	workspaceStack(t, cl, stack)
	n := NamesFor(stack)
	in := testInput(t, stack, goodTag)
	destroy := func() {
		t.Helper()
		if _, err := Destroy(ctx, cl, stack, testRegion, false, io.Discard); err != nil {
			t.Fatal(err)
		}
		if o, err := observeForDestroy(ctx, cl, n); err != nil || len(planDestroy(o, n)) != 0 {
			t.Fatalf("orphans after destroy: %v (%v)", planDestroy(o, n), err)
		}
	}
	cloud.ResetStats()
	deployOK(t, cl, in)
	m := cloud.Stats().MutatingCalls
	t.Logf("clean deploy: %d mutating calls", m)
	for k := 1; k <= m; k++ {
		destroy()
		if err := cloud.SetFaults(fmt.Sprintf("fail-mutating=%d", k)); err != nil {
			t.Fatal(err)
		}
		cloud.ResetStats()
		_, err := Deploy(ctx, killable, in, false, io.Discard)
		cloud.SetFaults("")
		st := cloud.Stats()
		if st.Injected["error"] != 1 {
			t.Fatalf("k=%d: the injected fault fired %d times, want 1", k, st.Injected["error"])
		}
		switch {
		case err == nil && st.InjectedInto["s3:DeleteObject"] == 1:
			t.Logf("k=%d: the lock's release failed once and was retried", k)
		case err == nil:
			t.Fatalf("k=%d: the deploy survived a failed %v", k, st.InjectedInto)
		case !strings.Contains(err.Error(), "run it again"):
			t.Fatalf("k=%d: the error does not say how to resume: %v", k, err)
		default:
			t.Logf("k=%d: stopped at %v", k, st.InjectedInto)
		}
		deployOK(t, cl, in)
		cloud.ResetStats()
		if r := deployOK(t, cl, in); r.Changes != 0 || cloud.Stats().MutatingCalls != 0 {
			t.Fatalf("k=%d: not converged after the resume: %v", k, r.ChangeList)
		}
		if got := len(runningTasks(t, cl, n)); got != 2 {
			t.Fatalf("k=%d: %d tasks running after the resume, want 2", k, got)
		}
	}
	destroy()
}

// With 20% of calls throttled and 5% answered 500, the deploy still gets through (the one
// retry policy), and so does the destroy.
func TestDeployThroughFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys into the local cloud and runs ECS tasks")
	}
	ctx := context.Background()
	cloud := startCloud(t)
	cl := session(t)
	const stack = "uffault"
	compiled := workspaceStack(t, cl, stack)
	if err := cloud.SetFaults("throttle=0.2,error=0.05,seed=7"); err != nil {
		t.Fatal(err)
	}
	r := deployOK(t, cl, testInput(t, stack, goodTag))
	st := cloud.Stats()
	t.Logf("deploy through faults: %d changes, injected %v", r.Changes, st.Injected)
	if st.Injected["throttle"] == 0 || st.Injected["error"] == 0 {
		t.Fatalf("no fault was injected: %v", st.Injected)
	}
	if _, err := newUserFunction(r.URL, compiled).call(); err != nil {
		t.Fatal(err)
	}
	if _, err := Destroy(ctx, cl, stack, testRegion, false, io.Discard); err != nil {
		t.Fatal(err)
	}
	cloud.SetFaults("")
	n := NamesFor(stack)
	if o, err := observeForDestroy(ctx, cl, n); err != nil || len(planDestroy(o, n)) != 0 {
		t.Fatalf("orphans after destroy: %v (%v)", planDestroy(o, n), err)
	}
}
