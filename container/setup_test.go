package container

// Support of the acceptance tests: a local cloud that runs ECS tasks (the example
// transformer mapped as the rudder-transformer image), a stack with the Lambda transformer
// and the workspace the user functions read, requests through the ALB.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/config"
	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
	"github.com/rudderctl/rudderctl/internal/deploy/workspace"
	"github.com/rudderctl/rudderctl/internal/lambdalocal"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/localcloud/ecs"
	"github.com/rudderctl/rudderctl/internal/testfn"
	ws "github.com/rudderctl/rudderctl/internal/workspace"
	"github.com/rudderctl/rudderctl/lambda/manifest"
	"github.com/rudderctl/rudderctl/packaging"
)

const testRegion = "us-east-1"

// The image tags the tests deploy: two mapped to the example transformer, one mapped to
// nothing (its tasks stop with CannotPullContainerError).
const (
	goodTag  = "ut-1.145.0"
	nextTag  = "ut-1.146.0"
	unmapped = "ut-0.0.0-unmapped"
)

func TestMain(m *testing.M) {
	// Short health timing: a deploy reaches its steady state in seconds.
	TargetHealth.HealthInterval, TargetHealth.HealthTimeout = 1, 1
	ContainerHealth.HealthInterval, ContainerHealth.HealthTimeout, ContainerHealth.HealthRetries, ContainerHealth.HealthStartPeriod = 5, 5, 5, 30
	PollEvery = 200 * time.Millisecond
	ecs.Tick = 100 * time.Millisecond
	code := m.Run()
	testfn.Cleanup()
	os.Exit(code)
}

var (
	appOnce sync.Once
	appDir  string
	appErr  error
)

// exampleApp is examples/transformer as the image holds it: packaged like a deploy would
// (production node_modules, isolated-vm for Node 22) and unpacked, once per test binary.
func exampleApp(t testing.TB) string {
	t.Helper()
	appOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rudderctl-ecs-app-")
		if err != nil {
			appErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		zip := filepath.Join(dir, "transformer.zip")
		if _, err := packaging.Build(ctx, packaging.Options{Src: "../examples/transformer", Out: zip, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Progress: io.Discard}); err != nil {
			appErr = fmt.Errorf("packaging the example transformer: %v", err)
			return
		}
		appDir = filepath.Join(dir, "app")
		appErr = lambdalocal.Unzip(zip, appDir)
	})
	if appErr != nil {
		t.Fatal(appErr)
	}
	return appDir
}

