// Package lambdalocal runs a Lambda function version on this machine the way Lambda runs it:
// the unpacked zip as the task root, the official Runtime Interface Emulator (RIE) as the
// execution environment, the function's exec wrapper as its bootstrap, Lambda's environment
// variables, timeout and memory setting, and a re-initialised environment after a crash or a
// timeout.
package lambdalocal

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// Function is one function version as Lambda would run it.
type Function struct {
	Name, Version string            // Version "$LATEST" or "1", "2", ...
	TaskRoot      string            // unpacked zip (read-only by convention)
	Runtime, Arch string            // nodejs22.x, x86_64
	Handler       string            // e.g. rudderctl.handler (required by managed runtimes, unused)
	Env           map[string]string // function environment
	Timeout       time.Duration     // 0 = Lambda's default, 3 s; rounded up to whole seconds
	MemoryMB      int               // 0 = Lambda's default, 128
}

// Options say how to run a Function here.
type Options struct {
	Node string            // node binary for the runtime (nodedist.Ensure); passed as RUDDERCTL_NODE
	RIE  string            // RIE binary; "" = ResolveRIE()
	Log  func(line string) // every line the function (and RIE) prints; nil = discard. Called from one goroutine at a time.
}

// Result is the answer to one invocation, as Lambda's Invoke API reports it.
type Result struct {
	Payload       []byte
	FunctionError string        // "" or "Unhandled"
	Duration      time.Duration // wall time of the exchange with the emulator, init included
	Report        Report        // what the REPORT line logged for this invocation says
}

// MaxPayload is Lambda's synchronous invocation payload limit (request and response).
const MaxPayload = 6 * 1024 * 1024

// ErrRequestTooLarge is returned by Invoke for a payload over MaxPayload, as Lambda's Invoke
// API refuses it (RequestTooLargeException) without running the function.
var ErrRequestTooLarge = errors.New("request payload is larger than Lambda's 6 MB (6291456 bytes) limit for synchronous invocations")

// DefaultWrapper is the exec wrapper a rudderctl zip carries at its root (CONTRACTS §1).
const DefaultWrapper = manifest.WrapperName

// reserved are the variables Lambda sets itself and refuses in a function's environment.
var reserved = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true, "AWS_LAMBDA_LOG_GROUP_NAME": true,
	"AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true,
	"AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "AWS_LAMBDA_RUNTIME_API": true,
	"LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

// Instance is one execution environment: an RIE process and the function it runs.
type Instance struct {
	f       Function
	o       Options
	rie     string
	argv    []string
	env     []string
	timeout int // seconds, as the RIE takes it

	rieLevel string // the emulator's --log-level
	passInfo bool   // show its INFO lines (RUDDERCTL_RIE_LOG_LEVEL asked for them)

	logMu sync.Mutex

	mu chan struct{} // serialises invokes (one environment runs one event at a time); ctx-aware

	state  sync.Mutex // guards closed, proc and tree
	closed bool
	proc   *rieProc
	// tree remembers the processes of the current runtime (the adapter, the app) so a crash or a
	// timeout can clean up anything the RIE's own kill of the runtime's process group missed.
	tree []procInfo
}

type rieProc struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
	wg   sync.WaitGroup // log pumps

	mu      sync.Mutex
	initErr string // the RIE's reason for the last failed init ("Runtime exited with error: exit status 2")

	repMu    sync.Mutex
	initDur  time.Duration  // from rapid's INIT REPORT during the invocation in flight
	awaiting *awaitedReport // the invocation in flight, until the emulator's REPORT line for it

	known []int // pids below the emulator after the last invocation (under the invocation lock)
}

// awaitedReport is signalled (with the init duration seen) when the emulator's REPORT line for
// id went by: everything the emulator printed for that invocation has been read by then.
type awaitedReport struct {
	id  string
	got chan time.Duration
}

// expectReport registers the invocation about to be sent.
func (p *rieProc) expectReport(id string) *awaitedReport {
	a := &awaitedReport{id: id, got: make(chan time.Duration, 1)}
	p.repMu.Lock()
	p.initDur = 0
	p.awaiting = a
	p.repMu.Unlock()
	return a
}

