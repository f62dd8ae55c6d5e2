package workspace

// Acceptance tests against the local cloud (real SDK calls, the real RIE running the packaged
// server, API stages as real HTTP listeners).

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/awsapi/logsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/testfn"
	ws "github.com/rudderctl/rudderctl/internal/workspace"
	"github.com/rudderctl/rudderctl/internal/workspace/serve"
	"github.com/rudderctl/rudderctl/lambda/manifest"
)

const testRegion = "us-east-1"

func TestMain(m *testing.M) {
	code := m.Run()
	testfn.Cleanup()
	os.Exit(code)
}

func startCloud(t *testing.T) *localcloud.Cloud {
	t.Helper()
	return awstest.Cloud(t, localcloud.Delays{})
}

// deployTransformer deploys a stand-in transformer (the deploy tests' fake adapter): the
// API, the secret and the stack bucket the workspace builds on.
func deployTransformer(t *testing.T, cl *awsapi.Session, stack string) {
	t.Helper()
	m := manifest.Manifest{Schema: 1, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Entry: "index.js", HealthPath: "/health", Env: map[string]string{}}
	zipPath := testfn.WriteZip(t, "transformer.zip", testfn.Files(t, testfn.Build(t, "../transformer/testdata/fakefn"), &m))
	zi, err := transformer.InspectZip(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	in := transformer.Input{Stack: stack, Region: testRegion, Zip: zipPath, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Memory: 256, Timeout: 10, LogRetention: 7}
	var progress bytes.Buffer
	if _, err := transformer.Deploy(context.Background(), cl, in, zi, false, &progress); err != nil {
		t.Fatalf("deploy the transformer: %v\n%s", err, progress.String())
	}
}

// transformerPlan plans the stand-in transformer again, unchanged (dry run).
func transformerPlan(t *testing.T, cl *awsapi.Session, stack string) (*transformer.Result, error) {
	t.Helper()
	m := manifest.Manifest{Schema: 1, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Entry: "index.js", HealthPath: "/health", Env: map[string]string{}}
	zipPath := testfn.WriteZip(t, "transformer.zip", testfn.Files(t, testfn.Build(t, "../transformer/testdata/fakefn"), &m))
	zi, err := transformer.InspectZip(zipPath)
	if err != nil {
		return nil, err
	}
	in := transformer.Input{Stack: stack, Region: testRegion, Zip: zipPath, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Memory: 256, Timeout: 10, LogRetention: 7}
	return transformer.Deploy(context.Background(), cl, in, zi, true, io.Discard)
}

// exampleCopy copies the example workspace, with source website's write key removed (the
// stack generates it).
func exampleCopy(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := "../../../examples/workspace"
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == ws.DefaultFile {
			data = bytes.Replace(data, []byte("    writeKey: 2ExampleWebsiteWriteKey00001\n"), nil, 1)
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

type httpReply struct {
	status int
	header http.Header
	body   []byte
}

func get(t *testing.T, url string, header ...string) httpReply {
	t.Helper()
	return do(t, "GET", url, header...)
}

func do(t *testing.T, method, url string, header ...string) httpReply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpReply{resp.StatusCode, resp.Header, b}
}

func basicAuth(user string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"))
}

// functionLog is every message the workspace function logged so far.
func functionLog(t *testing.T, cl *awsapi.Session, stack string) string {
	t.Helper()
	var b strings.Builder
	err := cl.Logs().FilterEvents(context.Background(), NamesFor(stack).LogGroup, 0, func(e logsapi.Event) error {
		b.WriteString(e.Message)
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func prepare(t *testing.T, dir string) *Code {
	t.Helper()
	code, err := Prepare(context.Background(), Input{Arch: testfn.HostArch(), File: filepath.Join(dir, ws.DefaultFile)}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func deploy(t *testing.T, cl *awsapi.Session, stack string, code *Code) *Result {
	t.Helper()
	in := Input{Stack: stack, Region: testRegion, Arch: testfn.HostArch(), LogRetention: 7}
	var progress bytes.Buffer
	r, err := Deploy(context.Background(), cl, in, code, false, &progress)
	if err != nil {
		t.Fatalf("deploy workspace: %v\n%s", err, progress.String())
	}
	return r
}

func TestDeployServesTheWorkspace(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys into the local cloud and runs the RIE")
	}
	cloud := startCloud(t)
	cl, err := awsapi.NewSession(context.Background(), testRegion)
	if err != nil {
		t.Fatal(err)
	}
	const stack = "wsacc"
	dir := exampleCopy(t)
	code := prepare(t, dir)

	// Without the transformer there is no API to route on: a clear refusal, no mutating call.
	cloud.ResetStats()
	if _, err := Deploy(context.Background(), cl, Input{Stack: stack, Region: testRegion, Arch: testfn.HostArch(), LogRetention: 7}, code, false, io.Discard); err == nil || !strings.Contains(err.Error(), "deploy the transformer first") {
		t.Fatalf("deploy before the transformer: %v", err)
	}
	if m := cloud.Stats().MutatingCalls; m != 0 {
		t.Fatalf("the refused deploy made %d mutating calls", m)
	}

	deployTransformer(t, cl, stack)
	r := deploy(t, cl, stack, code)
	if !r.Applied || r.Changes == 0 {
		t.Fatalf("first deploy: %+v", r)
	}
	e, err := GetEndpoints(context.Background(), cl, stack, true)
	if err != nil {
		t.Fatal(err)
	}
	hidden, _ := GetEndpoints(context.Background(), cl, stack, false)
	secret := strings.TrimPrefix(e.ConfigBackendURL, strings.TrimSuffix(hidden.ConfigBackendURL, "/<secret>")+"/")
	if hidden.WorkspaceToken != "" || strings.Contains(hidden.ConfigBackendURL, secret) || e.WorkspaceToken == "" {
		t.Fatalf("endpoints without --show-secret show a secret: %+v", hidden)
	}

	// The served config is the render, with the generated key in place of its marker.
	fc, err := cl.Lambda().FindConfiguration(context.Background(), NamesFor(stack).Function, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]string
	if err := json.Unmarshal([]byte(fc.Config.Env[serve.EnvWriteKeys]), &keys); err != nil || keys["website"] == "" {
		t.Fatalf("generated write keys in the environment: %v %v", keys, err)
	}
	f, err := ws.Load(filepath.Join(dir, ws.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ws.Compile(context.Background(), f, ws.Options{WriteKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	cfgURL := e.ConfigBackendURL + serve.PathConfig + "?fetchAll=true"
	ok := get(t, cfgURL, "Authorization", basicAuth(e.WorkspaceToken))
	if ok.status != 200 || !bytes.Equal(ok.body, want.Config) {
		t.Fatalf("config with the token: %d\n%s", ok.status, ok.body)
	}
	if bytes.Contains(ok.body, []byte(serve.WriteKeyMarker("website"))) || !bytes.Contains(ok.body, []byte(`"env.EVENTS_WEBHOOK_AUTHORIZATION"`)) {
		t.Error("served config: a marker left, or the credential placeholder missing")
	}
	for name, hdr := range map[string][]string{"wrong": {"Authorization", basicAuth(e.WorkspaceToken + "x")}, "missing": nil} {
		r := get(t, cfgURL, hdr...)
		if r.status != 401 || bytes.Contains(r.body, []byte(want.WorkspaceID)) || bytes.Contains(r.body, []byte(keys["website"])) {
			t.Errorf("%s token: %d %s", name, r.status, r.body)
		}
	}
	if r := get(t, cfgURL, "Authorization", basicAuth(e.WorkspaceToken), "If-None-Match", ok.header.Get("ETag")); r.status != 304 || len(r.body) != 0 {
		t.Errorf("revalidation: %d %q", r.status, r.body)
	}
	// rudder-server's features report reaches the function (not the transformer's catch-all
	// route) and gets the 204 it wants.
	settings := e.ConfigBackendURL + "/data-plane/v1/workspaces/" + want.WorkspaceID + "/settings"
	if r := do(t, "POST", settings, "Authorization", basicAuth(e.WorkspaceToken)); r.status != 204 {
		t.Errorf("POST settings with the token: %d %s", r.status, r.body)
	}
	fn := want.Functions[0]
	answer, _ := want.TransformationAnswer(fn.VersionID)
	if r := get(t, e.ConfigBackendURL+serve.PathTransformation+"?versionId="+fn.VersionID); r.status != 200 || !bytes.Equal(r.body, answer) {
		t.Errorf("transformation by version id: %d %s", r.status, r.body)
	}

	// Without the secret prefix: 404 from the gateway, and the function is not invoked.
	before := strings.Count(functionLog(t, cl, stack), "rudderctl-workspace:")
	if before == 0 {
		t.Fatal("the function logged no request: the invocation count below would prove nothing")
	}
	base := strings.TrimSuffix(hidden.ConfigBackendURL, "/<secret>")
	for _, p := range []string{serve.PathConfig + "?fetchAll=true", serve.PathTransformation + "?versionId=" + fn.VersionID} {
		if r := get(t, base+p, "Authorization", basicAuth(e.WorkspaceToken)); r.status != 404 || bytes.Contains(r.body, []byte(want.WorkspaceID)) {
			t.Errorf("without the prefix %s: %d %s", p, r.status, r.body)
		}
	}
	if after := strings.Count(functionLog(t, cl, stack), "rudderctl-workspace:"); after != before {
		t.Errorf("requests without the prefix reached the function: %d -> %d log lines", before, after)
	}
	if log := functionLog(t, cl, stack); strings.Contains(log, e.WorkspaceToken) || strings.Contains(log, secret) || strings.Contains(log, keys["website"]) {
		t.Error("the function's log holds a secret")
	}

	// Unchanged: no change, no mutating call.
	cloud.ResetStats()
	if r := deploy(t, cl, stack, prepare(t, dir)); r.Changes != 0 || r.Applied {
		t.Fatalf("redeploy unchanged: %+v", r)
	}
	if m := cloud.Stats().MutatingCalls; m != 0 {
		t.Fatalf("redeploy unchanged made %d mutating calls: %v", m, cloud.Stats().ByOperation)
	}

	// The transformer's deploy leaves the workspace's routes and integration on its API
	// alone: planned again unchanged, it has nothing to do.
	tr, err := transformerPlan(t, cl, stack)
	if err != nil || tr.Changes != 0 {
		t.Fatalf("the transformer's plan after the workspace deploy: %v %+v", err, tr)
	}

	// One function file changed: a new version; the served config changes in exactly that
	// versionId; token and generated key stay.
	enrich := filepath.Join(dir, "functions", "enrich.js")
	src, _ := os.ReadFile(enrich)
	if err := os.WriteFile(enrich, append(src, []byte("// v2\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	deploy(t, cl, stack, prepare(t, dir))
	again, _ := GetEndpoints(context.Background(), cl, stack, true)
	if again.WorkspaceToken != e.WorkspaceToken {
		t.Error("the token changed on redeploy")
	}
	now := get(t, cfgURL, "Authorization", basicAuth(e.WorkspaceToken))
	f2, _ := ws.Load(filepath.Join(dir, ws.DefaultFile))
	want2, err := ws.Compile(context.Background(), f2, ws.Options{WriteKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if now.status != 200 || !bytes.Equal(now.body, want2.Config) {
		t.Fatalf("config after the change: %d\n%s", now.status, now.body)
	}
	newV := want2.Functions[0].VersionID
	if newV == fn.VersionID || !bytes.Equal(bytes.ReplaceAll(now.body, []byte(newV), []byte(fn.VersionID)), ok.body) {
		t.Error("the served config changed in more than the function's versionId")
	}
	st, err := GetStatus(context.Background(), cl, stack)
	if err != nil || !st.Deployed || st.Live != "2" || !strings.Contains(st.Workspace, want2.WorkspaceID) {
		t.Errorf("status: %+v %v", st, err)
	}

	// The example transformer, pointed at the deployed workspace, runs the function it
	// fetched by version id, and fetches it once.
	checkExampleTransformerFetches(t, cl, stack, e.ConfigBackendURL, want2)
}
