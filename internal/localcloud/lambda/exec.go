package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/lambdalocal"
	"github.com/rudderctl/rudderctl/internal/localcloud/arns"
	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// invokeTarget is a snapshot of the function version to run, taken under r.mu.
type invokeTarget struct {
	Name, Version, Region, Revision string
	Config                          fnConfig
}

type envKey struct{ name, version string }

// environment is one warm execution environment of a function version.
type environment struct {
	key      envKey
	revision string
	stream   string
	ready    chan struct{}
	inst     *lambdalocal.Pool // one environment: Lambda runs one invocation at a time in it
	err      error

	capMu     sync.Mutex
	capturing bool
	captured  []string
}

// capture starts collecting the lines the environment prints (for Invoke's LogType=Tail).
func (e *environment) capture(on bool) []string {
	e.capMu.Lock()
	defer e.capMu.Unlock()
	e.capturing = on
	out := e.captured
	e.captured = nil
	return out
}

func (e *environment) record(line string) {
	e.capMu.Lock()
	if e.capturing {
		e.captured = append(e.captured, line)
	}
	e.capMu.Unlock()
}

type executor struct {
	r     *Room
	mu    sync.Mutex
	envs  map[envKey]*environment
	tasks *taskDirs
	wg    sync.WaitGroup
}

func newExecutor(r *Room) *executor {
	return &executor{r: r, envs: map[envKey]*environment{}, tasks: newTaskDirs(r.cloud.StateDir(), r.zipPath, r.cloud.Logf)}
}

// invalidate closes the environments of a function version ("" = all versions).
func (e *executor) invalidate(name, version string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, env := range e.envs {
		if k.name == name && (version == "" || k.version == version) {
			delete(e.envs, k)
			e.closeAsync(env)
		}
	}
}

func (e *executor) closeAsync(env *environment) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		<-env.ready
		if env.inst != nil {
			_ = env.inst.Close()
		}
	}()
}

func (e *executor) closeAll() {
	e.mu.Lock()
	for k, env := range e.envs {
		delete(e.envs, k)
		e.closeAsync(env)
	}
	e.mu.Unlock()
	e.wg.Wait()
}

// dropTask removes the unpacked code of a zip that is gone.
func (e *executor) dropTask(hexSha string) { e.tasks.drop(hexSha) }

// taskRoot returns the unpacked code of a stored zip (see taskDirs).
func (e *executor) taskRoot(ctx context.Context, codeSha string) (string, error) {
	return e.tasks.get(ctx, shaHex(codeSha))
}

// get returns the warm environment of t, starting it if needed.
func (e *executor) get(ctx context.Context, t invokeTarget) (*environment, error) {
	key := envKey{t.Name, t.Version}
	e.mu.Lock()
	env := e.envs[key]
	if env != nil && env.revision != t.Revision {
		delete(e.envs, key)
		e.closeAsync(env)
		env = nil
	}
	if env == nil {
		env = &environment{key: key, revision: t.Revision, ready: make(chan struct{}),
			stream: time.Now().UTC().Format("2006/01/02") + "/[" + t.Version + "]" + strings.ReplaceAll(core.NewRequestID(), "-", "")}
		e.envs[key] = env
		e.mu.Unlock()
		env.inst, env.err = e.start(ctx, t, env)
		close(env.ready)
		if env.err != nil {
			e.mu.Lock()
			if e.envs[key] == env {
				delete(e.envs, key)
			}
			e.mu.Unlock()
		}
	} else {
		e.mu.Unlock()
	}
	select {
	case <-env.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return env, env.err
}

func (e *executor) start(ctx context.Context, t invokeTarget, env *environment) (*lambdalocal.Pool, error) {
	root, err := e.taskRoot(ctx, t.Config.CodeSha256)
	if err != nil {
		return nil, fmt.Errorf("unpack code: %w", err)
	}
	logLine := func(line string) {
		env.record(line)
		e.r.logs.AppendFunctionLog(t.Name, t.Region, env.stream, line)
	}
	arch := "x86_64"
	if len(t.Config.Architectures) > 0 {
		arch = t.Config.Architectures[0]
	}
	f := lambdalocal.Function{
		Name: t.Name, Version: t.Version, TaskRoot: root, Runtime: t.Config.Runtime, Arch: arch,
		Handler: t.Config.Handler, Env: core.CopyMap(t.Config.Env),
		Timeout: time.Duration(t.Config.Timeout) * time.Second, MemoryMB: t.Config.MemorySize,
	}
	// Detach from the caller: the environment outlives this invocation.
	return lambdalocal.StartPool(context.WithoutCancel(ctx), f, lambdalocal.Launch{
		NoNode: func(major int, err error) {
			logLine(fmt.Sprintf("localcloud: no Node %d for %s (%v); using node from PATH", major, arch, err))
		},
		Progress:    lineWriter(logLine),
		Log:         logLine,
		Concurrency: 1,
	})
}

// lineWriter adapts a per-line logger to io.Writer.
type lineWriter func(string)

func (l lineWriter) Write(p []byte) (int, error) {
	for _, s := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if s != "" {
			l(s)
		}
	}
	return len(p), nil
}

