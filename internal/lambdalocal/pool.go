package lambdalocal

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Pool runs a function with up to Max execution environments, as Lambda scales a function
// out under concurrent invocations: an invocation takes an idle environment, else starts a new
// one while under Max, else waits (for ctx) for one to be free. Environments stay warm.
type Pool struct {
	f   Function
	o   Options
	max int

	idle  chan *Instance
	slots chan struct{} // one token per environment that exists or is starting

	mu     sync.Mutex
	all    []*Instance
	closed bool
}

// NewPool starts the first environment (so configuration errors show now) and allows up to max
// (at least 1).
func NewPool(ctx context.Context, f Function, o Options, max int) (*Pool, error) {
	if max < 1 {
		max = 1
	}
	if o.RIE == "" {
		rie, err := ResolveRIE(ctx)
		if err != nil {
			return nil, err
		}
		o.RIE = rie
	}
	p := &Pool{f: f, o: o, max: max, idle: make(chan *Instance, max), slots: make(chan struct{}, max)}
	p.slots <- struct{}{}
	inst, err := Start(ctx, f, o)
	if err != nil {
		return nil, err
	}
	p.all = append(p.all, inst)
	p.idle <- inst
	return p, nil
}

// ErrPoolClosed is returned by Invoke after Close.
var ErrPoolClosed = errors.New("lambdalocal: the function's environments are closed")

// Invoke runs one event in a free environment; see Instance.Invoke. Waiting for a free
// environment ends with ctx (err is then ctx's error and no environment is harmed).
func (p *Pool) Invoke(ctx context.Context, payload []byte) (Result, error) {
	if len(payload) > MaxPayload {
		return Result{}, ErrRequestTooLarge
	}
	inst, err := p.take(ctx)
	if err != nil {
		return Result{}, err
	}
	res, err := inst.Invoke(ctx, payload)
	p.put(inst)
	return res, err
}

func (p *Pool) take(ctx context.Context) (*Instance, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrPoolClosed
	}
	// An idle environment first, without starting anything.
	select {
	case inst := <-p.idle:
		return inst, nil
	default:
	}
	select {
	case inst := <-p.idle:
		return inst, nil
	case p.slots <- struct{}{}:
		inst, err := Start(ctx, p.f, p.o)
		if err != nil {
			<-p.slots
			return nil, fmt.Errorf("starting another execution environment: %w", err)
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			inst.Close()
			return nil, ErrPoolClosed
		}
		p.all = append(p.all, inst)
		p.mu.Unlock()
		return inst, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a free execution environment (all %d busy): %w", p.max, ctx.Err())
	}
}

func (p *Pool) put(inst *Instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.idle <- inst // never blocks: at most max instances exist
}

// Size is the number of environments started so far.
func (p *Pool) Size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.all)
}

// Close stops every environment; invocations in flight end with an error.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	all := p.all
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, inst := range all {
		wg.Add(1)
		go func() { defer wg.Done(); inst.Close() }()
	}
	wg.Wait()
	return nil
}
