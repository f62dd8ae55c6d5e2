package lambdalocal

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/testfn"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testfn.Cleanup()
	os.Exit(code)
}

// taskRoot lays out a task root like a rudderctl zip: testdata/fn as rudderctl-bootstrap
// behind the contract's exec wrapper.
func taskRoot(t *testing.T) string {
	t.Helper()
	return testfn.TaskRoot(t, testfn.Files(t, testfn.Build(t, "./testdata/fn"), nil))
}

type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) add(s string) { l.mu.Lock(); l.lines = append(l.lines, s); l.mu.Unlock() }
func (l *logSink) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func start(t *testing.T, f Function) (*Instance, *logSink) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real processes")
	}
	sink := &logSink{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	inst, err := Start(ctx, f, Options{Node: "/opt/fake/bin/node", Log: sink.add})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { inst.Close() })
	return inst, sink
}

func invoke(t *testing.T, inst *Instance, payload string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := inst.Invoke(ctx, []byte(payload))
	if err != nil {
		t.Fatalf("Invoke(%s): %v", payload, err)
	}
	return res
}

func TestEchoEnvAndLogs(t *testing.T) {
	root := taskRoot(t)
	inst, sink := start(t, Function{
		Name: "fn-test", Version: "7", TaskRoot: root, Runtime: "nodejs22.x", Arch: "x86_64",
		Handler: "rudderctl.handler", Env: map[string]string{"FOO": "bar"}, Timeout: 5 * time.Second, MemoryMB: 512,
	})
	res := invoke(t, inst, `{"hello":"world","print":"hello from fn"}`)
	if res.FunctionError != "" || string(res.Payload) != `{"hello":"world","print":"hello from fn"}` {
		t.Fatalf("echo: %+v %s", res, res.Payload)
	}
	res = invoke(t, inst, `{"action":"env"}`)
	var env map[string]string
	if err := json.Unmarshal(res.Payload, &env); err != nil {
		t.Fatalf("env payload %s: %v", res.Payload, err)
	}
	want := map[string]string{
		"FOO":                             "bar",
		"AWS_LAMBDA_FUNCTION_NAME":        "fn-test",
		"AWS_LAMBDA_FUNCTION_VERSION":     "7",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     "5",
		"LAMBDA_TASK_ROOT":                root,
		"AWS_LAMBDA_EXEC_WRAPPER":         filepath.Join(root, "rudderctl-wrapper"),
		"RUDDERCTL_NODE":                  "/opt/fake/bin/node",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_nodejs22.x",
		"_HANDLER":                        "rudderctl.handler",
		"TZ":                              ":UTC",
		"_CWD":                            root,
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"AWS_LAMBDA_RUNTIME_API", "AWS_ACCESS_KEY_ID", "AWS_REGION"} {
		if env[k] == "" {
			t.Errorf("env %s missing", k)
		}
	}
	if !strings.HasPrefix(env["PATH"], "/opt/fake/bin:") {
		t.Errorf("PATH = %q, want the node directory first", env["PATH"])
	}
	if !strings.Contains(env["_ARGS"], "rudderctl-bootstrap") {
		t.Errorf("bootstrap argv = %q, want it run through the wrapper", env["_ARGS"])
	}
	if !strings.HasSuffix(env["_ARN"], ":function:fn-test") {
		t.Errorf("function ARN = %q", env["_ARN"])
	}
	// The RIE's START/END/REPORT lines and the function's output reach the log.
	time.Sleep(100 * time.Millisecond)
	for _, s := range []string{"START RequestId:", "END RequestId:", "REPORT RequestId:", "hello from fn"} {
		if !sink.has(s) {
			t.Errorf("log has no line with %q", s)
		}
	}
}

func TestHandlerError(t *testing.T) {
	inst, _ := start(t, Function{TaskRoot: taskRoot(t), Runtime: "nodejs22.x"})
	res := invoke(t, inst, `{"action":"error"}`)
	if res.FunctionError != "Unhandled" || !strings.Contains(string(res.Payload), "failed on request") {
		t.Fatalf("handler error: %+v %s", res, res.Payload)
	}
	// A handler error does not reset the environment.
	a := invoke(t, inst, `{"action":"started"}`)
	res = invoke(t, inst, `{"action":"error"}`)
	b := invoke(t, inst, `{"action":"started"}`)
	if string(a.Payload) != string(b.Payload) {
		t.Errorf("environment was re-initialised after a handler error")
	}
}

func TestCrashReinits(t *testing.T) {
	inst, _ := start(t, Function{TaskRoot: taskRoot(t), Runtime: "nodejs22.x"})
	first := invoke(t, inst, `{"action":"started"}`)
	// A detached process of the runtime must not outlive the crash.
	spawned := invoke(t, inst, `{"action":"spawn"}`)
	res := invoke(t, inst, `{"action":"crash"}`)
	if res.FunctionError != "Unhandled" || !strings.Contains(string(res.Payload), "Runtime.ExitError") {
		t.Fatalf("crash: %+v %s", res, res.Payload)
	}
	res = invoke(t, inst, `{"ok":1}`)
	if res.FunctionError != "" || string(res.Payload) != `{"ok":1}` {
		t.Fatalf("after crash: %+v %s", res, res.Payload)
	}
	second := invoke(t, inst, `{"action":"started"}`)
	if string(first.Payload) == string(second.Payload) {
		t.Errorf("the environment was not re-initialised after the crash")
	}
	pid, _ := strconv.Atoi(string(spawned.Payload))
	waitGone(t, pid)
}