// invokeResult is what one synchronous invocation produced.
type invokeResult struct {
	Payload         []byte
	FunctionError   string
	ExecutedVersion string
	Log             []string // what the environment printed during the invocation
}

var (
	errFunctionNotFound = errors.New("function not found")
	errFunctionPending  = errors.New("function pending")
)

// target resolves name+qualifier to a snapshot of the version to run.
func (r *Room) target(name, qual string) (invokeTarget, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.st.Functions[name]
	if f == nil {
		return invokeTarget{}, errFunctionNotFound
	}
	v, ok := f.resolve(qual)
	if !ok {
		return invokeTarget{}, errFunctionNotFound
	}
	if v.Version == "$LATEST" && f.state(time.Now()) == "Pending" {
		return invokeTarget{}, errFunctionPending
	}
	cfg := v.Config
	cfg.Env = core.CopyMap(cfg.Env)
	return invokeTarget{Name: f.Name, Version: v.Version, Region: f.Region, Revision: v.RevisionID, Config: cfg}, nil
}

// run invokes a resolved target. A function that cannot start is reported as a function
// error (as Lambda reports Runtime.ExitError / init failures), not as an API error.
func (r *Room) run(ctx context.Context, t invokeTarget, payload []byte) invokeResult {
	res := invokeResult{ExecutedVersion: t.Version}
	env, err := r.exec.get(ctx, t)
	if err != nil {
		r.logs.AppendFunctionLog(t.Name, t.Region, time.Now().UTC().Format("2006/01/02")+"/["+t.Version+"]init", "localcloud: environment failed to start: "+err.Error())
		res.FunctionError = "Unhandled"
		res.Payload, _ = json.Marshal(map[string]any{"errorType": "Runtime.InitError", "errorMessage": err.Error()})
		return res
	}
	env.capture(true)
	out, err := env.inst.Invoke(ctx, payload)
	res.Log = env.capture(false)
	if err != nil {
		res.FunctionError = "Unhandled"
		res.Payload, _ = json.Marshal(map[string]any{"errorType": "Runtime.Unknown", "errorMessage": err.Error()})
		return res
	}
	res.Payload, res.FunctionError = out.Payload, out.FunctionError
	if len(res.Payload) > maxInvokePayload {
		res.FunctionError = "Unhandled"
		res.Payload, _ = json.Marshal(map[string]any{
			"errorType":    "Function.ResponseSizeTooLarge",
			"errorMessage": fmt.Sprintf("Response payload size (%d bytes) exceeded maximum allowed payload size (%d bytes).", len(out.Payload), maxInvokePayload),
		})
	}
	return res
}

// lambdaInvoke serves the Invoke API.
func (r *Room) invoke(q *core.Request) {
	ref := q.Args[0]
	name, qual, ok := arns.ParseFunctionRef(ref)
	if !ok {
		invalidParam(q, "1 validation error detected: Value '"+ref+"' at 'functionName' failed to satisfy constraint")
		return
	}
	if qq := q.R.URL.Query().Get("Qualifier"); qq != "" {
		qual = qq
	}
	body, err := core.ReadLimited(q.R.Body, maxInvokePayload)
	if err != nil {
		lambdaError(q, http.StatusRequestEntityTooLarge, "RequestTooLargeException", fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", maxInvokePayload))
		return
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	t, err := r.target(name, qual)
	switch {
	case errors.Is(err, errFunctionNotFound):
		arn := "arn:aws:lambda:" + q.Region + ":" + core.AccountID + ":function:" + name
		if qual != "" {
			arn += ":" + qual
		}
		fnNotFound(q, arn)
		return
	case errors.Is(err, errFunctionPending):
		lambdaError(q, http.StatusConflict, "ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: Pending")
		return
	}
	if !json.Valid(body) {
		lambdaError(q, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json")
		return
	}
	switch q.R.Header.Get("X-Amz-Invocation-Type") {
	case "DryRun":
		q.NoContent(http.StatusNoContent)
		return
	case "Event":
		r.exec.wg.Add(1)
		go func() {
			defer r.exec.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(t.Config.Timeout)*time.Second+30*time.Second)
			defer cancel()
			r.run(ctx, t, body)
		}()
		q.NoContent(http.StatusAccepted)
		return
	}
	writeInvokeResult(q, r.run(q.R.Context(), t, body))
}

// writeInvokeResult answers a synchronous Invoke: the payload, the executed version, the
// function error and, for LogType=Tail, the last 4 KB of what the invocation printed.
func writeInvokeResult(q *core.Request, res invokeResult) {
	q.W.Header().Set("X-Amz-Executed-Version", res.ExecutedVersion)
	if q.R.Header.Get("X-Amz-Log-Type") == "Tail" {
		tail := strings.Join(res.Log, "\n")
		if len(tail) > 0 {
			tail += "\n"
		}
		if len(tail) > 4096 {
			tail = tail[len(tail)-4096:]
		}
		q.W.Header().Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString([]byte(tail)))
	}
	if res.FunctionError != "" {
		q.W.Header().Set("X-Amz-Function-Error", res.FunctionError)
	}
	q.W.Header().Set("Content-Type", "application/json")
	q.WriteBody(http.StatusOK, res.Payload)
}
