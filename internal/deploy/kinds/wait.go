package kinds

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// RetryWhile calls fn until it returns something else than an error matching busy, for up
// to WaitFor (a dependent object still going away: an ALB's interfaces, a service's
// tasks).
func RetryWhile(ctx context.Context, busy func(error) bool, fn func() error) error {
	deadline := time.Now().Add(WaitFor)
	for wait := WaitMin; ; wait = min(wait*2, WaitMax) {
		err := fn()
		if err == nil || !busy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return engine.Plain(ctx.Err())
		}
	}
}

// IsConflict: a delete refused while something still uses the resource.
func IsConflict(err error) bool { return errors.Is(err, awsapi.ErrConflict) }

// WaitGone polls find until it answers awsapi.ErrNotFound, for up to WaitFor.
func WaitGone(ctx context.Context, find func() error) error {
	deadline := time.Now().Add(WaitFor)
	for wait := WaitMin; ; wait = min(wait*2, WaitMax) {
		err := find()
		switch {
		case errors.Is(err, awsapi.ErrNotFound):
			return nil
		case err != nil:
			return err
		case time.Now().After(deadline):
			return engine.Plain(fmt.Errorf("still there after %s", WaitFor))
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return engine.Plain(ctx.Err())
		}
	}
}

// IDs are the ids one apply's steps fill in for the steps after them (a security group's
// id by its part); safe for steps that run in parallel.
type IDs struct {
	mu sync.Mutex
	m  map[string]string
}

// NewIDs starts from the ids found.
func NewIDs(found map[string]string) *IDs {
	ids := &IDs{m: map[string]string{}}
	for k, v := range found {
		ids.m[k] = v
	}
	return ids
}

func (ids *IDs) Get(key string) string {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	return ids.m[key]
}

func (ids *IDs) Set(key, id string) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	ids.m[key] = id
}
