package transformer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/s3api"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	stacklock "github.com/rudderctl/rudderctl/internal/stack"
)

// TestLocalCloudConcurrentDeploys: two deploys of one new stack started together. One
// takes the lock and deploys; the other waits, plans again under the lock and finds
// nothing to do. One API, one version, and the endpoint both print answers.
func TestLocalCloudConcurrentDeploys(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	startCloud(t, localcloud.Delays{RolePropagation: 300 * time.Millisecond})
	cl := testClients(t)
	const stack = "race"
	zipA := testZip(t, "A")
	var wg sync.WaitGroup
	results := make([]*Result, 2)
	errs := make([]error, 2)
	progress := make([]bytes.Buffer, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, zi, err := testInput(stack, zipA, nil)
			if err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = Deploy(context.Background(), cl, in, zi, false, &progress[i])
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("deploy %d: %v\n%s", i, errs[i], progress[i].String())
		}
	}
	applied := 0
	for i, r := range results {
		if r.Applied {
			applied++
		} else if !strings.Contains(progress[i].String(), "waiting for the stack lock") || !strings.Contains(progress[i].String(), "nothing left to do") {
			t.Errorf("the deploy that did not apply did not wait for the lock:\n%s", progress[i].String())
		}
	}
	if applied != 1 {
		t.Fatalf("%d deploys applied changes, want exactly 1\n--- 0:\n%s\n--- 1:\n%s", applied, progress[0].String(), progress[1].String())
	}
	o, err := Observe(context.Background(), cl, NamesFor(stack))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.APIs) != 1 || len(o.Versions) != 1 || o.Alias == nil || o.Alias.Version != "1" || len(o.Routes) != 2 || len(o.Integrations) != 1 {
		t.Fatalf("state after two concurrent deploys: %d APIs, %d versions, alias %+v, %d routes, %d integrations",
			len(o.APIs), len(o.Versions), o.Alias, len(o.Routes), len(o.Integrations))
	}
	e, err := GetEndpoint(context.Background(), cl, stack, true)
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimPrefix(e.DestTransformURL, e.URL+"/")
	for i, r := range results {
		if r.Version != "1" {
			t.Errorf("deploy %d reports version %s", i, r.Version)
		}
		if code, _, body := httpGet(t, r.Endpoint+"/"+secret+"/health"); code != 200 || !strings.Contains(body, `"variant":"A"`) {
			t.Errorf("endpoint %s printed by deploy %d: %d %s", r.Endpoint, i, code, body)
		}
	}
	if _, etag, _ := stacklock.ReadLock(context.Background(), cl, BucketName(stack, o.Account, testRegion)); etag != "" {
		t.Error("the lock was left behind")
	}
}

// putLock writes a lock record as another machine would have.
func putLock(t *testing.T, cl *awsapi.Session, bucket string, rec LockRecord) {
	t.Helper()
	b, _ := json.Marshal(rec)
	if _, err := cl.S3().PutObject(context.Background(), s3api.Object{Bucket: bucket, Key: LockKey, Body: bytes.NewReader(b)}); err != nil {
		t.Fatal(err)
	}
}

// TestLocalCloudStackLockHeldAndStale: a live lock of another host makes deploy, destroy
// and rollback wait (bounded) and refuse, naming the holder, with no change made; an
// expired one is taken over.
func TestLocalCloudStackLockHeldAndStale(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cloud := startCloud(t, localcloud.Delays{RolePropagation: 200 * time.Millisecond})
	cl := testClients(t)
	const stack = "locked"
	mustDeploy(t, cl, stack, testZip(t, "A"), nil)
	mustDeploy(t, cl, stack, testZip(t, "B"), nil) // version 2, so rollback has work to do
	bucket := BucketName(stack, localcloud.AccountID, testRegion)
	now := time.Now().UTC()
	held := LockRecord{Stack: stack, Operation: "deploy", Host: "ci-runner-7", PID: 4242, Token: "t", Since: now.Add(-time.Minute), Expires: now.Add(time.Hour)}
	putLock(t, cl, bucket, held)

	saved := stacklock.LockWait
	stacklock.LockWait = time.Second
	t.Cleanup(func() { stacklock.LockWait = saved })
	cloud.ResetStats()
	in, zi, _ := testInput(stack, testZip(t, "C"), nil)
	var progress bytes.Buffer
	_, err := Deploy(context.Background(), cl, in, zi, false, &progress)
	var lh *LockHeldError
	if !errors.As(err, &lh) {
		t.Fatalf("deploy under a held lock: %v", err)
	}
	for _, want := range []string{"host ci-runner-7", "pid 4242", "since " + held.Since.Format(time.RFC3339), "expiring " + held.Expires.Format(time.RFC3339), "nothing was changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q: %v", want, err)
		}
	}
	if !strings.Contains(progress.String(), "waiting for the stack lock: held by deploy on host ci-runner-7") {
		t.Errorf("no progress while waiting:\n%s", progress.String())
	}
	if _, _, err := RollbackWithProgress(context.Background(), cl, stack, &progress); !errors.As(err, &lh) {
		t.Fatalf("rollback under a held lock: %v", err)
	}
	if _, err := Destroy(context.Background(), cl, stack, testRegion, false, &progress); !errors.As(err, &lh) {
		t.Fatalf("destroy under a held lock: %v", err)
	}
	if got := mutatingOps(cloud.Stats()); len(got) != 1 || got["s3:PutObject"] == 0 { // only the refused lock writes
		t.Fatalf("changes made under a held lock: %v", got)
	}
	if s, err := GetStatus(context.Background(), cl, stack, testRegion); err != nil || !strings.Contains(s.Lock, "ci-runner-7") || s.Function.AliasVersion != "2" {
		t.Fatalf("status under the lock: %+v %v", s, err)
	}

	// The same holder, expired: taken over, and the deploy goes through.
	stale := held
	stale.Expires = now.Add(-time.Minute)
	putLock(t, cl, bucket, stale)
	progress.Reset()
	if _, err := Deploy(context.Background(), cl, in, zi, false, &progress); err != nil {
		t.Fatalf("deploy over a stale lock: %v\n%s", err, progress.String())
	}
	if !strings.Contains(progress.String(), "took over the stale lock of deploy on host ci-runner-7 (pid 4242") {
		t.Errorf("takeover not reported:\n%s", progress.String())
	}
	if _, etag, _ := stacklock.ReadLock(context.Background(), cl, bucket); etag != "" {
		t.Error("the lock was left behind after the takeover")
	}
}

