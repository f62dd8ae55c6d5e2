package lambdalocal

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPoolScalesOut(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	pool, err := NewPool(context.Background(), Function{TaskRoot: taskRoot(t), Runtime: "nodejs22.x", Timeout: 10 * time.Second}, Options{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// Warm the first environment so the timing below is about concurrency, not start-up.
	if _, err := pool.Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t0 := time.Now()
	errs := make(chan string, 3)
	for n := 0; n < 3; n++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := pool.Invoke(context.Background(), []byte(`{"action":"sleep","ms":1500}`))
			if err != nil || res.FunctionError != "" {
				errs <- err.Error() + res.FunctionError
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if took := time.Since(t0); took > 4*time.Second {
		t.Errorf("3 concurrent 1.5 s invocations on 3 environments took %v", took)
	}
	if pool.Size() != 3 {
		t.Errorf("pool size %d, want 3", pool.Size())
	}
}

func TestWaitingForABusyEnvironmentHonoursCtx(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	pool, err := NewPool(context.Background(), Function{TaskRoot: taskRoot(t), Runtime: "nodejs22.x", Timeout: 10 * time.Second}, Options{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	first := invoke(t, mustFirst(pool), `{"action":"started"}`)
	done := make(chan Result, 1)
	go func() {
		res, _ := pool.Invoke(context.Background(), []byte(`{"action":"sleep","ms":1500}`))
		done <- res
	}()
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := pool.Invoke(ctx, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "busy") {
		t.Errorf("waiting invocation: err = %v, want a busy error", err)
	}
	if res := <-done; res.FunctionError != "" {
		t.Errorf("the running invocation was harmed: %+v %s", res, res.Payload)
	}
	again, err := pool.Invoke(context.Background(), []byte(`{"action":"started"}`))
	if err != nil || string(again.Payload) != string(first.Payload) {
		t.Errorf("the environment did not stay warm: %v %s vs %s", err, again.Payload, first.Payload)
	}
}

func TestCloseDuringInvoke(t *testing.T) {
	inst, _ := start(t, Function{TaskRoot: taskRoot(t), Runtime: "nodejs22.x", Timeout: 20 * time.Second})
	invoke(t, inst, `{}`)
	go func() { time.Sleep(300 * time.Millisecond); inst.Close() }()
	t0 := time.Now()
	if _, err := inst.Invoke(context.Background(), []byte(`{"action":"sleep","ms":10000}`)); err == nil {
		t.Errorf("an invocation cut by Close returned no error")
	}
	if took := time.Since(t0); took > 5*time.Second {
		t.Errorf("Close waited %v for the invocation", took)
	}
}

func mustFirst(p *Pool) *Instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.all[0]
}