// filter consumes the emulator's lines that rudderctl replaces or hides; true = do not log it.
func (p *rieProc) filter(line string, passInfo bool) bool {
	if id, ok := rieReportID(line); ok {
		p.repMu.Lock()
		defer p.repMu.Unlock()
		if p.awaiting == nil || p.awaiting.id != id {
			return false // not the emulator's line for the invocation in flight
		}
		p.awaiting.got <- p.initDur
		p.awaiting, p.initDur = nil, 0
		return true
	}
	if d, ok := rieInitDuration(line); ok {
		p.repMu.Lock()
		p.initDur = d
		p.repMu.Unlock()
	}
	return isRapidInfo(line) && !passInfo
}

// noteLine remembers why an init (or an invocation that re-ran init) failed, from the RIE's
// line "[ERROR] (rapid) Init failed error=Runtime exited with error: exit status 2 InvokeID="
// (the fields come in either order).
func (p *rieProc) noteLine(line string) {
	if !strings.Contains(line, "(rapid) Init failed") && !strings.Contains(line, "(rapid) Invoke failed") {
		return
	}
	_, rest, ok := strings.Cut(line, " error=")
	if !ok {
		return
	}
	if j := strings.Index(rest, " InvokeID="); j >= 0 {
		rest = rest[:j]
	}
	p.mu.Lock()
	p.initErr = strings.TrimSpace(rest)
	p.mu.Unlock()
}

func (p *rieProc) lastInitErr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.initErr
}

// Start prepares an execution environment for f: the RIE listens on free loopback ports and
// initialises the function lazily on the first Invoke, as Lambda does on demand.
func Start(ctx context.Context, f Function, o Options) (*Instance, error) {
	if f.TaskRoot == "" {
		return nil, errors.New("lambdalocal: Function.TaskRoot is empty")
	}
	root, err := filepath.Abs(f.TaskRoot)
	if err != nil {
		return nil, err
	}
	f.TaskRoot = root
	if f.Name == "" {
		f.Name = "rudderctl-local"
	}
	if f.Version == "" {
		f.Version = "$LATEST"
	}
	if f.MemoryMB <= 0 {
		f.MemoryMB = 128
	}
	if f.Timeout <= 0 {
		f.Timeout = 3 * time.Second
	}
	for k := range f.Env {
		if reserved[k] {
			return nil, fmt.Errorf("function environment sets %s: Lambda reserves that variable and refuses it; remove it from the environment", k)
		}
	}
	rie := o.RIE
	if rie == "" {
		if rie, err = ResolveRIE(ctx); err != nil {
			return nil, err
		}
	}
	wrapper, env := environment(f, o)
	st, err := os.Stat(wrapper)
	if err != nil {
		return nil, fmt.Errorf("cannot run the function: its exec wrapper %s is missing (%v); is %s an unpacked rudderctl zip?", wrapper, err, f.TaskRoot)
	}
	if st.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("cannot run the function: its exec wrapper %s is not executable (mode %v); rebuild the zip with rudderctl package", wrapper, st.Mode().Perm())
	}
	i := &Instance{
		f:       f,
		o:       o,
		rie:     rie,
		argv:    []string{wrapper},
		env:     env,
		timeout: int((f.Timeout + time.Second - 1) / time.Second),
		mu:      make(chan struct{}, 1),
	}
	i.rieLevel, i.passInfo = rieLogLevel()
	i.env = append(i.env, "AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(i.timeout))
	if err := i.startProc(ctx); err != nil {
		return nil, err
	}
	return i, nil
}

