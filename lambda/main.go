package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
)

// shutdownGrace is how long a SIGTERM'd app gets before it is killed. Lambda itself allows only
// a few hundred ms before SIGKILL; local runs and tests get the rest.
const shutdownGrace = 2 * time.Second

// Main is the bootstrap: start the app (Lambda's init phase), then serve invocations through
// aws-lambda-go until the app exits or a signal arrives. It returns an exit status only when init
// fails; otherwise the process ends with os.Exit (the app's status, so Lambda re-inits).
func Main() int {
	log.SetFlags(0)
	tuneGC()
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if api == "" {
		fmt.Fprintln(os.Stderr, "rudderctl-adapter: AWS_LAMBDA_RUNTIME_API is not set: this bootstrap speaks the Lambda "+
			"Runtime API; run it on Lambda (via AWS_LAMBDA_EXEC_WRAPPER) or under the Runtime Interface Emulator")
		return 2
	}
	cfg, err := LoadConfig()
	if err != nil {
		return initFailed(api, err)
	}
	app, err := StartApp(context.Background(), cfg.App)
	if err != nil {
		return initFailed(api, err)
	}
	fmt.Fprintf(os.Stderr, "rudderctl-adapter: app ready in %s (%s %s over %s)\n",
		app.ReadyAt.Sub(app.StartedAt).Round(time.Millisecond), cfg.App.Node, cfg.App.Entry, app.ep.kind)

	ad := NewAdapter(app, cfg.PathPrefix)
	var exiting atomic.Bool
	// An invocation that saw the app exit returns ShouldExit: aws-lambda-go posts the error, stops
	// its loop and calls log.Fatalf; the hook turns that exit(1) into the app's exit status.
	log.SetOutput(&fatalHook{w: os.Stderr, exitCode: func() (int, bool) {
		if !exiting.Load() {
			return 0, false
		}
		return app.ExitCode(), true
	}})
	go passSignals(app)
	go func() {
		<-app.Done()
		exiting.Store(true)
		// Idle (or the in-flight invocation has not noticed yet): give it time to report, then go.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if ad.idleFor(100 * time.Millisecond) {
				break
			}
		}
		fmt.Fprintf(os.Stderr, "rudderctl-adapter: the app exited with status %d; exiting so Lambda restarts the environment\n", app.ExitCode())
		os.Exit(app.ExitCode())
	}()

	awslambda.Start(handlerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
		out, err := ad.Invoke(ctx, payload)
		if exitErr, ok := err.(*AppExitedError); ok {
			exiting.Store(true)
			return nil, messages.InvokeResponse_Error{Type: "AppExited", Message: exitErr.Error(), ShouldExit: true}
		}
		return out, err
	}))
	return 1 // not reached: Start exits
}

// handlerFunc adapts a function to aws-lambda-go's Handler: raw bytes in and out, no reflection.
type handlerFunc func(context.Context, []byte) ([]byte, error)

func (f handlerFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f(ctx, payload)
}

// passSignals forwards SIGTERM/SIGINT to the app, waits for it, and exits with its status.
func passSignals(app *App) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	sig := <-ch
	fmt.Fprintf(os.Stderr, "rudderctl-adapter: got %v, passing it to the app\n", sig)
	_ = app.Signal(sig)
	select {
	case <-app.Done():
	case <-time.After(shutdownGrace):
		fmt.Fprintf(os.Stderr, "rudderctl-adapter: the app did not exit within %s of %v; killing it\n", shutdownGrace, sig)
	}
	os.Exit(app.Stop(0))
}

type fatalHook struct {
	w        *os.File
	exitCode func() (int, bool)
}

func (h *fatalHook) Write(p []byte) (int, error) {
	if code, ok := h.exitCode(); ok && bytes.Contains(p, []byte("should exit")) {
		// aws-lambda-go's line speaks of a panic; say what really happened instead.
		fmt.Fprintf(h.w, "rudderctl-adapter: the app exited with status %d; exiting so Lambda restarts the environment\n", code)
		os.Exit(code)
	}
	return h.w.Write(p)
}

// initFailed reports an init error to the Runtime API (so the invoker sees it, not just a
// generic "Runtime exited") and to the log, and returns the exit status.
func initFailed(api string, err error) int {
	msg := "rudderctl-adapter: init failed: " + err.Error()
	fmt.Fprintln(os.Stderr, msg)
	body, _ := json.Marshal(map[string]any{"errorMessage": msg, "errorType": "Runtime.AppInitFailed", "stackTrace": []string{}})
	req, _ := http.NewRequest(http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.AppInitFailed")
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
	}
	return 1
}

// tuneGC: the adapter's live heap is a few MB, so with the default GOGC a 1 MB request (which
// allocates ~7 MB: event, body, answer, encoded answer) runs the collector twice; 400 saves
// ~1 ms per such request for ~15 MB more peak memory. GOGC in the environment still wins.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
