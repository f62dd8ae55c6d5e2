package backendnodes

// Support of the acceptance tests: one local cloud running the whole topology — the example
// transformer on Lambda, the stack's workspace (a webhook destination pointing at a sink of
// the test), the user functions on ECS, rudderctl's own image, and the nodes, whose
// rudder-server image is mapped to the stand-in backend (or RUDDER_SERVER_BIN).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/container"
	"github.com/rudderctl/rudderctl/container/image"
	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/config"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
	"github.com/rudderctl/rudderctl/internal/deploy/workspace"
	"github.com/rudderctl/rudderctl/internal/lambdalocal"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/localcloud/ecs"
	"github.com/rudderctl/rudderctl/internal/testfn"
	"github.com/rudderctl/rudderctl/packaging"
)

const testRegion = "us-east-1"

// The write key of the test workspace's source.
const writeKey = "2NodesTestWriteKey0000000001"

func TestMain(m *testing.M) {
	TargetHealth.HealthInterval, TargetHealth.HealthTimeout = 1, 1
	DeregistrationDelay = 2
	PollEvery, DrainPollGap = 200*time.Millisecond, time.Second
	container.TargetHealth.HealthInterval, container.TargetHealth.HealthTimeout = 1, 1
	container.ContainerHealth.HealthInterval, container.ContainerHealth.HealthTimeout, container.ContainerHealth.HealthStartPeriod = 2, 2, 15
	container.PollEvery = 200 * time.Millisecond
	ecs.Tick = 100 * time.Millisecond
	kinds.WaitMax = time.Second
	code := m.Run()
	testfn.Cleanup()
	os.Exit(code)
}

// sink is the webhook destination: it records each delivery (by messageId and the
// delivering node's X-Rudder-Instance), the digest of a large event's properties.blob, and
// answers status.
type sink struct {
	*httptest.Server
	status   atomic.Int32
	mu       sync.Mutex
	received map[string]int
	byNode   map[string]int
	blobs    map[string]string // messageId -> blobDigest of its properties.blob
}