// environment returns the bootstrap to run and the environment of the execution environment.
func environment(f Function, o Options) (wrapper string, env []string) {
	m := map[string]string{}
	path := "/usr/local/bin:/usr/bin:/bin"
	if o.Node != "" && filepath.IsAbs(o.Node) {
		path = filepath.Dir(o.Node) + ":" + path
	}
	m["PATH"] = path
	if h := os.Getenv("HOME"); h != "" {
		m["HOME"] = h
	} else {
		m["HOME"] = os.TempDir()
	}
	m["TZ"] = ":UTC"
	m["LANG"] = "en_US.UTF-8"
	for k, v := range f.Env {
		m[k] = v
	}
	// AWS_LAMBDA_EXEC_WRAPPER is the function's own setting (a deploy sets
	// /var/task/rudderctl-wrapper); here the task root stands in for /var/task.
	wrapper = filepath.Join(f.TaskRoot, DefaultWrapper)
	// An OS-only runtime (provided.al2023) runs the zip's own `bootstrap`, as Lambda does;
	// rudderctl's Node zips carry the wrapper instead.
	if boot := filepath.Join(f.TaskRoot, "bootstrap"); strings.HasPrefix(f.Runtime, "provided") && fileExists(boot) {
		wrapper = boot
	}
	if w := f.Env["AWS_LAMBDA_EXEC_WRAPPER"]; w != "" {
		switch {
		case strings.HasPrefix(w, "/var/task/"):
			wrapper = filepath.Join(f.TaskRoot, strings.TrimPrefix(w, "/var/task/"))
		case filepath.IsAbs(w):
			wrapper = w
		default:
			wrapper = filepath.Join(f.TaskRoot, w)
		}
	}
	m["AWS_LAMBDA_EXEC_WRAPPER"] = wrapper
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	lambdaVars := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        f.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     f.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(f.MemoryMB),
		"AWS_REGION":                      region,
		"AWS_DEFAULT_REGION":              region,
		"AWS_EXECUTION_ENV":               "AWS_Lambda_" + f.Runtime,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + f.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      time.Now().UTC().Format("2006/01/02") + "/[" + f.Version + "]local",
		"LAMBDA_TASK_ROOT":                f.TaskRoot,
		"_HANDLER":                        f.Handler,
		// Dummy credentials, as a role would give: nothing local checks them.
		"AWS_ACCESS_KEY_ID":     "AKIALOCALLAMBDA00000",
		"AWS_SECRET_ACCESS_KEY": "local-lambda-secret-access-key-not-real",
		"AWS_SESSION_TOKEN":     "local-lambda-session-token",
	}
	for k, v := range lambdaVars {
		m[k] = v
	}
	if o.Node != "" {
		m["RUDDERCTL_NODE"] = o.Node
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+m[k])
	}
	return wrapper, env
}

func (i *Instance) log(line string) {
	if i.o.Log == nil {
		return
	}
	i.logMu.Lock()
	defer i.logMu.Unlock()
	i.o.Log(line)
}

var (
	portsMu sync.Mutex
	ports   = map[int]time.Time{} // ports handed out recently, not to hand out twice
)

// freePort picks a free loopback port, never one this process handed out in the last minute
// (environments starting side by side must not get each other's ports).
func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for k, t := range ports {
		if time.Since(t) > time.Minute {
			delete(ports, k)
		}
	}
	for n := 0; n < 20; n++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if _, used := ports[port]; !used {
			ports[port] = time.Now()
			return port, nil
		}
	}
	return 0, errors.New("no free loopback port")
}

// rieLogLevel is the emulator's log level: at least info, because its INFO line "INIT REPORT"
// is where the Init Duration of REPORT lines comes from; its INFO lines are shown only when
// RUDDERCTL_RIE_LOG_LEVEL asks for info, debug or trace.
func rieLogLevel() (level string, passInfo bool) {
	switch l := strings.ToLower(os.Getenv("RUDDERCTL_RIE_LOG_LEVEL")); l {
	case "info", "debug", "trace":
		return l, true
	default:
		return "info", false
	}
}

