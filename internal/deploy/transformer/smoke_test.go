package transformer

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud"
)

// TestLocalCloudSmokeBeforeLive: a version that does not answer its health check with 2xx
// never becomes live — not on the deploy that published it, not on a re-run — and the
// error shows the log tail and what to do.
func TestLocalCloudSmokeBeforeLive(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cloud := startCloud(t, localcloud.Delays{RolePropagation: 200 * time.Millisecond})
	cl := testClients(t)
	const stack = "smoke"
	mustDeploy(t, cl, stack, testZip(t, "A"), nil)
	e, err := GetEndpoint(context.Background(), cl, stack, true)
	if err != nil {
		t.Fatal(err)
	}
	deployErr := func(variant string) (*SmokeError, Stats) {
		t.Helper()
		in, zi, err := testInput(stack, testZip(t, variant), nil)
		if err != nil {
			t.Fatal(err)
		}
		cloud.ResetStats()
		var progress bytes.Buffer
		_, err = Deploy(context.Background(), cl, in, zi, false, &progress)
		var se *SmokeError
		if !errors.As(err, &se) {
			t.Fatalf("%s: want a failed health check, got %v\n%s", variant, err, progress.String())
		}
		return se, Stats(cloud.Stats())
	}
	aliasIs := func(want string) {
		t.Helper()
		s, err := GetStatus(context.Background(), cl, stack, testRegion)
		if err != nil || s.Function.AliasVersion != want {
			t.Fatalf("alias live: want %s, status %+v %v", want, s.Function, err)
		}
		if code, _, body := httpGet(t, e.DestTransformURL+"/x"); code != 200 || !strings.Contains(body, `"variant":"A"`) {
			t.Fatalf("the API no longer serves version 1: %d %s", code, body)
		}
	}

	// Answers 500: published as version 2, never live.
	se, st := deployErr("unhealthy")
	msg := se.Error()
	t.Logf("the failed check says:\n%s", msg)
	for _, want := range []string{"version 2", "HTTP 500", "version 1 stays live", "fakefn: unhealthy: the database is unreachable", "rudderctl logs transformer", "fix the app"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "run it again to finish") {
		t.Errorf("a failed check is not an interruption:\n%s", msg)
	}
	if st.ByOperation["lambda:Invoke"] != 1 || st.ByOperation["lambda:UpdateAlias"] != 0 || st.ByOperation["lambda:PublishVersion"] != 1 {
		t.Fatalf("unhealthy deploy calls: %v", st.ByOperation)
	}
	aliasIs("1")

	// A re-run finds version 2 published but not live: it checks it again and refuses again,
	// changing nothing on the stack (its only writes take and release the stack lock).
	se, st = deployErr("unhealthy")
	if got := mutatingOps(localcloud.Stats(st)); se.Version != "2" || st.ByOperation["lambda:Invoke"] != 1 || !maps.Equal(got, map[string]int{"s3:PutObject": 1, "s3:DeleteObject": 1}) {
		t.Fatalf("re-run: version %s, %d mutating %v", se.Version, st.MutatingCalls, st.ByOperation)
	}
	aliasIs("1")

	// Dies at start-up: a function error, with the crash in the log tail.
	se, _ = deployErr("crash-init")
	if se.Version != "3" || !strings.Contains(se.Error(), "missing module ./dist/app.js") || !strings.Contains(se.Why, "the function failed") {
		t.Fatalf("crash at init:\n%s", se.Error())
	}
	aliasIs("1")

	// Fixed: goes live.
	r := mustDeploy(t, cl, stack, testZip(t, "B"), nil)
	if r.Version != "4" {
		t.Fatalf("fixed deploy: %+v", r)
	}
	if code, _, body := httpGet(t, e.DestTransformURL+"/x"); code != 200 || !strings.Contains(body, `"variant":"B"`) {
		t.Fatalf("after the fix: %d %s", code, body)
	}
}

// Stats is localcloud.Stats (a local name keeps the helper's signature short).
type Stats localcloud.Stats