// imageMap maps the two good tags to the example app.
func imageMap(t testing.TB) string {
	t.Helper()
	app := exampleApp(t)
	var b strings.Builder
	b.WriteString("images:\n")
	for _, tag := range []string{goodTag, nextTag} {
		fmt.Fprintf(&b, "  - image: %s:%s\n    dir: %s\n    command: [node, src/index.js]\n    node: 22\n    portEnv: PORT\n", config.DefaultECSImage, tag, app)
	}
	path := filepath.Join(t.TempDir(), "images.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startCloud starts a local cloud that runs tasks, and points the AWS environment at it.
func startCloud(t testing.TB) *localcloud.Cloud {
	t.Helper()
	c, err := localcloud.Start(context.Background(), localcloud.Options{Addr: "127.0.0.1:0", StateDir: t.TempDir(), ImageMap: imageMap(t),
		Delays: localcloud.Delays{RolePropagation: -1, Active: 100 * time.Millisecond, Update: 100 * time.Millisecond}})
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
	return c
}

func session(t testing.TB, opts ...awsapi.RetryOption) *awsapi.Session {
	t.Helper()
	s, err := awsapi.NewSession(context.Background(), testRegion, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// workspaceStack deploys what the user functions need first: the Lambda transformer (a
// stand-in: its API, secret and bucket) and the example workspace. It returns the
// compiled workspace (the function's and library's version ids).
func workspaceStack(t testing.TB, cl *awsapi.Session, stack string) *ws.Compiled {
	t.Helper()
	ctx := context.Background()
	m := manifest.Manifest{Schema: 1, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Entry: "index.js", HealthPath: "/health", Env: map[string]string{}}
	zipPath := testfn.WriteZip(t, "transformer.zip", testfn.Files(t, testfn.Build(t, "../internal/deploy/transformer/testdata/fakefn"), &m))
	zi, err := transformer.InspectZip(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	tin := transformer.Input{Stack: stack, Region: testRegion, Zip: zipPath, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Memory: 256, Timeout: 10, LogRetention: 7}
	if _, err := transformer.Deploy(ctx, cl, tin, zi, false, &progress); err != nil {
		t.Fatalf("deploy the transformer: %v\n%s", err, progress.String())
	}
	file := filepath.Join("..", "examples", "workspace", ws.DefaultFile)
	win := workspace.Input{Stack: stack, Region: testRegion, Arch: testfn.HostArch(), LogRetention: 7, File: file}
	code, err := workspace.Prepare(ctx, win, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := workspace.Deploy(ctx, cl, win, code, false, &progress); err != nil {
		t.Fatalf("deploy the workspace: %v\n%s", err, progress.String())
	}
	f, err := ws.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := ws.Compile(ctx, f, ws.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return compiled
}

// testInput is a small service: 2 tasks of 0.25 vCPU / 512 MB, a short deregistration delay.
func testInput(t testing.TB, stack, tag string) Input {
	t.Helper()
	f := &config.File{}
	two, cpu, mem, delay, grace := int64(2), int64(256), int64(512), int64(2), int64(20)
	f.ECS = config.ECS{Tag: tag, CPU: &cpu, Memory: &mem, DesiredCount: &two, MinCount: &two, DeregistrationDelay: &delay, HealthGracePeriod: &grace}
	s, err := f.ResolveECS()
	if err != nil {
		t.Fatal(err)
	}
	return Input{Stack: stack, Region: testRegion, Settings: s}
}

// deployOK deploys and fails the test on an error (with the progress it printed).
func deployOK(t *testing.T, cl *awsapi.Session, in Input) *Result {
	t.Helper()
	var progress bytes.Buffer
	r, err := Deploy(context.Background(), cl, in, false, &progress)
	if err != nil {
		t.Fatalf("deploy --ecs: %v\n%s", err, progress.String())
	}
	return r
}

// userFunction is a /customTransform call of the example function (it masks the email).
type userFunction struct {
	url      string
	fn, lib  string
	client   *http.Client
	sequence atomic.Int64
}

func newUserFunction(url string, c *ws.Compiled) *userFunction {
	return &userFunction{url: url, fn: c.Functions[0].VersionID, lib: c.Libraries[0].VersionID,
		client: &http.Client{Timeout: 30 * time.Second}}
}

// call runs the function once; servedBy is the X-Served-By of the answer.
func (u *userFunction) call() (servedBy string, err error) {
	n := u.sequence.Add(1)
	email := fmt.Sprintf("user%d@example.com", n)
	ev := []map[string]any{{
		"message":     map[string]any{"type": "track", "event": "signup", "context": map[string]any{"traits": map[string]any{"email": email}}},
		"metadata":    map[string]any{"jobId": n, "sourceId": "src-1", "destinationId": "dst-1", "messageId": fmt.Sprint("m", n)},
		"destination": map[string]any{"Transformations": []map[string]any{{"VersionID": u.fn}}},
		"libraries":   []map[string]any{{"VersionID": u.lib}},
	}}
	body, _ := json.Marshal(ev)
	resp, err := u.client.Post(u.url+"/customTransform", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out []map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || len(out) != 1 {
		return "", fmt.Errorf("customTransform answered %d: %s", resp.StatusCode, b)
	}
	masked := fmt.Sprintf(`"email":"u***@example.com"`)
	if got, _ := json.Marshal(out[0]); out[0]["statusCode"] != float64(200) || !strings.Contains(string(got), masked) {
		return "", fmt.Errorf("the user function did not run as written: %s", got)
	}
	return resp.Header.Get("X-Served-By"), nil
}

// loop calls the function without pause until stopped, counting answers and failures.
type loop struct {
	stop     chan struct{}
	done     chan struct{}
	ok, fail atomic.Int64
	mu       sync.Mutex
	errs     []string
	servedBy map[string]int
}

func startLoop(u *userFunction) *loop {
	l := &loop{stop: make(chan struct{}), done: make(chan struct{}), servedBy: map[string]int{}}
	go func() {
		defer close(l.done)
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			by, err := u.call()
			l.mu.Lock()
			if err != nil {
				l.fail.Add(1)
				if len(l.errs) < 10 {
					l.errs = append(l.errs, err.Error())
				}
			} else {
				l.ok.Add(1)
				l.servedBy[by]++
			}
			l.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return l
}

func (l *loop) finish() (ok, fail int64, errs []string, servedBy map[string]int) {
	close(l.stop)
	<-l.done
	return l.ok.Load(), l.fail.Load(), l.errs, l.servedBy
}

// taskPid finds the main process of a task's container: the process whose environment
// holds the task's metadata URI (the local cloud sets ECS_CONTAINER_METADATA_URI_V4).
func taskPid(t *testing.T, taskID string) int {
	t.Helper()
	want := []byte("/_localcloud/ecs/metadata/" + taskID + "/" + ContainerName)
	entries, _ := os.ReadDir("/proc")
	best := 0
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, want) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if bytes.Contains(cmd, []byte("src/index.js")) && (best == 0 || pid < best) {
			best = pid
		}
	}
	if best == 0 {
		t.Fatalf("no process of task %s found", taskID)
	}
	return best
}

func kill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// runningTasks are the RUNNING tasks of the service.
func runningTasks(t *testing.T, cl *awsapi.Session, n Names) []string {
	t.Helper()
	arns, err := cl.ECS().TaskARNs(context.Background(), n.Cluster, n.Service, "RUNNING")
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := cl.ECS().DescribeTasks(context.Background(), n.Cluster, arns)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, task := range tasks {
		if task.LastStatus == "RUNNING" {
			ids = append(ids, task.ID())
		}
	}
	return ids
}

var _ = exec.Command