// TestLocalCloudDestroyAfterKillAtCreateBucket: a deploy killed right after CreateBucket
// leaves an untagged bucket; status shows it and destroy removes it.
func TestLocalCloudDestroyAfterKillAtCreateBucket(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cloud := startCloud(t, localcloud.Delays{RolePropagation: -1})
	cl := testClients(t)
	killable := testClients(t, noRetryInjected)
	const stack = "orphan"
	ctx := context.Background()
	bucket := BucketName(stack, localcloud.AccountID, testRegion)
	// The first mutating call of a new stack's deploy is CreateBucket; fail the next one.
	if err := cloud.SetFaults("fail-mutating=2"); err != nil {
		t.Fatal(err)
	}
	in, zi, _ := testInput(stack, testZip(t, "A"), nil)
	cloud.ResetStats()
	_, err := Deploy(ctx, killable, in, zi, false, nil)
	cloud.SetFaults("")
	if err == nil || cloud.Stats().ByOperation["s3:CreateBucket"] != 1 {
		t.Fatalf("want a deploy killed after CreateBucket: %v %v", err, cloud.Stats().ByOperation)
	}
	if err := cl.S3().FindBucket(ctx, bucket); err != nil {
		t.Fatalf("the bucket was not created: %v", err)
	}
	if res := cloud.Resources(TagKey, stack); len(res) != 0 {
		t.Fatalf("expected nothing tagged yet: %+v", res)
	}
	s, err := GetStatus(ctx, cl, stack, testRegion)
	if err != nil || s.Bucket == nil || s.Bucket.Name != bucket || !strings.Contains(strings.Join(s.Problems, "\n"), "not tagged") {
		t.Fatalf("status does not see the untagged bucket: %+v %v", s, err)
	}
	changes, err := Destroy(ctx, cl, stack, testRegion, false, nil)
	if err != nil || len(changes) == 0 {
		t.Fatalf("destroy: %v %v", changes, err)
	}
	if err := cl.S3().FindBucket(ctx, bucket); !errors.Is(err, awsapi.ErrNotFound) {
		t.Fatalf("bucket after destroy: %v", err)
	}
	if s, err := GetStatus(ctx, cl, stack, testRegion); err != nil || s.Deployed {
		t.Fatalf("status after destroy: %+v %v", s, err)
	}
}

// TestLockStale: expired = stale; a holder on this host whose process is gone = stale
// (a deploy killed here need not wait for the expiry); a live holder here or anywhere
// else, before its expiry, is not.
func TestLockStale(t *testing.T) {
	host, _ := os.Hostname()
	now := time.Now()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	live := LockRecord{Host: host, PID: os.Getpid(), Expires: now.Add(time.Hour)}
	for _, tc := range []struct {
		rec   LockRecord
		stale bool
	}{
		{live, false},
		{LockRecord{Host: "elsewhere", PID: dead.Process.Pid, Expires: now.Add(time.Hour)}, false},
		{LockRecord{Host: host, PID: dead.Process.Pid, Expires: now.Add(time.Hour)}, true},
		{LockRecord{Host: "elsewhere", PID: 1, Expires: now.Add(-time.Second)}, true},
	} {
		if got := tc.rec.Stale(now, host); got != tc.stale {
			t.Errorf("%+v: stale = %v", tc.rec, got)
		}
	}
}
