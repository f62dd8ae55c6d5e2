package lambda

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// AppConfig says how to start the app.
type AppConfig struct {
	Node         string            // node binary (or any program, for tests)
	Entry        string            // first argument, relative to Dir
	Dir          string            // working directory: the task root
	Env          []string          // the function's environment (os.Environ())
	ExtraEnv     map[string]string // the manifest's env: below Env in precedence
	HealthPath   string            // polled until it answers 200
	Transport    string            // TransportTCP or TransportUnix
	ReadyTimeout time.Duration
	Stdout       io.Writer // the app's output is copied here; nil = os.Stdout
	Stderr       io.Writer // nil = os.Stderr
}

// App is the running app process.
type App struct {
	cmd       *exec.Cmd
	ep        endpoint
	tail      *outputTail
	transport *http.Transport

	done     chan struct{} // closed once the process has exited and its output is drained
	exitCode int

	// StartedAt is when the process was started, ReadyAt when its health path first answered 200.
	StartedAt, ReadyAt time.Time
}

// readyPollInterval is the health-poll step; a refused connection costs microseconds, so a short
// step keeps the time between "app ready" and "adapter ready" small.
const readyPollInterval = 2 * time.Millisecond

// StartApp starts the app and waits until its health path answers 200. On failure the app is
// stopped and the error includes its last output lines.
func StartApp(ctx context.Context, c AppConfig) (*App, error) {
	if c.Transport == "" {
		c.Transport = DefaultTransport
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = 9 * time.Second
	}
	if c.HealthPath == "" {
		c.HealthPath = "/health"
	}
	ep, err := newEndpoint(c.Transport)
	if err != nil {
		return nil, err
	}
	if ep.kind == TransportUnix {
		_ = os.Remove(ep.addr)
	}
	stdout, stderr := c.Stdout, c.Stderr
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	a := &App{ep: ep, tail: newOutputTail(), transport: newHTTPTransport(ep), done: make(chan struct{})}
	cmd := exec.Command(c.Node, c.Entry)
	cmd.Dir = c.Dir
	cmd.Env = appEnviron(c.Env, c.ExtraEnv, ep.port)
	cmd.Stdout = a.tail.writer(stdout)
	cmd.Stderr = a.tail.writer(stderr)
	cmd.SysProcAttr = sysProcAttr()
	// A grandchild holding the output pipes open must not delay noticing the app's exit.
	cmd.WaitDelay = 200 * time.Millisecond
	a.cmd = cmd

	a.StartedAt = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the app (%s %s in %s): %v; set RUDDERCTL_NODE to a Node binary "+
			"or put node on PATH", c.Node, c.Entry, c.Dir, err)
	}
	go func() {
		_ = cmd.Wait()
		a.exitCode = exitStatus(cmd.ProcessState)
		if ep.kind == TransportUnix {
			_ = os.Remove(ep.addr)
		}
		close(a.done)
	}()

	if err := a.waitReady(ctx, c.HealthPath, c.ReadyTimeout); err != nil {
		a.Stop(0)
		return nil, err
	}
	a.ReadyAt = time.Now()
	return a, nil
}

func (a *App) waitReady(ctx context.Context, healthPath string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + a.ep.baseHost() + healthPath
	var last string
	tick := time.NewTicker(readyPollInterval)
	defer tick.Stop()
	for {
		r := a.probe(ctx, url)
		if r == "" {
			return nil
		}
		if ctx.Err() == nil || last == "" { // keep the last real answer, not our own timeout
			last = r
		}
		select {
		case <-a.done:
			return fmt.Errorf("the app exited with status %d before GET %s answered 200: it crashed at start-up; "+
				"fix the error below (a missing module, a native addon built for another Node or CPU, ...); %s",
				a.exitCode, healthPath, a.tail.describe())
		case <-ctx.Done():
			return fmt.Errorf("the app did not become ready: GET %s on %s %s did not answer 200 within %s "+
				"(last attempt: %s); make the app listen on $PORT and answer its health path, or raise "+
				"RUDDERCTL_READY_TIMEOUT (Lambda allows 10s of init); %s",
				healthPath, a.ep.kind, a.ep.addr, timeout, last, a.tail.describe())
		case <-tick.C:
		}
	}
}

// probe makes one health request; "" means ready, anything else says why not.
func (a *App) probe(ctx context.Context, url string) string {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := a.transport.RoundTrip(req)
	if err != nil {
		return err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "status " + resp.Status
	}
	return ""
}

// Done is closed when the app has exited.
func (a *App) Done() <-chan struct{} { return a.done }

// ExitCode is the app's exit status (128+signal if killed); valid once Done is closed.
func (a *App) ExitCode() int { <-a.done; return a.exitCode }

// Exited reports whether the app has exited, without blocking.
func (a *App) Exited() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// OutputTail returns the last lines the app printed.
func (a *App) OutputTail() []string { return a.tail.Lines() }

// Signal sends sig to the app.
func (a *App) Signal(sig os.Signal) error { return a.cmd.Process.Signal(sig) }

// Stop sends SIGTERM, waits up to grace for the app to exit, then kills it. It returns the
// app's exit status.
func (a *App) Stop(grace time.Duration) int {
	if !a.Exited() {
		if grace > 0 {
			_ = a.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-a.done:
			case <-time.After(grace):
			}
		}
		_ = a.cmd.Process.Kill()
	}
	code := a.ExitCode()
	a.transport.CloseIdleConnections()
	return code
}

// heapLimitMB sizes V8's old space from the function's memory. The managed runtime's own start
// command (which would do this) is replaced by the wrapper; without a limit V8 sizes its heap
// from the host's memory, so a local run would not feel the configured memory and a Lambda one
// would be killed instead of collecting. A quarter is left for isolates, buffers and code.
func heapLimitMB(memoryMB string) int {
	mb, err := strconv.Atoi(memoryMB)
	if err != nil || mb < 128 {
		return 0
	}
	return mb * 3 / 4
}

// appEnviron builds the app's environment: built-in defaults, then the manifest's env, then the
// function's own environment (it wins), then PORT, which the adapter chooses.
func appEnviron(function []string, manifest map[string]string, port string) []string {
	env := map[string]string{
		"CLUSTER_ENABLED": "false",              // one process per execution environment
		"NODE_OPTIONS":    "--no-node-snapshot", // isolated-vm needs it on Node >= 20
	}
	for k, v := range manifest {
		env[k] = v
	}
	for _, kv := range function {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	env["PORT"] = port
	if heap := heapLimitMB(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]); heap > 0 && !strings.Contains(env["NODE_OPTIONS"], "--max-old-space-size") {
		env["NODE_OPTIONS"] = strings.TrimSpace(env["NODE_OPTIONS"] + " --max-old-space-size=" + strconv.Itoa(heap))
	}
	// The endpoint secret is the adapter's business; keep it out of the app's logs and dumps.
	delete(env, "RUDDERCTL_PATH_PREFIX")
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
