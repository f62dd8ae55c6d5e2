package transformer

// Integration tests against the local cloud (internal/localcloud), through the SDK and
// AWS_ENDPOINT_URL exactly as production reaches AWS.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/testfn"
	"github.com/rudderctl/rudderctl/lambda/manifest"
)

const testRegion = "us-east-1"

// testZip writes a task root zip: wrapper, testdata/fakefn as bootstrap, manifest and
// variant.txt. The same variant gives the same bytes (and CodeSha256).
func testZip(t testing.TB, variant string) string {
	m := manifest.Manifest{Schema: 1, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Entry: "index.js", HealthPath: "/health", Env: map[string]string{}}
	files := testfn.Files(t, testfn.Build(t, "./testdata/fakefn"), &m, testfn.File{Name: "variant.txt", Mode: 0o644, Data: []byte(variant + "\n")})
	return testfn.WriteZip(t, "fn-"+variant+".zip", files)
}

// startCloud starts a local cloud and points the SDK at it.
func startCloud(t testing.TB, d localcloud.Delays) *localcloud.Cloud {
	return awstest.Cloud(t, d)
}

func testClients(t testing.TB, opts ...awsapi.RetryOption) *awsapi.Session {
	cl, err := awsapi.NewSession(context.Background(), testRegion, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func testInput(stack, zipPath string, env map[string]string) (Input, *ZipInfo, error) {
	zi, err := InspectZip(zipPath)
	if err != nil {
		return Input{}, nil, err
	}
	return Input{Stack: stack, Region: testRegion, Zip: zipPath, Runtime: "nodejs22.x", Arch: testfn.HostArch(),
		Memory: 256, Timeout: 10, LogRetention: 7, Env: env}, zi, nil
}

func mustDeploy(t testing.TB, cl *awsapi.Session, stack, zipPath string, env map[string]string) *Result {
	t.Helper()
	in, zi, err := testInput(stack, zipPath, env)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	r, err := Deploy(context.Background(), cl, in, zi, false, &progress)
	if err != nil {
		t.Fatalf("deploy %s: %v\nprogress:\n%s", stack, err, progress.String())
	}
	return r
}

func httpGet(t testing.TB, url string) (int, http.Header, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func lines(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

// snapshot is a normalised picture of a stack: what the cloud holds, with ids, names
// and the secret replaced, so two stacks deployed the same way compare equal.
func snapshot(t testing.TB, c *localcloud.Cloud, cl *awsapi.Session, stack string) string {
	t.Helper()
	o, err := Observe(context.Background(), cl, NamesFor(stack))
	if err != nil {
		t.Fatal(err)
	}
	var apiIDs []string
	for _, a := range o.APIs {
		apiIDs = append(apiIDs, a.ID)
	}
	secret := ""
	if o.Func != nil {
		secret, _ = SecretFromPrefix(o.Func.Config.Env[PrefixEnv])
	}
	norm := func(s string) string {
		s = strings.ReplaceAll(s, "rudderctl-"+stack+"-", "rudderctl-STACK-")
		for i, id := range apiIDs {
			s = strings.ReplaceAll(s, id, fmt.Sprintf("API%d", i))
		}
		for _, in := range o.Integrations {
			s = strings.ReplaceAll(s, in.ID, "INTEGRATION")
		}
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "SECRET")
		}
		return s
	}
	var out []string
	for _, r := range c.Resources(TagKey, stack) {
		out = append(out, norm(fmt.Sprintf("resource %s %s %s", r.Service, r.Type, r.Name)))
	}
	sort.Strings(out)
	if o.Role != nil {
		out = append(out, fmt.Sprintf("role tagged=%v trust=%v policy=%v policies=%v", o.Role.Tagged, policyEqual(o.Role.Trust, TrustPolicy),
			policyEqual(o.Role.Policy, LogsPolicy(testRegion, o.Account, NamesFor(stack).LogGroup)), o.Role.PolicyNames))
	}
	if o.Logs != nil {
		out = append(out, fmt.Sprintf("logs retention=%d tagged=%v", o.Logs.Retention, o.Logs.Tagged))
	}
	if f := o.Func; f != nil {
		var keys []string
		for k := range f.Config.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out = append(out, norm(fmt.Sprintf("function %s %s %s %d %d role=%s env=%v code=%s state=%s tagged=%v secret=%v", f.Config.Runtime, f.Config.Handler, f.Config.Arch,
			f.Config.Memory, f.Config.Timeout, f.Config.Role, keys, f.CodeSha256, f.State, f.Tagged, secret != "")))
	}
	for _, v := range o.Versions {
		out = append(out, fmt.Sprintf("version %s code=%s", v.Number, v.CodeSha256))
	}
	if o.Alias != nil {
		out = append(out, "alias -> "+o.Alias.Version)
	}
	out = append(out, fmt.Sprintf("apis %d", len(o.APIs)))
	for _, in := range o.Integrations {
		out = append(out, norm(fmt.Sprintf("integration %s %s %s", in.Type, in.URI, in.PayloadFormatVersion)))
	}
	var routes []string
	for _, r := range o.Routes {
		routes = append(routes, norm("route "+r.Key+" -> "+r.Target))
	}
	sort.Strings(routes)
	out = append(out, routes...)
	for _, s := range o.Stages {
		out = append(out, fmt.Sprintf("stage %s auto=%v", s.Name, s.AutoDeploy))
	}
	if p := o.Permission; p != nil {
		out = append(out, norm(fmt.Sprintf("permission %s %s %s %s", p.Principal, p.Action, p.Resource, p.SourceARN)))
	}
	return strings.Join(out, "\n")
}

func TestLocalCloudDeploy(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cloud := startCloud(t, localcloud.Delays{})
	cl := testClients(t)
	stack := "it"
	counter := filepath.Join(t.TempDir(), "invocations")
	env := map[string]string{"FAKE_COUNTER": counter}
	zipA := testZip(t, "A")

	cloud.ResetStats()
	start := time.Now()
	r := mustDeploy(t, cl, stack, zipA, env)
	first := cloud.Stats()
	t.Logf("first deploy: %s, %d calls, %d mutating, %d changes", time.Since(start).Round(time.Millisecond), first.Calls, first.MutatingCalls, r.Changes)
	if r.Changes != 14 || r.Version != "1" || r.Endpoint == "" || r.Alias != "live" {
		t.Fatalf("first deploy result %+v", r)
	}

	// The endpoint answers under the secret prefix, with the function's own answer.
	e, err := GetEndpoint(context.Background(), cl, stack, true)
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimPrefix(e.DestTransformURL, e.URL+"/")
	if len(secret) < 22 || strings.Contains(fmt.Sprint(r), secret) {
		t.Fatalf("secret %q (result %+v)", secret, r)
	}
	code, hdr, body := httpGet(t, e.DestTransformURL+"/health")
	if code != 200 || hdr.Get("apiVersion") != "2" || !strings.Contains(body, `"path":"/health"`) || !strings.Contains(body, `"variant":"A"`) {
		t.Fatalf("with prefix: %d %v %s", code, hdr, body)
	}
	before := lines(counter)
	for _, p := range []string{"/health", "/", "/v0/destinations/webhook", "/" + secret[:10] + "/features"} {
		code, _, body = httpGet(t, e.URL+p)
		if code != 404 {
			t.Fatalf("without prefix %s: %d %s", p, code, body)
		}
	}
	if after := lines(counter); after != before {
		t.Fatalf("requests without the prefix invoked the function (%d -> %d)", before, after)
	}

	// Nothing changed: no mutating call, and it says so.
	cloud.ResetStats()
	start = time.Now()
	r = mustDeploy(t, cl, stack, zipA, env)
	noop := cloud.Stats()
	t.Logf("no-op redeploy: %s, %d calls (%v)", time.Since(start).Round(time.Millisecond), noop.Calls, noop.ByOperation)
	// No lock taken either (the plan is empty), and no health check: nothing moves.
	if noop.MutatingCalls != 0 || r.Changes != 0 || r.Applied || noop.ByOperation["s3:PutObject"] != 0 || noop.ByOperation["lambda:Invoke"] != 0 {
		t.Fatalf("no-op redeploy: %d mutating calls %v, result %+v", noop.MutatingCalls, noop.ByOperation, r)
	}

	// A code change: code, version, alias, nothing else — plus taking and releasing the
	// stack lock, and the new version's health check (Invoke, not mutating).
	cloud.ResetStats()
	r = mustDeploy(t, cl, stack, testZip(t, "B"), env)
	st := cloud.Stats()
	if got, want := mutatingOps(st), map[string]int{"lambda:UpdateFunctionCode": 1, "lambda:PublishVersion": 1, "lambda:UpdateAlias": 1,
		"s3:PutObject": 1, "s3:DeleteObject": 1}; !maps.Equal(got, want) || st.MutatingCalls != 5 || st.ByOperation["lambda:Invoke"] != 1 {
		t.Fatalf("code change: %d mutating %v", st.MutatingCalls, st.ByOperation)
	}
	if r.Version != "2" {
		t.Fatalf("code change: version %s", r.Version)
	}
	if code, _, body = httpGet(t, e.DestTransformURL+"/x"); code != 200 || !strings.Contains(body, `"variant":"B"`) {
		t.Fatalf("after code change: %d %s", code, body)
	}

	// Rollback to version 1 and forward again.
	from, to, err := Rollback(context.Background(), cl, stack)
	if err != nil || from != "2" || to != "1" {
		t.Fatalf("rollback %s -> %s: %v", from, to, err)
	}
	if code, _, body = httpGet(t, e.DestTransformURL+"/x"); code != 200 || !strings.Contains(body, `"variant":"A"`) {
		t.Fatalf("after rollback: %d %s", code, body)
	}
	if _, _, err := Rollback(context.Background(), cl, stack); err == nil || !strings.Contains(err.Error(), "no earlier published version") {
		t.Fatalf("second rollback: %v", err)
	}
	r = mustDeploy(t, cl, stack, testZip(t, "B"), env)
	if r.Changes != 1 || r.Version != "2" {
		t.Fatalf("deploy after rollback: %+v", r)
	}

	// A configuration change.
	cloud.ResetStats()
	env2 := map[string]string{"FAKE_COUNTER": counter, "LOG_LEVEL": "debug"}
	r = mustDeploy(t, cl, stack, testZip(t, "B"), env2)
	st = cloud.Stats()
	if got, want := mutatingOps(st), map[string]int{"lambda:UpdateFunctionConfiguration": 1, "lambda:PublishVersion": 1, "lambda:UpdateAlias": 1,
		"s3:PutObject": 1, "s3:DeleteObject": 1}; !maps.Equal(got, want) {
		t.Fatalf("config change: %d mutating %v", st.MutatingCalls, st.ByOperation)
	}

	// Status and logs see it.
	s, err := GetStatus(context.Background(), cl, stack, testRegion)
	if err != nil || !s.Deployed || len(s.Problems) != 0 || s.Function.AliasVersion != "3" {
		t.Fatalf("status %+v %v", s, err)
	}
	var logs bytes.Buffer
	if err := Logs(context.Background(), cl, stack, time.Now().Add(-time.Hour), false, false, &logs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "fakefn: invoked") {
		t.Errorf("logs lack the function's output:\n%s", logs.String())
	}
	// --json: one object per line, every line an event with its three fields.
	var jl bytes.Buffer
	if err := Logs(context.Background(), cl, stack, time.Now().Add(-time.Hour), false, true, &jl); err != nil {
		t.Fatal(err)
	}
	invoked := 0
	for _, line := range strings.Split(strings.TrimSpace(jl.String()), "\n") {
		var ev LogEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Stream == "" || ev.Message == "" {
			t.Fatalf("logs --json line %q: %v", line, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, ev.Timestamp); err != nil {
			t.Fatalf("logs --json timestamp %q: %v", ev.Timestamp, err)
		}
		if strings.Contains(ev.Message, "fakefn: invoked") {
			invoked++
		}
	}
	if invoked == 0 {
		t.Errorf("logs --json lacks the function's output:\n%s", jl.String())
	}

	// Destroy leaves nothing tagged; twice is fine.
	changes, err := Destroy(context.Background(), cl, stack, testRegion, false, io.Discard)
	if err != nil || len(changes) == 0 {
		t.Fatalf("destroy: %d changes, %v", len(changes), err)
	}
	if res := cloud.Resources(TagKey, stack); len(res) != 0 {
		t.Fatalf("after destroy: %+v", res)
	}
	changes, err = Destroy(context.Background(), cl, stack, testRegion, false, io.Discard)
	if err != nil || len(changes) != 0 {
		t.Fatalf("second destroy: %d changes, %v", len(changes), err)
	}
	if s, err := GetStatus(context.Background(), cl, stack, testRegion); err != nil || s.Deployed {
		t.Fatalf("status after destroy: %+v %v", s, err)
	}
}

// mutatingOps are the mutating calls of st by operation (reads, Invoke and the like left out).
func mutatingOps(st localcloud.Stats) map[string]int {
	out := map[string]int{}
	for op, n := range st.ByOperation {
		_, name, _ := strings.Cut(op, ":")
		read := name == "GetCallerIdentity"
		for _, p := range []string{"Get", "List", "Describe", "Invoke", "Filter", "Head"} {
			read = read || strings.HasPrefix(name, p)
		}
		if !read {
			out[op] = n
		}
	}
	return out
}

// noRetryInjected makes an injected "fail-mutating" fault stop the run (as a killed
// process would) instead of being retried away by the SDK.
func noRetryInjected(o *retry.StandardOptions) {
	o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
		if strings.Contains(err.Error(), "injected fault") {
			return aws.FalseTernary
		}
		return aws.UnknownTernary
	})}, o.Retryables...)
}

