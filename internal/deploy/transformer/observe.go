package transformer

import (
	"context"
	"errors"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// Observe reads what exists for the stack, with read-only calls only.
func Observe(ctx context.Context, c *awsapi.Session, n Names) (*Observed, error) {
	o := &Observed{}
	acct, err := c.AccountID(ctx)
	if err != nil {
		return nil, err
	}
	o.Account = acct
	if o.Role, err = kinds.ObserveRole(ctx, c, n.Role, n.Stack, PolicyName); err != nil {
		return nil, err
	}
	if o.Logs, err = kinds.ObserveLogGroup(ctx, c, n.LogGroup, n.Stack); err != nil {
		return nil, err
	}
	if err := observeFunction(ctx, c, n, o); err != nil {
		return nil, err
	}
	if err := observeAPI(ctx, c, n, o); err != nil {
		return nil, err
	}
	if o.Bucket, err = kinds.ObserveBucket(ctx, c, BucketName(n.Stack, o.Account, c.Region), n.Stack); err != nil {
		return nil, err
	}
	return o, nil
}

// tagState reads a resource's stack tag (stack.TagState).
func tagState(tags map[string]string, stackName string) (ours bool, other string) {
	return stack.TagState(tags, stackName)
}

// observeFunction reads the function, and when it is ours its versions, alias live and
// the permission on it (each in its kind's file).
func observeFunction(ctx context.Context, c *awsapi.Session, n Names, o *Observed) error {
	f, err := findFunction(ctx, c, n)
	if f == nil || err != nil {
		return skipNotFound(err)
	}
	o.Func = f
	if f.OtherStack != "" {
		return nil // not ours: look no further
	}
	if o.Versions, err = findVersions(ctx, c, n); err != nil {
		return err
	}
	if o.Alias, err = findAlias(ctx, c, n); o.Alias == nil || err != nil {
		return skipNotFound(err)
	}
	o.Permission, err = findPermission(ctx, c, n)
	return skipNotFound(err)
}

// skipNotFound is nil for engine.ErrNotFound: a resource that is absent is no error.
func skipNotFound(err error) error {
	if errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	return err
}

// observeAPI reads the stack's APIs (oldest first) and the first one's integrations,
// routes and stages (each in its kind's file).
func observeAPI(ctx context.Context, c *awsapi.Session, n Names, o *Observed) error {
	var err error
	if o.APIs, err = findAPIs(ctx, c, n); err != nil || len(o.APIs) == 0 {
		return err
	}
	id := o.APIs[0].ID
	if o.Integrations, err = findIntegrations(ctx, c, id); err != nil {
		return err
	}
	if o.Routes, err = findRoutes(ctx, c, id); err != nil {
		return err
	}
	o.Stages, err = findStages(ctx, c, id)
	return err
}
