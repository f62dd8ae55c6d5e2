package transformer

import (
	"context"
	"errors"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// The API's routes: exactly the two secret-prefixed ones (RouteKeys), to the integration.
// A route key holds the secret: plan lines show it redacted, the key is in Target.

// routes plans the two routes and returns the deletions of the others.
func (p *apiPlan) routes() (deletes []Change) {
	o, d := p.o, p.d
	wantTarget := "integrations/" + p.integrationID
	seen := map[string]bool{}
	for _, key := range RouteKeys(d.Secret) {
		shown := redact(key, d.Secret)
		var found *Route
		for i := range o.Routes {
			if o.Routes[i].Key == key && !seen[o.Routes[i].ID] {
				found = &o.Routes[i]
				break
			}
		}
		if found == nil {
			p.add(Change{Action: CreateRoute, Resource: "API route", Name: shown, Reason: "missing", Target: key, API: p.apiID})
			continue
		}
		seen[found.ID] = true
		if p.integrationID == "" || found.Target != wantTarget {
			p.add(Change{Action: UpdateRoute, Resource: "API route", Name: shown, Reason: "target differs", Target: found.ID, API: p.apiID})
		}
	}
	for _, r := range o.Routes {
		if !seen[r.ID] {
			deletes = append(deletes, Change{Action: DeleteRoute, Resource: "API route", Name: redact(r.Key, d.Secret), Reason: "not a stack route", Target: r.ID, API: p.apiID})
		}
	}
	return deletes
}

// routeKind creates a route (key in Target), points one (id in Target) at the
// integration, and deletes routes.
type routeKind struct{ *run }

func (k routeKind) Actions() []engine.Action {
	return []engine.Action{CreateRoute, UpdateRoute, DeleteRoute}
}

func (k routeKind) Create(ctx context.Context, ch Change) error {
	return k.c.APIGateway().CreateRoute(ctx, k.apiID(ch), ch.Target, "integrations/"+k.l.IntegrationID)
}

func (k routeKind) AlreadyExists(err error) bool { return errors.Is(err, awsapi.ErrAlreadyExists) }

func (k routeKind) Adopt(context.Context, Change) error { return nil }

func (k routeKind) Update(ctx context.Context, ch Change) error {
	return k.c.APIGateway().UpdateRoute(ctx, k.apiID(ch), ch.Target, "integrations/"+k.l.IntegrationID)
}

func (k routeKind) Delete(ctx context.Context, ch Change) error {
	return k.c.APIGateway().DeleteRoute(ctx, k.apiID(ch), ch.Target)
}

// findRoutes lists the routes of API id.
func findRoutes(ctx context.Context, c *awsapi.Session, id string) ([]Route, error) {
	found, err := c.APIGateway().Routes(ctx, id)
	if err != nil {
		return nil, awsapi.Explain("list the routes of API "+id, err)
	}
	var rs []Route
	for _, r := range found {
		rs = append(rs, Route{ID: r.ID, Key: r.Key, Target: r.Target})
	}
	return rs, nil
}
