package transformer

import (
	"context"
	"fmt"
	"sort"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// The HTTP API: found by its tag and name (observeAPI); the oldest one wins, the others
// are leftovers of an interrupted deploy and are deleted.

// apiPlan is the plan of the HTTP API and what hangs on it (integration.go, route.go,
// stage.go, permission.go): now in order, later the deletions that come last.
type apiPlan struct {
	o                              *Observed
	d                              *Desired
	apiID, aliasARN, integrationID string
	now, later                     []Change
}

func (p *apiPlan) add(c Change) { p.now = append(p.now, c) }

// planAPI plans the API, its integration, routes and stage, and the permission.
func planAPI(o *Observed, d *Desired) ([]Change, error) {
	p := &apiPlan{o: o, d: d}
	if err := p.api(); err != nil {
		return nil, err
	}
	p.integration()
	p.later = append(p.routes(), p.later...)
	p.stage()
	p.permission()
	return append(p.now, p.later...), nil
}

func (p *apiPlan) api() error {
	o, d := p.o, p.d
	apis := append([]API(nil), o.APIs...)
	sortAPIs(apis)
	if len(apis) == 0 {
		p.add(Change{Action: CreateAPI, Resource: "HTTP API", Name: d.API, Reason: "missing"})
	} else {
		p.apiID = apis[0].ID
		if o.APIs[0].ID != p.apiID {
			return fmt.Errorf("internal: observed integrations belong to API %s, not the oldest API %s", o.APIs[0].ID, p.apiID)
		}
		for _, extra := range apis[1:] {
			p.later = append(p.later, Change{Action: DeleteAPI, Resource: "HTTP API", Name: d.API + " (" + extra.ID + ")", Reason: "duplicate", Target: extra.ID, API: extra.ID})
		}
	}
	if o.Func != nil {
		p.aliasARN = o.Func.ARN + ":" + AliasName
	}
	return nil
}

// apiKind creates the API and deletes APIs (the change's Target).
type apiKind struct {
	*run
	engine.Unsupported
}

func (k apiKind) Actions() []engine.Action { return []engine.Action{CreateAPI, DeleteAPI} }

func (k apiKind) Create(ctx context.Context, _ Change) error {
	api, err := k.c.APIGateway().CreateHTTPAPI(ctx, k.d.API, "rudderctl: RudderStack transformer of stack "+k.d.Stack, k.d.Tags())
	if err == nil {
		k.l.APIID, k.l.APIEndpoint = api.ID, api.Endpoint
	}
	return err
}

func (k apiKind) Delete(ctx context.Context, ch Change) error {
	return k.c.APIGateway().DeleteAPI(ctx, ch.Target)
}

// findAPIs lists the HTTP APIs with the stack tag and the API name, oldest first.
func findAPIs(ctx context.Context, c *awsapi.Session, n Names) ([]API, error) {
	found, err := c.APIGateway().FindAPIsByTag(ctx, TagKey, n.Stack, n.API)
	if err != nil {
		return nil, awsapi.Explain("list HTTP APIs", err)
	}
	var apis []API
	for _, a := range found {
		apis = append(apis, API{ID: a.ID, Endpoint: a.Endpoint, Created: a.Created})
	}
	sortAPIs(apis)
	return apis, nil
}

// sortAPIs puts the oldest first (ties by id): the one a deploy keeps.
func sortAPIs(apis []API) {
	sort.SliceStable(apis, func(i, j int) bool {
		if !apis[i].Created.Equal(apis[j].Created) {
			return apis[i].Created.Before(apis[j].Created)
		}
		return apis[i].ID < apis[j].ID
	})
}
