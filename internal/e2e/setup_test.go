// Package e2e holds the project's acceptance tests: the example transformer packaged as a
// Lambda zip, run under the Runtime Interface Emulator behind a local API Gateway, compared
// with the same app run directly with Node.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/apigwlocal"
	"github.com/rudderctl/rudderctl/internal/lambdalocal"
	"github.com/rudderctl/rudderctl/internal/nodedist"
	"github.com/rudderctl/rudderctl/internal/srcroot"
	"github.com/rudderctl/rudderctl/internal/testenv"
	"github.com/rudderctl/rudderctl/internal/testfn"
	"github.com/rudderctl/rudderctl/lambda/manifest"
	"github.com/rudderctl/rudderctl/packaging"
)

// secret is the path prefix the Lambda side serves under, as a deploy's endpoint secret.
const secret = "/e2e-s3cr3t"

// functionTimeout is short so the deadline case is quick.
const functionTimeout = 3 * time.Second

// env is what also the deployed function would get for these tests.
var testEnv = map[string]string{"RUDDERCTL_EXAMPLE_TEST_ROUTES": "true"}

// world is shared by every test of the package: one zip, one Node, one Lambda-path instance
// behind a gateway, one direct app.
type world struct {
	root     string // module root
	zip      string
	taskRoot string
	manifest manifest.Manifest
	node     string

	inst     *lambdalocal.Instance
	gateway  *httptest.Server // $default route: every request reaches the function
	deployGW *httptest.Server // the routes a deploy creates: ANY /<secret>/{proxy+}, ANY /<secret>
	direct   string           // base URL of the app run directly
	directP  *exec.Cmd

	logMu sync.Mutex
	log   bytes.Buffer // function log (RIE + adapter + app)
}

var (
	setupOnce sync.Once
	shared    *world
	setupErr  error
	skipMsg   string
	tmpDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.close()
	}
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

// setup builds (once) everything the tests share. Missing prerequisites skip the tests locally
// and fail them with CI=true.
func setup(t *testing.T) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: starts Node, the RIE and the adapter; not in -short")
	}
	setupOnce.Do(func() { shared, setupErr = build(t) })
	if skipMsg != "" {
		testenv.Missing(t, "e2e: %s", skipMsg)
	}
	if setupErr != nil {
		t.Fatalf("e2e setup: %v", setupErr)
	}
	return shared
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func build(t *testing.T) (*world, error) {
	w := &world{}
	var err error
	if w.root, err = srcroot.Find(); err != nil {
		return nil, err
	}
	app := filepath.Join(w.root, "examples", "transformer")
	for _, need := range []string{filepath.Join(app, "package.json"), filepath.Join(w.root, "lambda", "bootstrap")} {
		if _, err := os.Stat(need); err != nil {
			skipMsg = fmt.Sprintf("e2e needs %s (not there yet): %v", need, err)
			return nil, nil
		}
	}
	if tmpDir, err = os.MkdirTemp("", "rudderctl-e2e-"); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	progress := testWriter{t}

	// Node 22 for the direct run and for the function (as Lambda's nodejs22.x).
	dist, err := nodedist.Ensure(ctx, 22, testfn.HostArch(), progress)
	if err != nil {
		return nil, fmt.Errorf("node 22: %w", err)
	}
	w.node = dist.Node

	w.zip = filepath.Join(tmpDir, "transformer.zip")
	t0 := time.Now()
	rep, err := packaging.Build(ctx, packaging.Options{
		Src: app, Out: w.zip, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Progress: progress,
	})
	if err != nil {
		return nil, fmt.Errorf("packaging the example transformer: %w", err)
	}
	t.Logf("packaged %s (%d bytes, %d files) in %v", rep.Zip, rep.ZippedBytes, rep.Files, time.Since(t0).Round(time.Millisecond))

	w.taskRoot = filepath.Join(tmpDir, "task")
	if err := lambdalocal.Unzip(w.zip, w.taskRoot); err != nil {
		return nil, err
	}
	if w.manifest, err = lambdalocal.ReadManifest(w.taskRoot); err != nil {
		return nil, err
	}

	// The Lambda path: RIE + the zip's wrapper and adapter, behind a gateway on a real listener.
	env := map[string]string{
		"RUDDERCTL_PATH_PREFIX":   secret,
		"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/rudderctl-wrapper",
	}
	for k, v := range testEnv {
		env[k] = v
	}
	w.inst, err = lambdalocal.Start(ctx, lambdalocal.Function{
		Name: "rudderctl-e2e-transformer", Version: "1", TaskRoot: w.taskRoot,
		Runtime: w.manifest.Runtime, Arch: w.manifest.Arch, Handler: "rudderctl.handler",
		Env: env, Timeout: functionTimeout, MemoryMB: 1024,
	}, lambdalocal.Options{Node: w.node, Log: func(l string) {
		w.logMu.Lock()
		w.log.WriteString(l + "\n")
		w.logMu.Unlock()
	}})
	if err != nil {
		return nil, fmt.Errorf("starting the function: %w", err)
	}
	invoke := func(ctx context.Context, ev []byte) ([]byte, string, error) {
		res, err := w.inst.Invoke(ctx, ev)
		return res.Payload, res.FunctionError, err
	}
	w.gateway = httptest.NewServer(&apigwlocal.Gateway{Invoke: invoke, APIID: "e2e"})
	w.deployGW = httptest.NewServer(&apigwlocal.Gateway{
		Invoke: invoke, APIID: "e2edeploy",
		Routes: []string{"ANY " + secret + "/{proxy+}", "ANY " + secret},
	})

	// The direct path: the same unpacked app, same Node, same manifest environment.
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(w.node, w.manifest.Entry)
	cmd.Dir = w.taskRoot
	cmd.Env = []string{"PATH=" + filepath.Dir(w.node) + ":/usr/bin:/bin", "HOME=" + tmpDir, "PORT=" + strconv.Itoa(port)}
	for k, v := range w.manifest.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range testEnv {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the app directly: %w", err)
	}
	w.directP = cmd
	w.direct = "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(w.direct + w.manifest.HealthPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the app run directly did not answer %s within 30 s: %v", w.manifest.HealthPath, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return w, nil
}

func (w *world) close() {
	if w.gateway != nil {
		w.gateway.Close()
	}
	if w.deployGW != nil {
		w.deployGW.Close()
	}
	if w.inst != nil {
		w.inst.Close()
	}
	if w.directP != nil {
		_ = syscall.Kill(-w.directP.Process.Pid, syscall.SIGKILL)
		_ = w.directP.Wait()
	}
}

func (w *world) functionLog() string {
	w.logMu.Lock()
	defer w.logMu.Unlock()
	return w.log.String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