func startSink(t testing.TB) *sink {
	s := &sink{received: map[string]int{}, byNode: map[string]int{}, blobs: map[string]string{}}
	s.status.Store(200)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		code := int(s.status.Load())
		if code < 300 {
			id, _ := body["messageId"].(string)
			s.mu.Lock()
			s.received[id]++
			s.byNode[r.Header.Get("X-Rudder-Instance")]++
			if props, ok := body["properties"].(map[string]any); ok {
				if blob, ok := props["blob"].(string); ok {
					s.blobs[id] = blobDigest(blob)
				}
			}
			s.mu.Unlock()
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) counts() (map[string]int, map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, b := map[string]int{}, map[string]int{}
	for k, v := range s.received {
		a[k] = v
	}
	for k, v := range s.byNode {
		b[k] = v
	}
	return a, b
}

// topology is what the tests share: one cloud, one stack with every prerequisite.
type topology struct {
	cloud *localcloud.Cloud
	cl    *awsapi.Session
	sink  *sink
	stack string
	// atLeastOnce holds the ids accepted while a node was killed: a batch delivered just
	// before the kill, not yet marked done, is delivered again by the node that comes
	// back (rudder-server's own guarantee is at least once), so those may arrive twice.
	atLeastOnce map[string]bool
}

var (
	appOnce sync.Once
	appDir  string
	appZip  string
	appErr  error
)

// exampleApp packages examples/transformer once: the zip (Lambda) and its unpacked tree
// (the ECS image map).
func exampleApp(t testing.TB) (dir, zip string) {
	t.Helper()
	appOnce.Do(func() {
		tmp, err := os.MkdirTemp("", "rudderctl-nodes-app-")
		if err != nil {
			appErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		appZip = filepath.Join(tmp, "transformer.zip")
		if _, err := packaging.Build(ctx, packaging.Options{Src: "../examples/transformer", Out: appZip, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Progress: io.Discard}); err != nil {
			appErr = fmt.Errorf("packaging the example transformer: %v", err)
			return
		}
		appDir = filepath.Join(tmp, "app")
		appErr = lambdalocal.Unzip(appZip, appDir)
	})
	if appErr != nil {
		t.Fatal(appErr)
	}
	return appDir, appZip
}

// backendProgram is what rudderlabs/rudder-server runs as: RUDDER_SERVER_BIN, else the
// stand-in built from backendnodes/standin/cmd/rudder-standin.
func backendProgram(t testing.TB) (path, which string) {
	t.Helper()
	if bin := os.Getenv("RUDDER_SERVER_BIN"); bin != "" {
		return bin, "rudder-server"
	}
	return testfn.Build(t, "./standin/cmd/rudder-standin"), "rudder-standin"
}

func writeImageMap(t testing.TB) string {
	t.Helper()
	app, _ := exampleApp(t)
	backend, _ := backendProgram(t)
	var b strings.Builder
	fmt.Fprintf(&b, "images:\n  - image: %s:%s\n    dir: %s\n    command: [node, src/index.js]\n    node: 22\n    portEnv: PORT\n", config.DefaultECSImage, config.DefaultECSTag, app)
	fmt.Fprintf(&b, "  - image: %s\n    dir: %s\n    command: [%s]\n    portEnv: RSERVER_GATEWAY_WEB_PORT\n", config.DefaultNodesImage, filepath.Dir(backend), backend)
	path := filepath.Join(t.TempDir(), "images.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeWorkspace is examples/workspace with one webhook destination: the sink.
func writeWorkspace(t testing.TB, sinkURL string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"functions/enrich.js", "libraries/piiHelpers.js"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", "workspace", f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws := fmt.Sprintf(`workspace: nodes-test
sources:
  - name: website
    type: HTTP
    writeKey: %s
destinations:
  - name: sink
    type: WEBHOOK
    sources: [website]
    function: enrich
    messageTypes: [track, identify]
    config:
      webhookUrl: %s/hook
      webhookMethod: POST
functions:
  - name: enrich
    file: functions/enrich.js
    libraries: [piiHelpers]
libraries:
  - name: piiHelpers
    file: libraries/piiHelpers.js
`, writeKey, sinkURL)
	path := filepath.Join(dir, "workspace.yaml")
	if err := os.WriteFile(path, []byte(ws), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startTopology starts the cloud and deploys everything the nodes need.
func startTopology(t testing.TB, stackName string) *topology {
	t.Helper()
	s := startSink(t)
	sinkAddr := strings.TrimPrefix(s.URL, "http://")
	c, err := localcloud.Start(context.Background(), localcloud.Options{Addr: "127.0.0.1:0", StateDir: t.TempDir(), ImageMap: writeImageMap(t),
		Bridge: []string{sinkAddr},
		Delays: localcloud.Delays{RolePropagation: -1, Active: 100 * time.Millisecond, Update: 100 * time.Millisecond, RDS: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": c.Endpoint(), "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	cl, err := awsapi.NewSession(context.Background(), testRegion)
	if err != nil {
		t.Fatal(err)
	}
	top := &topology{cloud: c, cl: cl, sink: s, stack: stackName}
	start := time.Now()
	top.deployPrerequisites(t, writeWorkspace(t, s.URL))
	t.Logf("transformer, workspace, user functions deployed in %s", time.Since(start).Round(time.Millisecond))
	return top
}

func (top *topology) deployPrerequisites(t testing.TB, wsFile string) {
	t.Helper()
	ctx := context.Background()
	_, zip := exampleApp(t)
	zi, err := transformer.InspectZip(zip)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	tin := transformer.Input{Stack: top.stack, Region: testRegion, Zip: zip, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Memory: 512, Timeout: 30, LogRetention: 7}
	if _, err := transformer.Deploy(ctx, top.cl, tin, zi, false, &progress); err != nil {
		t.Fatalf("deploy the transformer: %v\n%s", err, progress.String())
	}
	win := workspace.Input{Stack: top.stack, Region: testRegion, Arch: testfn.HostArch(), LogRetention: 7, File: wsFile}
	code, err := workspace.Prepare(ctx, win, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := workspace.Deploy(ctx, top.cl, win, code, false, &progress); err != nil {
		t.Fatalf("deploy the workspace: %v\n%s", err, progress.String())
	}
	f := &config.File{}
	one, cpu, mem, delay, grace := int64(1), int64(256), int64(512), int64(2), int64(20)
	f.ECS = config.ECS{CPU: &cpu, Memory: &mem, DesiredCount: &one, MinCount: &one, DeregistrationDelay: &delay, HealthGracePeriod: &grace}
	es, err := f.ResolveECS()
	if err != nil {
		t.Fatal(err)
	}
	img, err := image.Build(ctx, image.BuildOptions{Binary: testfn.Build(t, "../cmd/rudderctl")})
	if err != nil {
		t.Fatal(err)
	}
	own, err := container.NewOwnImage(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := container.Deploy(ctx, top.cl, container.Input{Stack: top.stack, Region: testRegion, Settings: es, Image: own}, false, &progress); err != nil {
		t.Fatalf("deploy the user functions: %v\n%s", err, progress.String())
	}
}

// nodesInput is n small nodes (0.25 vCPU), plain Postgres connections (the local RDS has
// no TLS), a drain timeout of drain.
func nodesInput(t testing.TB, stackName string, n int, drain string) Input {
	t.Helper()
	f := &config.File{}
	cpu, mem, grace := int64(256), int64(512), int64(30)
	f.Nodes = config.Nodes{CPU: &cpu, Memory: &mem, DBSSLMode: "disable", DrainTimeout: drain, HealthGracePeriod: &grace}
	s, err := f.ResolveNodes()
	if err != nil {
		t.Fatal(err)
	}
	return Input{Stack: stackName, Region: testRegion, Count: n, Settings: s}
}

func (top *topology) deploy(t testing.TB, in Input) *Result {
	t.Helper()
	var progress bytes.Buffer
	r, err := Deploy(context.Background(), top.cl, in, false, &progress)
	if err != nil {
		t.Fatalf("deploy nodes --count %d: %v\n%s", in.Count, err, progress.String())
	}
	t.Logf("deploy nodes --count %d: %d changes\n%s", in.Count, r.Changes, tail(progress.String(), 40))
	return r
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// sender posts batches through the public ALB, recording the messageIds accepted (2xx).
type sender struct {
	url      string
	mu       sync.Mutex
	accepted []string
	refused  int
	client   *http.Client
}

// nextMessage numbers messages across senders: ids stay unique for the sink of a topology.
var nextMessage atomic.Int64

func newSender(url string) *sender {
	return &sender{url: url, client: &http.Client{Timeout: 20 * time.Second}}
}

// send posts count events in one /v1/batch; it returns whether the ALB accepted them.
func (s *sender) send(count int) bool {
	var batch []map[string]any
	var ids []string
	for range count {
		n := nextMessage.Add(1)
		id := fmt.Sprintf("msg-%06d", n)
		ids = append(ids, id)
		batch = append(batch, map[string]any{"type": "track", "event": "Signed Up", "messageId": id, "anonymousId": fmt.Sprintf("anon-%d", n),
			"userId": fmt.Sprintf("user-%d", n), "properties": map[string]any{"n": n}})
	}
	_, ok := s.post(batch)
	s.mu.Lock()
	if ok {
		s.accepted = append(s.accepted, ids...)
	} else {
		s.refused++
	}
	s.mu.Unlock()
	return ok
}

// post sends batch as one /v1/batch through the ALB: the request's size, and whether the
// ALB accepted it (2xx).
func (s *sender) post(batch []map[string]any) (int, bool) {
	body, _ := json.Marshal(map[string]any{"batch": batch})
	req, _ := http.NewRequest(http.MethodPost, s.url+"/v1/batch", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(writeKey, "")
	resp, err := s.client.Do(req)
	if err != nil {
		return len(body), false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return len(body), resp.StatusCode/100 == 2
}

// loop sends batches of 5 until stopped.
func (s *sender) loop() (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			default:
			}
			s.send(5)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return func() { close(done); <-stopped }
}

func (s *sender) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.accepted...)
}

// waitArrived waits until every accepted id reached the sink, then checks each arrived
// exactly once (ids in top.atLeastOnce: at least once).
func (top *topology) waitArrived(t testing.TB, ids []string, within time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, byNode := top.sink.counts()
		missing := 0
		for _, id := range ids {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			for _, id := range ids {
				if got[id] != 1 && !top.atLeastOnce[id] {
					t.Errorf("message %s arrived %d times, want exactly once", id, got[id])
				}
			}
			return byNode
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted events never reached the sink (by node so far: %v)", missing, len(ids), byNode)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