func TestTimeoutHonoured(t *testing.T) {
	inst, _ := start(t, Function{TaskRoot: taskRoot(t), Runtime: "nodejs22.x", Timeout: time.Second})
	invoke(t, inst, `{"warm":1}`)
	t0 := time.Now()
	res := invoke(t, inst, `{"action":"sleep","ms":4000}`)
	took := time.Since(t0)
	if res.FunctionError != "Unhandled" || !strings.Contains(string(res.Payload), "Task timed out after 1.00 seconds") ||
		!strings.Contains(string(res.Payload), "Sandbox.Timedout") {
		t.Fatalf("timeout: %+v %s", res, res.Payload)
	}
	if took < 900*time.Millisecond || took > 3500*time.Millisecond {
		t.Errorf("timeout took %v, want about 1 s", took)
	}
	res = invoke(t, inst, `{"ok":2}`)
	if res.FunctionError != "" || string(res.Payload) != `{"ok":2}` {
		t.Fatalf("after timeout: %+v %s", res, res.Payload)
	}
}

func TestPayloadLimits(t *testing.T) {
	inst, _ := start(t, Function{TaskRoot: taskRoot(t), Runtime: "nodejs22.x", Timeout: 10 * time.Second, MemoryMB: 1024})
	big := `{"pad":"` + strings.Repeat("a", MaxPayload) + `"}`
	if _, err := inst.Invoke(context.Background(), []byte(big)); err != ErrRequestTooLarge {
		t.Fatalf("oversize request: err = %v, want ErrRequestTooLarge", err)
	}
	res := invoke(t, inst, `{"action":"big","bytes":7000000}`)
	if res.FunctionError != "Unhandled" || !strings.Contains(string(res.Payload), "Function.ResponseSizeTooLarge") {
		t.Fatalf("oversize response: %+v %.300s", res, res.Payload)
	}
	res = invoke(t, inst, `{"action":"big","bytes":6000000}`)
	if res.FunctionError != "" || len(res.Payload) != 6000002 {
		t.Fatalf("6 MB response: %+v len %d", res.FunctionError, len(res.Payload))
	}
}

func TestCloseKillsEverything(t *testing.T) {
	inst, _ := start(t, Function{TaskRoot: taskRoot(t), Runtime: "nodejs22.x"})
	runtimePid, _ := strconv.Atoi(string(invoke(t, inst, `{"action":"pid"}`).Payload))
	spawned, _ := strconv.Atoi(string(invoke(t, inst, `{"action":"spawn"}`).Payload))
	riePid := inst.proc.cmd.Process.Pid
	if err := inst.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{riePid, runtimePid, spawned} {
		waitGone(t, pid)
	}
	if _, err := inst.Invoke(context.Background(), []byte(`{}`)); err == nil {
		t.Errorf("Invoke after Close succeeded")
	}
}

func TestCancelledInvokeDiscardsEnvironment(t *testing.T) {
	inst, _ := start(t, Function{TaskRoot: taskRoot(t), Runtime: "nodejs22.x", Timeout: 30 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := inst.Invoke(ctx, []byte(`{"action":"sleep","ms":20000}`)); err == nil {
		t.Fatal("cancelled invoke returned no error")
	}
	res := invoke(t, inst, `{"ok":3}`)
	if string(res.Payload) != `{"ok":3}` {
		t.Fatalf("after cancel: %+v %s", res, res.Payload)
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(context.Background(), Function{TaskRoot: t.TempDir()}, Options{RIE: "/bin/true"}); err == nil ||
		!strings.Contains(err.Error(), "rudderctl-wrapper") {
		t.Errorf("missing wrapper: err = %v", err)
	}
	if _, err := Start(context.Background(), Function{TaskRoot: t.TempDir(), Env: map[string]string{"AWS_REGION": "x"}}, Options{RIE: "/bin/true"}); err == nil ||
		!strings.Contains(err.Error(), "reserves") {
		t.Errorf("reserved variable: err = %v", err)
	}
}

// waitGone waits until pid no longer runs (gone or a zombie nobody reaps).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		s := string(b)
		if j := strings.LastIndexByte(s, ')'); j > 0 && strings.HasPrefix(s[j+1:], " Z") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("process %d still runs", pid)
}

func TestInitFailure(t *testing.T) {
	inst, sink := start(t, Function{TaskRoot: taskRoot(t), Runtime: "nodejs22.x", Env: map[string]string{"FN_EXIT_AT_INIT": "1"}})
	for n := 0; n < 2; n++ {
		t0 := time.Now()
		res := invoke(t, inst, `{}`)
		if res.FunctionError != "Unhandled" || !strings.Contains(string(res.Payload), "Runtime.ExitError") ||
			!strings.Contains(string(res.Payload), "exit status 2") {
			t.Errorf("invoke %d after a failed init: %+v %s", n, res, res.Payload)
		}
		if time.Since(t0) > 2*time.Second {
			t.Errorf("invoke %d took %v", n, time.Since(t0))
		}
	}
	if !sink.has("failing init on request") {
		t.Errorf("the function's init output is not in the log")
	}
}

func TestGoneEmulatorIsReplaced(t *testing.T) {
	inst, _ := start(t, Function{TaskRoot: taskRoot(t), Runtime: "nodejs22.x"})
	invoke(t, inst, `{}`)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	// As if the emulator had died after answering its port check: nothing listens there.
	inst.state.Lock()
	old := inst.proc
	inst.proc.url = "http://127.0.0.1:" + strconv.Itoa(port) + "/2015-03-31/functions/function/invocations"
	inst.state.Unlock()
	res := invoke(t, inst, `{"after":"restart"}`)
	if string(res.Payload) != `{"after":"restart"}` {
		t.Fatalf("after a gone emulator: %+v %s", res, res.Payload)
	}
	waitGone(t, old.cmd.Process.Pid)
}
