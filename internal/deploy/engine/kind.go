package engine

import (
	"context"
	"fmt"
)

// Kind carries out the changes of one type of resource. A kind's file also holds its
// find (returning ErrNotFound when the resource is absent), its desired state (pure) and
// its diff (pure: found vs desired -> Changes with this kind's Actions); those are typed
// per kind, so they are plain functions, not methods of this interface.
//
// The engine calls Create, Update or Delete by the change's Verb. It does the rest:
// gates (Gate), adoption (Adopter), waits (Waiter), ignoring "not found" on Delete,
// explaining errors, redaction and progress.
type Kind interface {
	// Actions are the plan actions this kind carries out (each action has one kind).
	Actions() []Action
	Create(ctx context.Context, ch Change) error
	Update(ctx context.Context, ch Change) error
	Delete(ctx context.Context, ch Change) error
}

// Adopter is a kind whose Create may find the resource already there (an earlier attempt
// got through before it was killed): AlreadyExists recognises that error, and Adopt takes
// the existing resource over (reads its id, or updates it in place).
type Adopter interface {
	AlreadyExists(err error) bool
	Adopt(ctx context.Context, ch Change) error
}

// Waiter is a kind that is not usable at once after Create or Update (a function still
// Pending, a bucket not yet visible): Wait returns once it is.
type Waiter interface {
	Wait(ctx context.Context, ch Change) error
}

// Gate is a kind with something to await or check before Create or Update: Ready
// returns once the change may be made (an earlier update of the function has settled; a
// new version answers its health check before the alias moves to it).
type Gate interface {
	Ready(ctx context.Context, ch Change) error
}

// Unsupported is embedded by kinds that lack a verb.
type Unsupported struct{}

func (Unsupported) Create(_ context.Context, ch Change) error { return unsupported(ch) }
func (Unsupported) Update(_ context.Context, ch Change) error { return unsupported(ch) }
func (Unsupported) Delete(_ context.Context, ch Change) error { return unsupported(ch) }

func unsupported(ch Change) error {
	return Plain(fmt.Errorf("internal: %s cannot %s (%s)", ch.Resource, ch.Verb(), ch.Action))
}

// Func is a kind made of functions, for one-call changes (tags, retention...): each nil
// function is an unsupported verb.
type Func struct {
	Acts               []Action
	OnCreate, OnUpdate func(ctx context.Context, ch Change) error
	OnDelete           func(ctx context.Context, ch Change) error
}

func (f Func) Actions() []Action                           { return f.Acts }
func (f Func) Create(ctx context.Context, ch Change) error { return call(f.OnCreate, ctx, ch) }
func (f Func) Update(ctx context.Context, ch Change) error { return call(f.OnUpdate, ctx, ch) }
func (f Func) Delete(ctx context.Context, ch Change) error { return call(f.OnDelete, ctx, ch) }

func call(fn func(context.Context, Change) error, ctx context.Context, ch Change) error {
	if fn == nil {
		return unsupported(ch)
	}
	return fn(ctx, ch)
}