// startProc starts the RIE and waits until it accepts connections. A port taken between
// picking and binding is retried with new ports.
func (i *Instance) startProc(ctx context.Context) error {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p, err := i.tryStart(ctx)
		if err == nil {
			i.proc = p
			i.tree = nil
			return nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return lastErr
}

func (i *Instance) tryStart(ctx context.Context) (*rieProc, error) {
	emuPort, err := freePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	for apiPort == emuPort {
		if apiPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	emuAddr := "127.0.0.1:" + strconv.Itoa(emuPort)
	args := []string{
		"--log-level", i.rieLevel,
		"--runtime-interface-emulator-address", emuAddr,
		"--runtime-api-address", "127.0.0.1:" + strconv.Itoa(apiPort),
	}
	args = append(args, i.argv...)
	cmd := exec.Command(i.rie, args...)
	cmd.Dir = i.f.TaskRoot
	cmd.Env = i.env
	cmd.SysProcAttr = sysProcAttr()
	// One pipe for stdout and stderr: the emulator's log lines (stderr) and its START/END/REPORT
	// lines and the function's output (stdout) are then read in the order they were written.
	out, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w
	var tail tailBuf
	err = cmd.Start()
	w.Close()
	if err != nil {
		out.Close()
		return nil, fmt.Errorf("cannot start the Lambda Runtime Interface Emulator %s: %w; set RUDDERCTL_RIE to a working aws-lambda-rie binary", i.rie, err)
	}
	p := &rieProc{cmd: cmd, url: "http://" + emuAddr + "/2015-03-31/functions/function/invocations", done: make(chan struct{})}
	p.wg.Add(1)
	go func() { i.pump(out, p, &tail); out.Close() }()
	go func() {
		p.wg.Wait() // the pipes must be drained before Wait closes them
		_ = cmd.Wait()
		close(p.done)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", emuAddr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("the Lambda Runtime Interface Emulator exited at start (%v): %s", cmd.ProcessState, tail.String())
		case <-ctx.Done():
			killProc(p, nil)
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			killProc(p, nil)
			return nil, fmt.Errorf("the Lambda Runtime Interface Emulator did not listen on %s within 15 s: %s", emuAddr, tail.String())
		}
	}
}

func (i *Instance) pump(r io.Reader, p *rieProc, tail *tailBuf) {
	defer p.wg.Done()
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			line = strings.TrimRight(line, "\r\n")
			tail.add(line)
			p.noteLine(line)
			if !p.filter(line, i.passInfo) {
				i.log(line)
			}
		}
		if err != nil {
			return
		}
	}
}

// tailBuf keeps the last lines the RIE printed, for start-up errors.
type tailBuf struct {
	mu    sync.Mutex
	lines []string
}

func (t *tailBuf) add(l string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, l)
	if len(t.lines) > 10 {
		t.lines = t.lines[1:]
	}
}

func (t *tailBuf) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return "(no output)"
	}
	return strings.Join(t.lines, " | ")
}

