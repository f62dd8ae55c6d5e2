package transformer

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/testfn"
	"github.com/rudderctl/rudderctl/packaging"
)

// TestLocalCloudUpdateConflictRetried: two configuration updates back to back; the second
// meets "An update is in progress" and the retry policy carries it through.
func TestLocalCloudUpdateConflictRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cloud := startCloud(t, localcloud.Delays{RolePropagation: 200 * time.Millisecond, Update: 700 * time.Millisecond})
	cl := testClients(t)
	mustDeploy(t, cl, "conflict", testZip(t, "A"), nil)
	cloud.ResetStats()
	n := NamesFor("conflict").Function
	f, err := cl.Lambda().FindFunction(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Config
	for _, mem := range []int32{512, 640} {
		cfg.Memory = mem
		if err := cl.Lambda().UpdateConfig(context.Background(), n, cfg); err != nil {
			t.Fatalf("memory %d: %v", mem, err)
		}
	}
	if got := cloud.Stats().ByOperation["lambda:UpdateFunctionConfiguration"]; got < 3 {
		t.Fatalf("expected the second update to be refused and retried, saw %d calls", got)
	}
	// A deploy right now finds the update in progress, waits, and restores the settings
	// ($LATEST only: the published version 1 still matches, so no new version).
	r := mustDeploy(t, cl, "conflict", testZip(t, "A"), nil)
	if r.Changes != 1 || r.Version != "1" {
		t.Fatalf("changes: %v", r.ChangeList)
	}
}

// TestLocalCloudRealTransformer runs a whole deploy cycle on examples/transformer packaged
// with packaging.Build (the real adapter, the real app): deploy and call it, no-op redeploy,
// a code change, and kill-and-resume at the first, a middle and the last mutating call.
func TestLocalCloudRealTransformer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	// No role propagation delay: every run makes the same mutating calls (see KillAndResume).
	cloud := startCloud(t, localcloud.Delays{RolePropagation: -1})
	cl := testClients(t)
	zipA := packageExample(t, "")
	zipB := packageExample(t, "// a code change\n")

	cloud.ResetStats()
	mustDeploy(t, cl, "real", zipA, nil)
	mutating := cloud.Stats().MutatingCalls
	want := snapshot(t, cloud, cl, "real")
	checkExampleAnswers(t, cl, "real")

	cloud.ResetStats()
	if r := mustDeploy(t, cl, "real", zipA, nil); r.Changes != 0 || cloud.Stats().MutatingCalls != 0 {
		t.Fatalf("no-op redeploy: %d changes, %d mutating calls", r.Changes, cloud.Stats().MutatingCalls)
	}

	cloud.ResetStats()
	r := mustDeploy(t, cl, "real", zipB, nil)
	st := cloud.Stats()
	// Code, version, alias, and the stack lock taken and released; the health check is a read.
	if got, want := mutatingOps(st), map[string]int{"lambda:UpdateFunctionCode": 1, "lambda:PublishVersion": 1, "lambda:UpdateAlias": 1,
		"s3:PutObject": 1, "s3:DeleteObject": 1}; r.Version != "2" || !maps.Equal(got, want) || st.ByOperation["lambda:Invoke"] != 1 {
		t.Fatalf("code change: version %s, calls %v", r.Version, st.ByOperation)
	}
	checkExampleAnswers(t, cl, "real")

	killable := testClients(t, noRetryInjected)
	for _, k := range []int{1, (mutating + 1) / 2, mutating} {
		stack := fmt.Sprintf("real-kill-%d", k)
		deployKilledAt(t, cloud, killable, stack, zipA, k)
		mustDeploy(t, cl, stack, zipA, nil)
		if got := strings.ReplaceAll(snapshot(t, cloud, cl, stack), stack, "real"); got != want {
			t.Fatalf("k=%d: state after resume differs\n--- got\n%s\n--- want\n%s", k, got, want)
		}
		checkExampleAnswers(t, cl, stack)
	}

	for _, stack := range []string{"real", "real-kill-1"} {
		if _, err := Destroy(context.Background(), cl, stack, testRegion, false, io.Discard); err != nil {
			t.Fatal(err)
		}
		if res := cloud.Resources(TagKey, stack); len(res) != 0 {
			t.Fatalf("%s after destroy: %+v", stack, res)
		}
	}
}

// packageExample packages a copy of examples/transformer (its sources plus extra appended to
// src/index.js, so two calls with different extra give two code versions).
func packageExample(t *testing.T, extra string) string {
	t.Helper()
	example, _ := filepath.Abs("../../../examples/transformer")
	src := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "src"} {
		if out, err := exec.Command("cp", "-a", filepath.Join(example, f), src).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v %s", f, err, out)
		}
	}
	if extra != "" {
		f, err := os.OpenFile(filepath.Join(src, "src", "index.js"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(extra)
		f.Close()
	}
	out := filepath.Join(t.TempDir(), "t.zip")
	// packaging.Build installs the app's production node_modules itself (cached per lockfile).
	if _, err := packaging.Build(context.Background(), packaging.Options{Src: src, Out: out, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Progress: io.Discard}); err != nil {
		t.Fatalf("packaging examples/transformer: %v", err)
	}
	return out
}

// checkExampleAnswers calls the deployed example through the stack's API: with the secret
// prefix it answers as rudder-transformer does; without it, 404.
func checkExampleAnswers(t *testing.T, cl *awsapi.Session, stack string) {
	t.Helper()
	e, err := GetEndpoint(context.Background(), cl, stack, true)
	if err != nil {
		t.Fatal(err)
	}
	code, hdr, body := httpGet(t, e.DestTransformURL+"/health")
	if code != 200 || hdr.Get("apiVersion") != "2" || !strings.Contains(body, "UP") {
		t.Fatalf("%s /health: %d %v %s", stack, code, hdr, body)
	}
	if code, _, body = httpGet(t, e.DestTransformURL+"/features"); code != 200 || !strings.Contains(body, "routerTransform") {
		t.Fatalf("%s /features: %d %s", stack, code, body)
	}
	if code, _, _ = httpGet(t, e.URL+"/features"); code != 404 {
		t.Fatalf("%s /features without prefix: %d", stack, code)
	}
}
