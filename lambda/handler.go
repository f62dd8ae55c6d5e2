package lambda

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync"
	"time"
)

// Adapter turns payload-2.0 events into requests to the app and the app's answers into
// payload-2.0 responses.
type Adapter struct {
	app    *App
	prefix string

	// DeadlineMargin is kept free before the invocation deadline so the adapter can answer 504
	// itself before Lambda kills the invocation.
	DeadlineMargin time.Duration
	// Limit is the largest payload returned (Lambda's 6 MB); tests lower it.
	Limit int
	// Log receives a line for each 502/504 the adapter makes itself (default os.Stderr).
	Log io.Writer

	mu       sync.Mutex
	inflight int
	lastDone time.Time
}

// NewAdapter serves requests with app; prefix is RUDDERCTL_PATH_PREFIX (see NormalizePrefix).
func NewAdapter(app *App, prefix string) *Adapter {
	return &Adapter{app: app, prefix: NormalizePrefix(prefix), DeadlineMargin: 200 * time.Millisecond,
		Limit: MaxResponseBytes, Log: os.Stderr, lastDone: time.Now()}
}

// AppExitedError fails an invocation during which the app exited; the bootstrap then exits with
// Status so Lambda starts a fresh execution environment.
type AppExitedError struct {
	Status int
	Tail   []string
}

func (e *AppExitedError) Error() string {
	msg := fmt.Sprintf("the app exited with status %d while handling the request: it crashed or called process.exit; "+
		"the execution environment will be restarted; see the function's logs", e.Status)
	if len(e.Tail) > 0 {
		msg += "; last lines the app printed:\n  " + strings.Join(e.Tail, "\n  ")
	}
	return msg
}

// Invoke handles one event. The error is non-nil only when the event is not an HTTP API event or
// the app has exited (*AppExitedError); every other failure is an HTTP answer.
func (a *Adapter) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	ev, err := ParseEvent(payload)
	if err != nil {
		return nil, err
	}
	path, ok := StripPrefix(ev.RawPath, a.prefix)
	if !ok {
		return ErrorResponse(http.StatusNotFound, "not found: this endpoint only serves paths under its secret prefix; "+
			"use the full endpoint URL that `rudderctl deploy` printed"), nil
	}
	if err := a.begin(); err != nil {
		return nil, err
	}
	defer a.end()

	req, err := BuildRequest(ev, path, a.app.ep.baseHost())
	if err != nil {
		return ErrorResponse(http.StatusBadRequest, err.Error()), nil
	}
	budget := time.Duration(-1)
	if dl, ok := ctx.Deadline(); ok {
		remaining := time.Until(dl)
		margin := min(a.DeadlineMargin, remaining/2)
		budget = remaining - margin
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, budget)
		defer cancel()
	}
	out, err := a.forward(ctx, req)
	if err == nil {
		return out, nil
	}
	if ctx.Err() != nil && budget >= 0 {
		return a.failed(req, http.StatusGatewayTimeout, fmt.Sprintf("the app did not answer within %s "+
			"(the function timeout minus %s for this answer): raise the function timeout or send smaller batches",
			budget.Round(time.Millisecond), a.DeadlineMargin)), nil
	}
	var tooLarge *ResponseTooLargeError
	if errors.As(err, &tooLarge) {
		return a.failed(req, http.StatusBadGateway, tooLarge.Error()), nil
	}
	if exitErr := a.exitedSoon(); exitErr != nil {
		return nil, exitErr
	}
	return a.failed(req, http.StatusBadGateway, fmt.Sprintf("the app is unreachable: %v; "+
		"see the function's logs for what the app printed", err)), nil
}

// failed logs an adapter-made 502/504 (the app never saw the answer go out, so nobody else
// will) and returns it.
func (a *Adapter) failed(req *http.Request, status int, msg string) []byte {
	fmt.Fprintf(a.Log, "rudderctl-adapter: answered %d to %s %s: %s\n", status, req.Method, req.URL.RequestURI(), msg)
	return ErrorResponse(status, msg)
}

// forward sends req and encodes the answer.
func (a *Adapter) forward(ctx context.Context, req *http.Request) ([]byte, error) {
	resp, err := a.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// A HEAD answer's Content-Length describes a body that is not sent.
	length := resp.ContentLength
	if req.Method == http.MethodHead {
		length = 0
	}
	if length > int64(a.Limit) {
		return nil, &ResponseTooLargeError{Bytes: length}
	}
	// Read at most one byte over the limit: a bigger body cannot fit once encoded, and a huge
	// response must not be held in memory. Closing the body early drops that connection.
	n := 32 << 10
	if length >= 0 {
		n = int(length) + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, n))
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, int64(a.Limit)+1)); err != nil {
		return nil, fmt.Errorf("reading the app's response: %w", err)
	}
	if buf.Len() > a.Limit {
		return nil, &ResponseTooLargeError{Bytes: int64(buf.Len())}
	}
	return EncodeResponse(resp.StatusCode, resp.Header, buf.Bytes(), a.Limit)
}

// roundTrip sends req once, and once more on a fresh connection when a reused keep-alive
// connection turned out to be closed by the app before it read the request (Node closes idle
// connections on its own timer). No redirects are followed: the caller sees what the app said.
func (a *Adapter) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		var reused bool
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
		r := req.WithContext(httptrace.WithClientTrace(ctx, trace))
		if attempt > 0 && req.GetBody != nil {
			body, _ := req.GetBody()
			r.Body = body
		}
		resp, err := a.app.transport.RoundTrip(r)
		if err == nil {
			return resp, nil
		}
		// A dead app cannot be retried into; a fresh connection to it fails at once anyway.
		if attempt > 0 || !reused || ctx.Err() != nil || !staleConnError(err) || a.app.Exited() {
			return nil, err
		}
	}
}

// staleConnError is how a keep-alive connection closed by the other side shows up.
func staleConnError(err error) bool {
	s := err.Error()
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(s, "connection reset") || strings.Contains(s, "broken pipe") ||
		strings.Contains(s, "server closed idle connection")
}

// exitedSoon gives the app a moment to be reaped after a broken connection, so a crash is told
// apart from a network error; it returns *AppExitedError if the app has exited.
func (a *Adapter) exitedSoon() error {
	select {
	case <-a.app.Done():
	case <-time.After(300 * time.Millisecond):
		return nil
	}
	return &AppExitedError{Status: a.app.ExitCode(), Tail: a.app.OutputTail()}
}

func (a *Adapter) begin() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.app.Exited() {
		return &AppExitedError{Status: a.app.ExitCode(), Tail: a.app.OutputTail()}
	}
	if a.inflight == 0 && time.Since(a.lastDone) > idleReuseLimit {
		a.app.transport.CloseIdleConnections()
	}
	a.inflight++
	return nil
}

func (a *Adapter) end() {
	a.mu.Lock()
	a.inflight--
	a.lastDone = time.Now()
	a.mu.Unlock()
}

// idleFor reports whether no invocation is running and none ended within d.
func (a *Adapter) idleFor(d time.Duration) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inflight == 0 && time.Since(a.lastDone) >= d
}
