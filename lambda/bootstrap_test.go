package lambda

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// fakeRuntimeAPI is a minimal Lambda Runtime API: it hands out queued events and records what
// the runtime posts back, in order.
type fakeRuntimeAPI struct {
	srv    *http.Server
	addr   string
	events chan []byte
	mu     sync.Mutex
	posts  []post
	posted chan post
}

type post struct {
	Kind      string // "response", "error", "init-error"
	RequestID string
	Body      []byte
	ErrorType string
}

func newFakeRuntimeAPI(t testing.TB) *fakeRuntimeAPI {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRuntimeAPI{addr: l.Addr().String(), events: make(chan []byte, 10), posted: make(chan post, 10)}
	var n int
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case ev := <-f.events:
			f.mu.Lock()
			n++
			id := "req-" + strconv.Itoa(n)
			f.mu.Unlock()
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(3*time.Second).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:000000000000:function:f")
			w.Write(ev)
		case <-r.Context().Done():
		}
	})
	record := func(kind string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			p := post{Kind: kind, RequestID: r.PathValue("id"), Body: b, ErrorType: r.Header.Get("Lambda-Runtime-Function-Error-Type")}
			f.mu.Lock()
			f.posts = append(f.posts, p)
			f.mu.Unlock()
			f.posted <- p
			w.WriteHeader(http.StatusAccepted)
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", record("response"))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", record("error"))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", record("init-error"))
	f.srv = &http.Server{Handler: mux}
	go f.srv.Serve(l)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

func (f *fakeRuntimeAPI) next(t *testing.T) post {
	t.Helper()
	select {
	case p := <-f.posted:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("the bootstrap posted nothing within 10s")
	}
	return post{}
}

// startBootstrap runs the test binary as the bootstrap, with the test binary as the app.
func startBootstrap(t *testing.T, api *fakeRuntimeAPI, env ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	body := `{"schema":1,"runtime":"nodejs22.x","arch":"x86_64","entry":"dist/src/index.js","health_path":"/health",
		"env":{"CLUSTER_ENABLED":"false","NODE_OPTIONS":"--no-node-snapshot"}}`
	if err := os.WriteFile(filepath.Join(dir, manifest.FileName), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(),
		"RUDDERCTL_TEST_ROLE=bootstrap", // the app inherits it, overridden below by TESTAPP_ROLE
		"AWS_LAMBDA_RUNTIME_API="+api.addr,
		"RUDDERCTL_MANIFEST="+filepath.Join(dir, manifest.FileName),
		"RUDDERCTL_NODE="+exe,
	)
	cmd.Env = append(cmd.Env, env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, out
}

// The bootstrap and the app are the same test binary; the role the app sees is set by Main's
// environment, so the test app is selected through a manifest-independent switch.
func init() {
	if os.Getenv("RUDDERCTL_TEST_ROLE") == "bootstrap" && os.Getenv("PORT") != "" {
		os.Setenv("RUDDERCTL_TEST_ROLE", "app") // the child: PORT is only set for the app
	}
}

func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the bootstrap did not exit within 10s")
	}
	return cmd.ProcessState.ExitCode()
}

func TestBootstrapServes(t *testing.T) {
	api := newFakeRuntimeAPI(t)
	_, out := startBootstrap(t, api, "RUDDERCTL_PATH_PREFIX=/sec")
	ev := event("POST", "/sec//echo", "a=%20b", map[string]string{"content-type": "application/json"}, nil, `{"x":1}`, false)
	api.events <- payload(t, ev)
	p := api.next(t)
	if p.Kind != "response" {
		t.Fatalf("posted %s: %s\n%s", p.Kind, p.Body, out)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(p.Body, &resp); err != nil {
		t.Fatal(err)
	}
	var e echoed
	json.Unmarshal([]byte(resp.Body), &e)
	if resp.StatusCode != 200 || e.URI != "//echo?a=%20b" || resp.Headers["apiversion"] != "2" {
		t.Errorf("response %+v; app saw %+v", resp, e)
	}
	if !strings.Contains(out.String(), "rudderctl-adapter: app ready in") || !strings.Contains(out.String(), "testapp: listening") {
		t.Errorf("log:\n%s", out)
	}
}

func TestBootstrapAppCrash(t *testing.T) {
	api := newFakeRuntimeAPI(t)
	cmd, out := startBootstrap(t, api)
	api.events <- payload(t, event("POST", "/crash", "code=9", nil, nil, "", false))
	p := api.next(t)
	if p.Kind != "error" || !strings.Contains(string(p.Body), "exited with status 9") ||
		!strings.Contains(string(p.Body), "testapp: crashing with 9") {
		t.Errorf("posted %s: %s", p.Kind, p.Body)
	}
	if code := waitExit(t, cmd); code != 9 {
		t.Errorf("bootstrap exit status %d, want the app's 9\n%s", code, out)
	}
}

// The app dies between invocations: the bootstrap exits with its status without waiting for
// the next event (on Lambda the next invoke then re-inits).
func TestBootstrapAppExitsWhileIdle(t *testing.T) {
	api := newFakeRuntimeAPI(t)
	cmd, out := startBootstrap(t, api)
	api.events <- payload(t, event("GET", "/exit-later", "code=12", nil, nil, "", false))
	if p := api.next(t); p.Kind != "response" || !strings.Contains(string(p.Body), "bye soon") {
		t.Fatalf("posted %s: %s", p.Kind, p.Body)
	}
	if code := waitExit(t, cmd); code != 12 {
		t.Errorf("exit status %d, want 12\n%s", code, out)
	}
	if !strings.Contains(out.String(), "the app exited with status 12") {
		t.Errorf("log:\n%s", out)
	}
}

func TestBootstrapInitFailure(t *testing.T) {
	api := newFakeRuntimeAPI(t)
	cmd, out := startBootstrap(t, api, "TESTAPP_MODE=crash-at-start")
	p := api.next(t)
	if p.Kind != "init-error" || !strings.Contains(string(p.Body), "left-pad") || !strings.Contains(p.ErrorType, "Runtime.") {
		t.Errorf("posted %s %s: %s", p.Kind, p.ErrorType, p.Body)
	}
	if code := waitExit(t, cmd); code == 0 {
		t.Errorf("exit status 0 after a failed init\n%s", out)
	}
	if !strings.Contains(out.String(), "init failed") {
		t.Errorf("log:\n%s", out)
	}
}

func TestBootstrapSIGTERM(t *testing.T) {
	api := newFakeRuntimeAPI(t)
	cmd, out := startBootstrap(t, api)
	// Serve one request so init is certainly over.
	api.events <- payload(t, event("GET", "/health", "", nil, nil, "", false))
	if p := api.next(t); p.Kind != "response" {
		t.Fatalf("posted %s: %s", p.Kind, p.Body)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, cmd); code != 7 {
		t.Errorf("exit status %d, want the app's 7\n%s", code, out)
	}
	if !strings.Contains(out.String(), "testapp: got SIGTERM") {
		t.Errorf("the app did not get SIGTERM:\n%s", out)
	}
}

func TestBootstrapNoRuntimeAPI(t *testing.T) {
	exe, _ := os.Executable()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "RUDDERCTL_TEST_ROLE=bootstrap", "AWS_LAMBDA_RUNTIME_API=")
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "AWS_LAMBDA_RUNTIME_API is not set") {
		t.Errorf("err %v: %s", err, b)
	}
}
