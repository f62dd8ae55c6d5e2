package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

// recorder is a kind that records the calls the engine makes to it, in order.
type recorder struct {
	mu      sync.Mutex
	calls   []string
	acts    []Action
	fail    map[string]error // call "verb name" -> error
	running int
	peak    int
	gate    chan struct{} // when set, Create blocks on it (to see steps run at once)
}

func (r *recorder) Actions() []Action { return r.acts }

func (r *recorder) do(verb string, ch Change) error {
	r.mu.Lock()
	r.calls = append(r.calls, verb+" "+ch.Name)
	r.running++
	r.peak = max(r.peak, r.running)
	err := r.fail[verb+" "+ch.Name]
	gate := r.gate
	r.mu.Unlock()
	if gate != nil && verb == "create" {
		<-gate
	}
	r.mu.Lock()
	r.running--
	r.mu.Unlock()
	return err
}

func (r *recorder) Create(_ context.Context, ch Change) error { return r.do("create", ch) }
func (r *recorder) Update(_ context.Context, ch Change) error { return r.do("update", ch) }
func (r *recorder) Delete(_ context.Context, ch Change) error { return r.do("delete", ch) }
func (r *recorder) AlreadyExists(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "AlreadyExists"
}
func (r *recorder) Adopt(_ context.Context, ch Change) error { return r.do("adopt", ch) }
func (r *recorder) Wait(_ context.Context, ch Change) error  { return r.do("wait", ch) }

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " says AWS"}
}

func TestRunOrderAdoptNotFoundAndWait(t *testing.T) {
	k := &recorder{acts: []Action{"CreateThing", "UpdateThing", "DeleteThing"}, fail: map[string]error{
		"create b": apiErr("AlreadyExists"),
		"delete c": apiErr("ResourceNotFoundException"),
	}}
	changes := []Change{
		{Action: "CreateThing", Resource: "thing", Name: "a"},
		{Action: "CreateThing", Resource: "thing", Name: "b"},
		{Action: "UpdateThing", Resource: "thing", Name: "a"},
		{Action: "DeleteThing", Resource: "thing", Name: "c"},
	}
	var progress bytes.Buffer
	if err := Run(context.Background(), changes, Options{Kinds: []Kind{k}, Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	want := "create a|wait a|create b|adopt b|wait b|update a|wait a|delete c"
	if got := strings.Join(k.calls, "|"); got != want {
		t.Errorf("calls\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(progress.String(), "- thing c: DeleteThing\n") {
		t.Errorf("no progress line for the delete:\n%s", progress.String())
	}
}

func TestRunStopsAtFirstErrorExplainedRedactedWithHint(t *testing.T) {
	const secret = "s3cr3tS3cr3tS3cr3tS3cr3t"
	k := &recorder{acts: []Action{"CreateThing"}, fail: map[string]error{"create /" + secret: apiErr("Throttling")}}
	changes := []Change{
		{Action: "CreateThing", Resource: "thing", Name: "/" + secret},
		{Action: "CreateThing", Resource: "thing", Name: "after"},
	}
	var progress bytes.Buffer
	err := Run(context.Background(), changes, Options{Kinds: []Kind{k}, Progress: &progress, Secret: secret, Operation: "deploy"})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"could not create thing (CreateThing) /<secret>", "Throttling", "run it again to finish"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg+progress.String(), secret) {
		t.Errorf("the secret was shown: %s\n%s", msg, progress.String())
	}
	if len(k.calls) != 1 {
		t.Errorf("a step ran after the failed one: %v", k.calls)
	}
}

type finalErr struct{}

func (finalErr) Error() string { return "health check failed" }
func (finalErr) Final()        {}

func TestRunFinalAndPlainErrorsPassAsTheyAre(t *testing.T) {
	k := &recorder{acts: []Action{"CreateThing"}, fail: map[string]error{"create f": finalErr{}, "create p": Plain(errors.New("zip unreadable"))}}
	err := Run(context.Background(), []Change{{Action: "CreateThing", Name: "f"}}, Options{Kinds: []Kind{k}, Operation: "deploy"})
	var fe finalErr
	if !errors.As(err, &fe) || err.Error() != "health check failed" {
		t.Errorf("final error changed: %v", err)
	}
	err = Run(context.Background(), []Change{{Action: "CreateThing", Name: "p"}}, Options{Kinds: []Kind{k}})
	if err == nil || err.Error() != "zip unreadable" {
		t.Errorf("plain error changed: %v", err)
	}
}

// TestRunIndependentStepsAtOnce: N steps that need only the first run together (the
// gate opens only once all N are inside Create), and the step after them waits for all.
func TestRunIndependentStepsAtOnce(t *testing.T) {
	const n = 3
	k := &recorder{acts: []Action{"CreateDB"}}
	base := &recorder{acts: []Action{"CreateNet", "CreateApp"}}
	changes := []Change{{Action: "CreateNet", Name: "net", ID: "net"}}
	var ids []string
	for i := range n {
		id := fmt.Sprintf("db%d", i)
		ids = append(ids, id)
		changes = append(changes, Change{Action: "CreateDB", Name: id, ID: id, Needs: []string{"net"}})
	}
	changes = append(changes, Change{Action: "CreateApp", Name: "app", Needs: ids})
	k.gate = make(chan struct{})
	go func() {
		// Open the gate once all n are inside Create; should they run one by one, open it
		// after a while anyway, so the test fails on the peak instead of hanging.
		giveUp := time.After(30 * time.Second)
		for {
			k.mu.Lock()
			r := k.running
			k.mu.Unlock()
			select {
			case <-giveUp:
				close(k.gate)
				return
			default:
			}
			if r == n {
				close(k.gate)
				return
			}
			runtime.Gosched()
		}
	}()
	if err := Run(context.Background(), changes, Options{Kinds: []Kind{k, base}, Parallel: n}); err != nil {
		t.Fatal(err)
	}
	if k.peak != n {
		t.Errorf("%d steps ran at once, want %d", k.peak, n)
	}
	if got := strings.Join(base.calls, "|"); got != "create net|wait net|create app|wait app" {
		t.Errorf("base calls %s", got)
	}
}

func TestRunRefusesABadPlanBeforeAnyCall(t *testing.T) {
	k := &recorder{acts: []Action{"CreateThing"}}
	for _, changes := range [][]Change{
		{{Action: "CreateThing", Name: "a"}, {Action: "Unknown", Name: "b"}},
		{{Action: "CreateThing", Name: "a", Needs: []string{"later"}}, {Action: "CreateThing", Name: "b", ID: "later"}},
	} {
		if err := Run(context.Background(), changes, Options{Kinds: []Kind{k}}); err == nil || !strings.Contains(err.Error(), "internal") {
			t.Errorf("bad plan: %v", err)
		}
	}
	if len(k.calls) != 0 {
		t.Errorf("calls made for a bad plan: %v", k.calls)
	}
}
