package transformer

import (
	"context"
	"errors"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// Alias live: the version API Gateway serves. It moves only to a version that answered
// its health check (smoke.go). Found by observeFunction.

// planAlias plans alias live: created when missing, moved to the new version (publish)
// or back to the newest when it points elsewhere.
func planAlias(o *Observed, d *Desired, publish bool) []Change {
	name := d.Function + ":" + AliasName
	switch latest := latestVersion(o); {
	case o.Alias == nil:
		return []Change{{Action: CreateAlias, Resource: "Lambda alias", Name: name, Reason: "missing"}}
	case publish:
		return []Change{{Action: UpdateAlias, Resource: "Lambda alias", Name: name, Reason: "to the new version"}}
	case o.Alias.Version != latest.Number:
		return []Change{{Action: UpdateAlias, Resource: "Lambda alias", Name: name, Reason: "version " + o.Alias.Version + " -> " + latest.Number}}
	}
	return nil
}

// aliasKind points alias live at the version just published (r.l.Version).
type aliasKind struct{ *run }

func (k aliasKind) Actions() []engine.Action {
	return []engine.Action{CreateAlias, UpdateAlias, DeleteAlias}
}

// Ready: no version becomes live without answering its health check first.
func (k aliasKind) Ready(ctx context.Context, _ Change) error {
	live := ""
	if k.o.Alias != nil {
		live = k.o.Alias.Version
	}
	return k.smoke(ctx, live)
}

func (k aliasKind) Create(ctx context.Context, _ Change) error {
	al, err := k.c.Lambda().CreateAlias(ctx, k.d.Function, AliasName, k.l.Version, "the version API Gateway serves")
	if err == nil {
		k.l.AliasARN = al.ARN
	}
	return err
}

func (k aliasKind) AlreadyExists(err error) bool {
	return errors.Is(err, awsapi.ErrAlreadyExists)
}

// Adopt moves the alias an earlier attempt created.
func (k aliasKind) Adopt(ctx context.Context, ch Change) error { return k.Update(ctx, ch) }

func (k aliasKind) Update(ctx context.Context, _ Change) error {
	al, err := k.c.Lambda().UpdateAlias(ctx, k.d.Function, AliasName, k.l.Version)
	if err == nil {
		k.l.AliasARN = al.ARN
	}
	return err
}

func (k aliasKind) Delete(ctx context.Context, _ Change) error {
	return k.c.Lambda().DeleteAlias(ctx, k.d.Function, AliasName)
}

// findAlias reads alias live.
func findAlias(ctx context.Context, c *awsapi.Session, n Names) (*Alias, error) {
	al, err := c.Lambda().FindAlias(ctx, n.Function, AliasName)
	if errors.Is(err, awsapi.ErrNotFound) {
		return nil, engine.ErrNotFound
	}
	if err != nil {
		return nil, awsapi.Explain("read alias "+AliasName+" of "+n.Function, err)
	}
	return &Alias{Version: al.Version, ARN: al.ARN}, nil
}