func (p *rieProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

var invokeClient = &http.Client{Transport: &http.Transport{
	Proxy:               nil,
	DisableCompression:  true,
	MaxIdleConnsPerHost: 4,
	IdleConnTimeout:     30 * time.Second,
}}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Invoke runs one event. A function error (crash, timeout, an error returned by the handler)
// is reported in Result, not err; the next Invoke re-inits a crashed environment. err is for
// events Lambda would refuse (ErrRequestTooLarge), a cancelled ctx (the environment is then
// torn down and the next Invoke starts a fresh one) and emulator failures.
func (i *Instance) Invoke(ctx context.Context, payload []byte) (Result, error) {
	if len(payload) > MaxPayload {
		return Result{}, ErrRequestTooLarge
	}
	if err := lockCtx(ctx, i.mu); err != nil {
		return Result{}, fmt.Errorf("waiting for the execution environment (busy with another invocation): %w", err)
	}
	handedOff := false // the lock goes to the goroutine that looks at the tree after the answer
	defer func() {
		if !handedOff {
			<-i.mu
		}
	}()
	var (
		p     *rieProc
		reqID string
		start time.Time
		resp  *http.Response
		err   error
		aw    *awaitedReport
		mem   *memWatch
	)
	for attempt := 0; ; attempt++ {
		if p, err = i.ready(ctx); err != nil {
			return Result{}, err
		}
		p.mu.Lock()
		p.initErr = "" // only this invocation's init failure counts
		p.mu.Unlock()
		reqID = newRequestID()
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(payload))
		if err != nil {
			return Result{}, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Amzn-RequestId", reqID)
		aw = p.expectReport(reqID)
		mem = watchMemory(p.cmd.Process.Pid, p.known)
		start = time.Now()
		resp, err = invokeClient.Do(req)
		var opErr *net.OpError
		if err != nil && attempt < 2 && ctx.Err() == nil && errors.As(err, &opErr) && opErr.Op == "dial" {
			mem.finish(false)
			// Nothing was sent: the emulator died (e.g. it lost a port race at start). Start
			// a new one and send the event there.
			i.log("rudderctl: the Lambda Runtime Interface Emulator is gone (" + err.Error() + "); starting a new execution environment")
			i.discard(p)
			continue
		}
		break
	}
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	dur := time.Since(start)
	if err != nil {
		mem.finish(false)
		// The environment's state is unknown (an invoke may still run in it): replace it.
		i.discard(p)
		if ctx.Err() != nil {
			return Result{Duration: dur}, fmt.Errorf("invocation abandoned: %w (the execution environment was discarded)", ctx.Err())
		}
		if i.isClosed() {
			return Result{Duration: dur}, errors.New("lambdalocal: the instance was closed during the invocation")
		}
		return Result{Duration: dur}, fmt.Errorf("the Lambda Runtime Interface Emulator failed during the invocation: %w", err)
	}
	res := Result{Payload: body, Duration: dur}
	reset := false
	switch {
	case resp.StatusCode == http.StatusOK && bytes.HasPrefix(body, []byte("Task timed out after ")):
		res.FunctionError = "Unhandled"
		res.Payload, _ = json.Marshal(map[string]string{
			"errorType":    "Sandbox.Timedout",
			"errorMessage": "RequestId: " + reqID + " Error: " + string(body),
		})
		reset = true
	case resp.StatusCode == http.StatusOK:
		if isErrorPayload(body) {
			res.FunctionError = "Unhandled"
		}
	case resp.StatusCode == http.StatusBadGateway:
		// The runtime exited or failed its init: the RIE resets the environment.
		res.FunctionError = "Unhandled"
		if !json.Valid(body) || len(body) == 0 {
			// A failed init: the RIE answers with no body; Lambda reports the runtime's exit.
			why := strings.TrimSpace(string(body))
			for n := 0; why == "" && n < 20; n++ {
				time.Sleep(10 * time.Millisecond) // let the RIE's log line arrive
				why = p.lastInitErr()
			}
			if why == "" {
				why = "the runtime failed during init"
			}
			res.Payload, _ = json.Marshal(map[string]string{
				"errorType":    "Runtime.ExitError",
				"errorMessage": "RequestId: " + reqID + " Error: " + why,
			})
		}
		reset = true
	default:
		i.discard(p)
		return res, fmt.Errorf("the Lambda Runtime Interface Emulator answered %d %q; the execution environment was discarded", resp.StatusCode, truncate(string(body), 300))
	}
	if len(res.Payload) > MaxPayload+100 && res.FunctionError == "" {
		res.FunctionError = "Unhandled"
		res.Payload, _ = json.Marshal(map[string]string{
			"errorType":    "Function.ResponseSizeTooLarge",
			"errorMessage": fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxPayload+100),
		})
	}
	res.Report = i.report(p, aw, mem, resp.StatusCode, reqID, dur, reset)
	i.log(res.Report.String())
	if reset {
		// The RIE killed the runtime's process group; anything that left it goes too.
		i.state.Lock()
		if i.proc == p {
			killTree(i.tree)
			i.tree, p.known = nil, nil
		}
		i.state.Unlock()
		return res, nil
	}
	// Remember the runtime's processes (orphans that left the RIE's tree stay remembered until
	// they exit) after answering: the walk takes up to a millisecond, and the next invocation
	// waits for it only if it comes sooner.
	handedOff = true
	go func() {
		defer func() { <-i.mu }()
		tree := descendants(p.cmd.Process.Pid)
		i.state.Lock()
		defer i.state.Unlock()
		if i.proc == p {
			i.tree = mergeTree(i.tree, tree)
			p.known = pidsOf(tree)
		}
	}()
	return res, nil
}