// deployKilledAt deploys stack with its k-th mutating call failing (as a killed process would
// stop there) and checks that the fault fired once and stopped the deploy with advice to run it
// again. The one failure a deploy may survive is the stack lock's release (DeleteObject, retried;
// the lock expires by itself anyway): then it must have succeeded.
func deployKilledAt(t *testing.T, cloud *localcloud.Cloud, killable *awsapi.Session, stack, zip string, k int) {
	t.Helper()
	if err := cloud.SetFaults(fmt.Sprintf("fail-mutating=%d", k)); err != nil {
		t.Fatal(err)
	}
	in, zi, _ := testInput(stack, zip, nil)
	cloud.ResetStats()
	_, err := Deploy(context.Background(), killable, in, zi, false, io.Discard)
	cloud.SetFaults("")
	st := cloud.Stats()
	// A fault that never fires would make the caller's loop a series of clean deploys.
	if st.Injected["error"] != 1 {
		t.Fatalf("k=%d: the injected fault fired %d times, want 1", k, st.Injected["error"])
	}
	switch {
	case err == nil && st.InjectedInto["s3:DeleteObject"] == 1:
		t.Logf("k=%d: the lock's release failed once and was retried", k)
	case err == nil:
		t.Fatalf("k=%d: the deploy survived a failed %v it cannot retry", k, st.InjectedInto)
	case !strings.Contains(err.Error(), "run it again"):
		t.Fatalf("k=%d: error does not say how to resume: %v", k, err)
	default:
		t.Logf("k=%d (%v): %s", k, st.InjectedInto, strings.SplitN(err.Error(), "\n", 2)[0])
	}
}

func TestLocalCloudKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	// No role propagation delay: CreateFunction is not retried, so every run makes the same
	// mutating calls and the k-th is the same call each time.
	cloud := startCloud(t, localcloud.Delays{RolePropagation: -1, Active: 100 * time.Millisecond, Update: 100 * time.Millisecond})
	cl := testClients(t)
	killable := testClients(t, noRetryInjected)
	zipA := testZip(t, "A")

	cloud.ResetStats()
	mustDeploy(t, cl, "clean", zipA, nil)
	m := cloud.Stats().MutatingCalls
	want := snapshot(t, cloud, cl, "clean")
	t.Logf("clean deploy: %d mutating calls\n%s", m, want)
	for k := 1; k <= m; k++ {
		stack := fmt.Sprintf("kill-%d", k)
		deployKilledAt(t, cloud, killable, stack, zipA, k)
		mustDeploy(t, cl, stack, zipA, nil)
		if got := snapshot(t, cloud, cl, stack); got != want {
			t.Fatalf("k=%d: state after resume differs\n--- got\n%s\n--- want\n%s", k, got, want)
		}
		// And the resumed stack is settled.
		cloud.ResetStats()
		if r := mustDeploy(t, cl, stack, zipA, nil); r.Changes != 0 || cloud.Stats().MutatingCalls != 0 {
			t.Fatalf("k=%d: not converged: %v", k, r.ChangeList)
		}
	}
}

func TestLocalCloudFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cloud := startCloud(t, localcloud.Delays{RolePropagation: 500 * time.Millisecond})
	cl := testClients(t)
	cloud.ResetStats()
	// seed=18 injects a throttle and an error within the first calls, so both paths run.
	if err := cloud.SetFaults("throttle=0.2,error=0.05,seed=18"); err != nil {
		t.Fatal(err)
	}
	zipA := testZip(t, "A")
	r := mustDeploy(t, cl, "flaky", zipA, nil)
	st := cloud.Stats()
	t.Logf("deploy under faults: %d calls, %d changes, injected %v", st.Calls, r.Changes, st.Injected)
	if st.Injected["throttle"] == 0 || st.Injected["error"] == 0 {
		t.Fatalf("the deploy met no injected throttle or error (%v): it proves nothing about retries", st.Injected)
	}
	cloud.SetFaults("")
	clean := testClients(t)
	cloud.ResetStats()
	mustDeploy(t, clean, "calm", zipA, nil)
	calm := cloud.Stats()
	t.Logf("same deploy without faults: %d calls", calm.Calls)
	a := strings.ReplaceAll(snapshot(t, cloud, clean, "flaky"), "flaky", "X")
	b := strings.ReplaceAll(snapshot(t, cloud, clean, "calm"), "calm", "X")
	if a != b {
		t.Fatalf("faulty deploy differs:\n%s\n---\n%s", a, b)
	}
	if _, err := Destroy(context.Background(), cl, "flaky", testRegion, false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if res := cloud.Resources(TagKey, "flaky"); len(res) != 0 {
		t.Fatalf("after destroy: %+v", res)
	}
}

