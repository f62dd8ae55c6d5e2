package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/rudderctl/rudderctl/internal/awsapi"
)

// Options configure one Run.
type Options struct {
	// Kinds carry out the changes: each change's Action must be one kind's.
	Kinds []Kind
	// Progress receives one line per step as it starts (and the kinds' own lines).
	Progress io.Writer
	// Secret is hidden from every progress line and error.
	Secret string
	// Parallel is how many independent steps may run at once (<= 0: 4).
	Parallel int
	// Operation ("deploy", "destroy"), when set, adds the "run it again to finish" hint
	// to an error that stopped the run part-way. "" = the caller explains.
	Operation string
}

// Final marks an error that says all there is to say: the engine neither explains it as
// an AWS error nor adds the "run it again" hint (a failed health check: running again
// does not finish anything, fixing the code does).
type Final interface {
	error
	Final()
}

// plainError is an error the kind explained itself.
type plainError struct{ err error }

func (e plainError) Error() string { return e.err.Error() }
func (e plainError) Unwrap() error { return e.err }

// Plain marks err as explained already: the engine passes it on as it is (still
// redacted), instead of wrapping it as a failed AWS call.
func Plain(err error) error {
	if err == nil {
		return nil
	}
	return plainError{err}
}

// redactedError shows a message with the secret hidden and keeps the error underneath
// for errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Run carries out changes: each one after the steps it Needs (by default every step
// before it), at most Options.Parallel at once. At the first error no further step
// starts; the steps under way finish, and the first error in plan order is returned.
// Running the same deploy again resumes: every kind finds its resource again.
func Run(ctx context.Context, changes []Change, opt Options) error {
	r, err := newRunner(changes, opt)
	if err != nil {
		return err
	}
	err = r.run(ctx, changes)
	if err == nil {
		return nil
	}
	var final Final
	if opt.Operation != "" && !errors.As(err, &final) {
		err = fmt.Errorf("%w\n(the %s stopped part-way; run it again to finish: every step is found again and none is repeated)", err, opt.Operation)
	}
	return err
}

type runner struct {
	kinds    map[Action]Kind
	progress io.Writer
	secret   string
	sem      chan struct{}
	deps     [][]int
}

func newRunner(changes []Change, opt Options) (*runner, error) {
	r := &runner{kinds: map[Action]Kind{}, secret: opt.Secret}
	for _, k := range opt.Kinds {
		for _, a := range k.Actions() {
			if _, dup := r.kinds[a]; dup {
				return nil, fmt.Errorf("internal: two kinds carry out %s", a)
			}
			r.kinds[a] = k
		}
	}
	// Check the whole plan before the first call: nothing is half-done by a bad plan.
	ids := map[string]int{}
	for i, ch := range changes {
		if r.kinds[ch.Action] == nil {
			return nil, fmt.Errorf("internal: no kind carries out %s", ch.Action)
		}
		var deps []int
		if ch.Needs == nil {
			for j := range i {
				deps = append(deps, j)
			}
		}
		for _, id := range ch.Needs {
			j, ok := ids[id]
			if !ok {
				return nil, fmt.Errorf("internal: step %d (%s) needs %q, which no earlier step is", i, ch.Action, id)
			}
			deps = append(deps, j)
		}
		r.deps = append(r.deps, deps)
		if ch.ID != "" {
			ids[ch.ID] = i
		}
	}
	parallel := opt.Parallel
	if parallel <= 0 {
		parallel = 4
	}
	r.sem = make(chan struct{}, parallel)
	progress := opt.Progress
	if progress == nil {
		progress = io.Discard
	}
	r.progress = Redacting(progress, opt.Secret)
	return r, nil
}

// step states, written before the step's done channel closes.
const (
	pending = iota
	succeeded
	failedStep
	skipped
)

func (r *runner) run(ctx context.Context, changes []Change) error {
	n := len(changes)
	done := make([]chan struct{}, n)
	for i := range done {
		done[i] = make(chan struct{})
	}
	state := make([]int, n)
	errs := make([]error, n)
	var mu sync.Mutex
	stop := false
	var wg sync.WaitGroup
	for i := range changes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[i])
			state[i] = skipped
			for _, d := range r.deps[i] {
				<-done[d]
				if state[d] != succeeded {
					return
				}
			}
			r.sem <- struct{}{}
			defer func() { <-r.sem }()
			mu.Lock()
			halted := stop
			mu.Unlock()
			if halted {
				return
			}
			if errs[i] = r.step(ctx, changes[i]); errs[i] != nil {
				state[i] = failedStep
				mu.Lock()
				stop = true
				mu.Unlock()
				return
			}
			state[i] = succeeded
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// step carries out one change with its kind.
func (r *runner) step(ctx context.Context, ch Change) error {
	k := r.kinds[ch.Action]
	fmt.Fprintln(r.progress, ch.String())
	var err error
	switch Verb(ch.Verb()) {
	case Delete:
		if err = k.Delete(ctx, ch); awsapi.IsNotFound(err) {
			err = nil // already gone: an earlier attempt, or someone else, deleted it
		}
	case Create:
		err = r.mutate(ctx, k, ch, true, k.Create)
	default:
		err = r.mutate(ctx, k, ch, false, k.Update)
	}
	return r.explain(ch, err)
}

// mutate runs a create or update between the kind's gate and its wait; a create adopts
// what an earlier attempt created.
func (r *runner) mutate(ctx context.Context, k Kind, ch Change, create bool, call func(context.Context, Change) error) error {
	if g, ok := k.(Gate); ok {
		if err := g.Ready(ctx, ch); err != nil {
			return err
		}
	}
	err := call(ctx, ch)
	if a, ok := k.(Adopter); ok && create && err != nil && a.AlreadyExists(err) {
		err = a.Adopt(ctx, ch)
	}
	if err != nil {
		return err
	}
	if w, ok := k.(Waiter); ok {
		return w.Wait(ctx, ch)
	}
	return nil
}

// explain words a failed step for a person: what was being done, AWS's reason, what to
// do; with the secret hidden.
func (r *runner) explain(ch Change, err error) error {
	if err == nil {
		return nil
	}
	var plain plainError
	var final Final
	if !errors.As(err, &plain) && !errors.As(err, &final) {
		what := fmt.Sprintf("%s %s (%s) %s", ch.Verb(), ch.Resource, ch.Action, ch.Name)
		err = awsapi.Explain(what, err)
	}
	if errors.As(err, &final) {
		return err // already redacted by its maker, and kept whole for errors.As
	}
	return &redactedError{msg: Redact(err.Error(), r.secret), err: err}
}

// redactingWriter hides the secret in every write and serialises parallel steps' lines.
type redactingWriter struct {
	mu     sync.Mutex
	w      io.Writer
	secret string
}

func (w *redactingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.secret == "" {
		return w.w.Write(p)
	}
	if _, err := io.WriteString(w.w, Redact(string(p), w.secret)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Redacting is w with secret hidden in every write, safe for parallel steps. Kinds write
// their own progress lines through it.
func Redacting(w io.Writer, secret string) io.Writer {
	if rw, ok := w.(*redactingWriter); ok && rw.secret == secret {
		return rw
	}
	return &redactingWriter{w: w, secret: secret}
}