// report measures what the REPORT line of an invocation says. It waits for the emulator's own
// REPORT line (printed before its answer, so already in the pipe) to have been read, so the
// line comes after END and after whatever the function printed, with the init seen meanwhile.
func (i *Instance) report(p *rieProc, aw *awaitedReport, mem *memWatch, status int, reqID string, dur time.Duration, reset bool) Report {
	r := Report{RequestID: reqID, MemorySizeMB: i.f.MemoryMB}
	if status == http.StatusOK { // answers and timeouts; a 502 (crash, failed init) has no REPORT
		t := time.NewTimer(time.Second)
		select {
		case r.InitDuration = <-aw.got:
		case <-p.done:
		case <-t.C:
		}
		t.Stop()
	}
	r.Duration = max(dur-r.InitDuration, 0)
	// After an init the runtime is new: walk the tree to count it. After a reset the runtime
	// was killed before it could be read: no figure.
	if kib, ok := mem.finish(r.InitDuration > 0); ok && !reset {
		r.MaxMemoryUsedMB = kibToMB(kib)
	}
	return r
}

// lockCtx takes a one-slot channel lock unless ctx ends first.
func lockCtx(ctx context.Context, mu chan struct{}) error {
	select {
	case mu <- struct{}{}:
		return nil
	default:
	}
	select {
	case mu <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ready returns a running RIE, starting a new one if there is none or it exited.
func (i *Instance) ready(ctx context.Context) (*rieProc, error) {
	i.state.Lock()
	defer i.state.Unlock()
	if i.closed {
		return nil, errors.New("lambdalocal: Invoke on a closed instance")
	}
	if i.proc != nil && !i.proc.exited() {
		return i.proc, nil
	}
	if i.proc != nil {
		i.log("rudderctl: the Lambda Runtime Interface Emulator exited; starting a new execution environment")
		killProc(i.proc, i.tree)
		i.proc = nil
	}
	if err := i.startProc(ctx); err != nil {
		return nil, err
	}
	return i.proc, nil
}

// discard kills an environment whose state is unknown; the next Invoke starts a fresh one.
func (i *Instance) discard(p *rieProc) {
	i.state.Lock()
	defer i.state.Unlock()
	if i.proc != p {
		return
	}
	tree := i.tree
	if len(tree) == 0 {
		tree = descendants(p.cmd.Process.Pid)
	}
	killProc(p, tree)
	i.proc, i.tree = nil, nil
}

func (i *Instance) isClosed() bool {
	i.state.Lock()
	defer i.state.Unlock()
	return i.closed
}

// isErrorPayload tells a handler's error ({"errorMessage":..., "errorType":...}) from a result;
// the RIE answers both with 200, where Lambda would set X-Amz-Function-Error. Keys are read one
// by one: a result (the adapter's begins with "statusCode") is told apart at its first key,
// without parsing a payload of up to 6 MB.
func isErrorPayload(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return false
	}
	hasMessage := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch key, _ := tok.(string); key {
		case "errorMessage":
			hasMessage = true
		case "errorType", "stackTrace", "trace", "cause", "requestId":
		default:
			return false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return false
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return false
	}
	_, err := dec.Token()
	return hasMessage && err == io.EOF // nothing after the object
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Close stops the execution environment: the RIE, the runtime and everything they started. An
// invocation in flight ends with an error.
func (i *Instance) Close() error {
	i.state.Lock()
	defer i.state.Unlock()
	if i.closed {
		return nil
	}
	i.closed = true
	if i.proc != nil {
		tree := append(descendants(i.proc.cmd.Process.Pid), i.tree...)
		killProc(i.proc, tree)
		i.proc, i.tree = nil, nil
	}
	return nil
}

// killProc kills the RIE's process group, the process groups of the given processes (the
// runtime runs in its own group) and waits for the RIE to be reaped.
func killProc(p *rieProc, tree []procInfo) {
	if p == nil {
		return
	}
	pid := p.cmd.Process.Pid
	if len(tree) == 0 && !p.exited() {
		tree = descendants(pid)
	}
	if !p.exited() {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	killTree(tree)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
