package sidecar

// The world the sidecar tests route between, all real: the example transformer packaged as a
// Lambda zip and deployed into the local cloud (Lambda under the RIE behind an API Gateway
// stage with the secret path prefix) as the Lambda side, the same app run directly with Node
// as the ECS side, and `rudderctl sidecar` as a process in front of both. A counting proxy in
// front of each upstream tells independently of the sidecar's own stats where each request
// went.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
	"github.com/rudderctl/rudderctl/internal/lambdalocal"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/nodedist"
	"github.com/rudderctl/rudderctl/internal/srcroot"
	"github.com/rudderctl/rudderctl/internal/testenv"
	"github.com/rudderctl/rudderctl/internal/testfn"
	"github.com/rudderctl/rudderctl/packaging"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testfn.Cleanup()
	os.Exit(code)
}

// upstreams is the two transformers, each behind a counting proxy.
type upstreams struct {
	lambdaURL string // counting proxy + the API's secret prefix
	secret    string // the secret prefix's path, e.g. /k3x9f2
	ecsURL    string // counting proxy in front of the directly-run app
	lambda    *countingProxy
	ecs       *countingProxy
}

// countingProxy passes requests through to a base URL and counts them.
type countingProxy struct {
	srv      *httptest.Server
	requests atomic.Int64
}

func newCountingProxy(t testing.TB, target string) *countingProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	cp := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{DisableCompression: true}
	cp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cp.requests.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(cp.srv.Close)
	return cp
}

// startUpstreams deploys and starts both transformers. Missing prerequisites (Node 22, the
// example's dependencies) skip locally and fail with CI=true.
func startUpstreams(t *testing.T) *upstreams {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the local cloud, Lambda under the RIE and Node; not in -short")
	}
	root, err := srcroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(root, "examples", "transformer")
	if _, err := os.Stat(filepath.Join(app, "package.json")); err != nil {
		testenv.Missing(t, "sidecar tests need %s: %v", app, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	progress := &lineLog{t: t}
	dist, err := nodedist.Ensure(ctx, 22, testfn.HostArch(), progress)
	if err != nil {
		testenv.Missing(t, "sidecar tests need Node 22: %v", err)
	}
	zip := filepath.Join(t.TempDir(), "transformer.zip")
	if _, err := packaging.Build(ctx, packaging.Options{Src: app, Out: zip, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Progress: progress}); err != nil {
		t.Fatalf("packaging examples/transformer: %v", err)
	}

	// The Lambda side: a deploy into the local cloud, as `rudderctl deploy transformer` does.
	awstest.Cloud(t, localcloud.Delays{RolePropagation: -1})
	cl, err := awsapi.NewSession(ctx, awstest.Region)
	if err != nil {
		t.Fatal(err)
	}
	zi, err := transformer.InspectZip(zip)
	if err != nil {
		t.Fatal(err)
	}
	in := transformer.Input{Stack: "sidecar", Region: awstest.Region, Zip: zip, Runtime: "nodejs22.x", Arch: testfn.HostArch(),
		Memory: 1024, Timeout: 30, LogRetention: 7, Env: map[string]string{}}
	if _, err := transformer.Deploy(ctx, cl, in, zi, false, progress); err != nil {
		t.Fatalf("deploying the example transformer into the local cloud: %v", err)
	}
	ep, err := transformer.GetEndpoint(ctx, cl, "sidecar", true)
	if err != nil {
		t.Fatal(err)
	}
	api, err := url.Parse(ep.DestTransformURL)
	if err != nil || len(api.Path) < 2 {
		t.Fatalf("endpoint without a secret prefix: %v", err)
	}
	up := &upstreams{secret: api.Path}
	up.lambda = newCountingProxy(t, api.Scheme+"://"+api.Host)
	up.lambdaURL = up.lambda.srv.URL + api.Path

	// The ECS side: the same unpacked app run directly, as the ECS task runs it.
	up.ecs = newCountingProxy(t, startDirect(t, zip, dist.Node))
	up.ecsURL = up.ecs.srv.URL
	return up
}

// startDirect runs the zip's app with Node on a free port and waits for its health path.
func startDirect(t *testing.T, zip, node string) string {
	t.Helper()
	taskRoot := filepath.Join(t.TempDir(), "task")
	if err := lambdalocal.Unzip(zip, taskRoot); err != nil {
		t.Fatal(err)
	}
	m, err := lambdalocal.ReadManifest(taskRoot)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cmd := exec.Command(node, m.Entry)
	cmd.Dir = taskRoot
	cmd.Env = []string{"PATH=" + filepath.Dir(node) + ":/usr/bin:/bin", "HOME=" + t.TempDir(), "PORT=" + strconv.Itoa(port)}
	for k, v := range m.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	waitHealthy(t, base+m.HealthPath)
	return base
}

// sidecarProcess is `rudderctl sidecar` running, with its stderr kept.
type sidecarProcess struct {
	url string
	cmd *exec.Cmd
	log *syncBuffer
}

func startSidecar(t *testing.T, args ...string) *sidecarProcess {
	t.Helper()
	bin := testfn.Build(t, "../../cmd/rudderctl")
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	p := &sidecarProcess{url: "http://" + addr, log: &syncBuffer{}}
	p.cmd = exec.Command(bin, append([]string{"sidecar", "--listen", addr}, args...)...)
	p.cmd.Env = []string{"PATH=/usr/bin:/bin"}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	})
	waitHealthy(t, p.url+HealthPath)
	// The container health check asks the same.
	if out, err := exec.Command(bin, "sidecar", "--check", "--listen", addr).CombinedOutput(); err != nil {
		t.Fatalf("sidecar --check: %v %s", err, out)
	}
	return p
}

// stop sends SIGTERM and waits: the sidecar logs its stats once more on the way out.
func (p *sidecarProcess) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("sidecar exit: %v\n%s", err, p.log.String())
	}
}

func waitHealthy(t *testing.T, u string) {
	t.Helper()
	var last error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
	}
	t.Fatalf("%s did not answer 200 within 60 s: %v", u, last)
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lineLog sends progress to the test log.
type lineLog struct{ t *testing.T }

func (l *lineLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
