package container

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
	"github.com/rudderctl/rudderctl/internal/deploy/workspace"
	st "github.com/rudderctl/rudderctl/internal/stack"
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
	n := NamesFor(stack)
	own := ownImage(t) // two builds, one digest
	input := func(tag string) Input {
		in := testInput(t, stack, tag)
		in.Image = own
		return in
	}

	start := time.Now()
	r := deployOK(t, cl, input(goodTag))
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

	// rudderctl's own image was pushed to the stack's repository: a task runs it from there.
	if digest, err := cl.ECR().ImageDigest(ctx, n.Repository, ImageTag); err != nil || digest != own.Digest {
		t.Fatalf("the repository holds %s (%v), want %s", digest, err, own.Digest)
	}
	if out := runOwnImage(t, cl, n); !strings.Contains(out, "rudderctl version") {
		t.Fatalf("rudderctl's image printed %q, want its version", out)
	}

	// No-op redeploy: nothing planned, no mutating call.
	cloud.ResetStats()
	if r := deployOK(t, cl, input(goodTag)); r.Changes != 0 || cloud.Stats().MutatingCalls != 0 {
		t.Fatalf("redeploy: %d changes %v, %d mutating calls", r.Changes, r.ChangeList, cloud.Stats().MutatingCalls)
	}

	// A rolling update (a new image tag) under a steady request loop: no failed request.
	l := startLoop(u)
	start = time.Now()
	r = deployOK(t, cl, input(nextTag))
	t.Logf("rolling update to %s: %s", nextTag, time.Since(start).Round(time.Millisecond))
	time.Sleep(time.Second) // requests after the switch, too
	ok, fail, errs, by := l.finish()
	t.Logf("rolling update: %d requests, %d failed, served by %v", ok+fail, fail, by)
	if fail != 0 || ok == 0 {
		t.Fatalf("rolling update: %d of %d requests failed: %v", fail, ok+fail, errs)
	}
	if st, err := GetStatus(ctx, cl, stack); err != nil || !strings.HasSuffix(st.Image, ":"+nextTag) || st.Running != 2 {
		t.Fatalf("status after the update: %+v, %v", st, err)
	}

	// A bad image (a tag nothing maps) trips the circuit breaker; the deploy says which
	// tasks stopped and why; the old tasks keep answering throughout.
	l = startLoop(u)
	var progress strings.Builder
	_, err = Deploy(ctx, cl, input(unmapped), false, &progress)
	ok, fail, errs, _ = l.finish()
	var rollout *RolloutError
	if !errors.As(err, &rollout) {
		t.Fatalf("deploy of an unmapped image: want a RolloutError, got %v\n%s", err, progress.String())
	}
	t.Logf("the deploy reported:\n%v", err)
	msg := err.Error()
	for _, want := range []string{"CannotPullContainerError", "rolled the service back to " + n.Family + ":2", "What to do"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the rollout error does not say %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "run it again") {
		t.Errorf("a failed rollout is not finished by running it again, yet the error says so:\n%s", msg)
	}
	t.Logf("bad image: %d requests during the failed rollout, %d failed", ok+fail, fail)
	if fail != 0 || ok == 0 {
		t.Fatalf("bad image: %d of %d requests failed while the old tasks should answer: %v", fail, ok+fail, errs)
	}
	waitRunning(t, cl, n, n.Family+":2")

	// Killing a task's process: the service replaces it; requests keep succeeding.
	before := runningTasks(t, cl, n)
	l = startLoop(u)
	victim := before[0]
	if err := kill(taskPid(t, victim)); err != nil {
		t.Fatal(err)
	}
	replaced := waitReplaced(t, cl, n, victim)
	time.Sleep(time.Second)
	ok, fail, errs, _ = l.finish()
	t.Logf("killed task %s, replaced by %s: %d requests during the window, %d failed %v", victim, replaced, ok+fail, fail, errs)
	if ok == 0 || fail > ok/10 {
		t.Fatalf("after killing a task %d of %d requests failed: %v", fail, ok+fail, errs)
	}
	for i := 0; i < 10; i++ {
		if _, err := u.call(); err != nil {
			t.Fatalf("after the replacement: %v", err)
		}
	}

	// Rollback: back to the revision before the one running.
	from, to, err := Rollback(ctx, cl, stack, io.Discard)
	if err != nil || from != n.Family+":2" || to != n.Family+":1" {
		t.Fatalf("rollback %s -> %s, %v", from, to, err)
	}
	if st, _ := GetStatus(ctx, cl, stack); !strings.HasSuffix(st.Image, ":"+goodTag) {
		t.Fatalf("status after rollback: %+v", st)
	}
	if _, err := u.call(); err != nil {
		t.Fatal(err)
	}

	// AWS's Python SDK reads a sound model of it.
	ws := &observed{}
	if err := ws.readWorkspace(ctx, cl, stack); err != nil {
		t.Fatal(err)
	}
	checkSoundModel(t, readModelWithBoto3(t, cloud, stack), stack, ws.Secret)

	// Destroy leaves nothing: the service, then the workspace and the Lambda transformer.
	if _, err := Destroy(ctx, cl, stack, testRegion, false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := GetEndpoints(ctx, cl, stack); !errors.Is(err, ErrNotDeployed) {
		t.Fatalf("endpoints after destroy: %v", err)
	}
	if o, err := observeForDestroy(ctx, cl, n); err != nil || len(planDestroy(o, n)) != 0 {
		t.Fatalf("after destroy, found by name: %v (%v)", planDestroy(o, n), err)
	}
	if _, err := workspace.Destroy(ctx, cl, stack, testRegion, false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := transformer.Destroy(ctx, cl, stack, testRegion, false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if left := cloud.Resources(st.TagKey, stack); len(left) != 0 {
		t.Fatalf("destroy left %+v", left)
	}
	if arns, err := cl.ECS().TaskARNs(ctx, n.Cluster, "", "RUNNING"); err == nil && len(arns) > 0 {
		t.Fatalf("destroy left running tasks %v", arns)
	}
}

// waitRunning waits until the service runs taskDef ("family:rev") steadily.
func waitRunning(t *testing.T, cl *awsapi.Session, n Names, taskDef string) {
	t.Helper()
	for i := 0; ; i++ {
		s, err := cl.ECS().FindService(context.Background(), n.Cluster, n.Service)
		if err != nil {
			t.Fatal(err)
		}
		if kinds.Revision(s.TaskDef) == taskDef && steady(s, s.TaskDef) {
			return
		}
		if i > 600 {
			t.Fatalf("the service did not settle on %s: %+v", taskDef, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitReplaced waits until the service runs 2 tasks, none of them victim, and returns the
// new one.
func waitReplaced(t *testing.T, cl *awsapi.Session, n Names, victim string) string {
	t.Helper()
	for i := 0; ; i++ {
		ids := runningTasks(t, cl, n)
		s, err := cl.ECS().FindService(context.Background(), n.Cluster, n.Service)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == 2 && !slices.Contains(ids, victim) && steady(s, s.TaskDef) {
			for _, id := range ids {
				if !slices.Contains(ids[:0], id) {
					return strings.Join(ids, ",")
				}
			}
		}
		if i > 600 {
			t.Fatalf("task %s was not replaced: running %v", victim, ids)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