// bigTestZip is testZip plus ~60 MB of incompressible (seeded, so deterministic) padding:
// over Lambda's 50 MB direct-upload limit, under its 250 MB unzipped limit.
func bigTestZip(t testing.TB, variant string) string {
	m := manifest.Manifest{Schema: 1, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Entry: "index.js", HealthPath: "/health", Env: map[string]string{}}
	pad := make([]byte, 60<<20)
	rand.New(rand.NewSource(42)).Read(pad)
	files := testfn.Files(t, testfn.Build(t, "./testdata/fakefn"), &m,
		testfn.File{Name: "variant.txt", Mode: 0o644, Data: []byte(variant + "\n")},
		testfn.File{Name: "padding.bin", Mode: 0o644, Data: pad})
	return testfn.WriteZip(t, "big-"+variant+".zip", files)
}

func TestLocalCloudDeployViaS3(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cloud := startCloud(t, localcloud.Delays{RolePropagation: 300 * time.Millisecond})
	cl := testClients(t)
	ctx := context.Background()
	const stack = "big"
	zipA := bigTestZip(t, "A")
	in, zi, err := testInput(stack, zipA, nil)
	if err != nil {
		t.Fatal(err)
	}
	if zi.Bytes <= MaxDirectUpload {
		t.Fatalf("test zip is only %d B", zi.Bytes)
	}

	// The plan shows the bucket and the upload.
	p, err := Deploy(ctx, cl, in, zi, true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	bucket := BucketName(stack, localcloud.AccountID, testRegion)
	plan := strings.Join(p.ChangeList, "\n")
	if p.Changes != 15 || !strings.Contains(plan, "+ S3 bucket "+bucket+": CreateBucket (missing; holds the stack lock)") ||
		!strings.Contains(plan, "+ S3 object "+bucket+"/"+CodeKey(zi.CodeSha256)+": PutObject") {
		t.Fatalf("plan:\n%s", plan)
	}

	cloud.ResetStats()
	r := mustDeploy(t, cl, stack, zipA, nil)
	st := cloud.Stats()
	t.Logf("deploy through S3: %d calls, %d mutating %v", st.Calls, st.MutatingCalls, st.ByOperation)
	if r.Changes != 15 || r.Version != "1" || st.ByOperation["s3:CreateBucket"] != 1 || st.ByOperation["s3:PutBucketTagging"] != 1 ||
		st.ByOperation["s3:PutObject"] != 2 || st.ByOperation["lambda:CreateFunction"] < 1 { // the lock and the zip; CreateFunction is retried while the role propagates
		t.Fatalf("first deploy: %+v %v", r, st.ByOperation)
	}
	// Lambda took the code from S3: same CodeSha256 as the zip.
	s, err := GetStatus(ctx, cl, stack, testRegion)
	if err != nil || s.Function.CodeSha256 != zi.CodeSha256 || s.Bucket == nil || s.Bucket.Name != bucket || s.Bucket.Detail != "1 object(s)" {
		t.Fatalf("status %+v %v", s, err)
	}
	e, err := GetEndpoint(ctx, cl, stack, true)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, body := httpGet(t, e.DestTransformURL+"/health"); code != 200 || !strings.Contains(body, `"variant":"A"`) {
		t.Fatalf("through the API: %d %s", code, body)
	}
	found := false
	for _, res := range cloud.Resources(TagKey, stack) {
		found = found || (res.Service == "s3" && res.Type == "bucket" && res.Name == bucket)
	}
	if !found {
		t.Fatalf("bucket %s not tagged with the stack: %+v", bucket, cloud.Resources(TagKey, stack))
	}

	// Again: nothing to do, no mutating call.
	cloud.ResetStats()
	r = mustDeploy(t, cl, stack, zipA, nil)
	if st := cloud.Stats(); st.MutatingCalls != 0 || r.Changes != 0 {
		t.Fatalf("second deploy: %d mutating %v, %+v", st.MutatingCalls, st.ByOperation, r)
	}

	// New code: one upload, then code, version, alias; the bucket is reused (and holds the lock).
	cloud.ResetStats()
	r = mustDeploy(t, cl, stack, bigTestZip(t, "B"), nil)
	st = cloud.Stats()
	if st.MutatingCalls != 6 || st.ByOperation["s3:PutObject"] != 2 || st.ByOperation["s3:DeleteObject"] != 1 || st.ByOperation["lambda:UpdateFunctionCode"] != 1 || r.Version != "2" {
		t.Fatalf("code change: %d mutating %v, %+v", st.MutatingCalls, st.ByOperation, r)
	}
	if code, _, body := httpGet(t, e.DestTransformURL+"/x"); code != 200 || !strings.Contains(body, `"variant":"B"`) {
		t.Fatalf("after code change: %d %s", code, body)
	}
	// Back to A: its object is still there (content-addressed), so no upload.
	cloud.ResetStats()
	mustDeploy(t, cl, stack, zipA, nil)
	if st := cloud.Stats(); st.ByOperation["s3:PutObject"] != 1 || st.ByOperation["lambda:UpdateFunctionCode"] != 1 { // the lock only
		t.Fatalf("back to A: %v", st.ByOperation)
	}

	// Destroy removes the objects and the bucket with the rest; twice is fine.
	changes, err := Destroy(ctx, cl, stack, testRegion, false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, c := range changes {
		if c.Action == DeleteObject || c.Action == DeleteBucket {
			deleted = append(deleted, c.String())
		}
	}
	if len(deleted) != 3 {
		t.Fatalf("destroy deleted %v", deleted)
	}
	if res := cloud.Resources(TagKey, stack); len(res) != 0 {
		t.Fatalf("after destroy: %+v", res)
	}
	if err := cl.S3().FindBucket(ctx, bucket); !errors.Is(err, awsapi.ErrNotFound) {
		t.Fatalf("bucket after destroy: %v", err)
	}
	changes, err = Destroy(ctx, cl, stack, testRegion, false, io.Discard)
	if err != nil || len(changes) != 0 {
		t.Fatalf("second destroy: %d changes, %v", len(changes), err)
	}
}

// TestLocalCloudKillAndResumeViaS3 interrupts a deploy through S3 at the S3 steps and
// around them (mutating calls 1..9: CreateBucket, PutBucketTagging, the lock's PutObject,
// role, policy, log group, retention, the zip's PutObject, CreateFunction) and checks that
// a second run converges to a clean deploy's state.
func TestLocalCloudKillAndResumeViaS3(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cloud := startCloud(t, localcloud.Delays{RolePropagation: -1, Active: 100 * time.Millisecond, Update: 100 * time.Millisecond})
	cl := testClients(t)
	killable := testClients(t, noRetryInjected)
	zipA := bigTestZip(t, "A")
	mustDeploy(t, cl, "clean", zipA, nil)
	want := snapshot(t, cloud, cl, "clean")
	if !strings.Contains(want, "resource s3 bucket rudderctl-STACK-") {
		t.Fatalf("clean snapshot lacks the bucket:\n%s", want)
	}
	for k := 1; k <= 9; k++ {
		stack := fmt.Sprintf("kill-%d", k)
		deployKilledAt(t, cloud, killable, stack, zipA, k)
		mustDeploy(t, cl, stack, zipA, nil)
		if got := snapshot(t, cloud, cl, stack); got != want {
			t.Fatalf("k=%d: state after resume differs\n--- got\n%s\n--- want\n%s", k, got, want)
		}
		cloud.ResetStats()
		if r := mustDeploy(t, cl, stack, zipA, nil); r.Changes != 0 || cloud.Stats().MutatingCalls != 0 {
			t.Fatalf("k=%d: not converged: %v", k, r.ChangeList)
		}
		if _, err := Destroy(context.Background(), cl, stack, testRegion, false, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
}
