package transformer

import (
	"context"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// The API's integration: one AWS_PROXY to alias live, payload 2.0. Others are deleted.

func (p *apiPlan) integration() {
	o, d := p.o, p.d
	for _, in := range o.Integrations {
		if in.Type == "AWS_PROXY" && in.URI == p.aliasARN && p.aliasARN != "" && in.PayloadFormatVersion == "2.0" {
			p.integrationID = in.ID
			break
		}
	}
	name := d.API + " -> " + AliasName
	if p.integrationID == "" {
		if len(o.Integrations) > 0 && p.apiID != "" {
			p.integrationID = o.Integrations[0].ID
			p.add(Change{Action: UpdateIntegration, Resource: "API integration", Name: name, Reason: "target differs", Target: p.integrationID, API: p.apiID})
		} else {
			p.add(Change{Action: CreateIntegration, Resource: "API integration", Name: name, Reason: "missing", API: p.apiID})
		}
	}
	for _, in := range o.Integrations {
		if in.ID != p.integrationID {
			p.later = append(p.later, Change{Action: DeleteIntegration, Resource: "API integration", Name: in.ID, Reason: "not used", Target: in.ID, API: p.apiID})
		}
	}
}

// integrationKind creates the integration to alias live, points one back at it, and
// deletes integrations (the change's Target).
type integrationKind struct{ *run }

func (k integrationKind) Actions() []engine.Action {
	return []engine.Action{CreateIntegration, UpdateIntegration, DeleteIntegration}
}

func (k integrationKind) Create(ctx context.Context, ch Change) error {
	id, err := k.c.APIGateway().CreateLambdaIntegration(ctx, k.apiID(ch), k.l.AliasARN)
	if err == nil {
		k.l.IntegrationID = id
	}
	return err
}

func (k integrationKind) Update(ctx context.Context, ch Change) error {
	err := k.c.APIGateway().UpdateLambdaIntegration(ctx, k.apiID(ch), ch.Target, k.l.AliasARN)
	if err == nil {
		k.l.IntegrationID = ch.Target
	}
	return err
}

func (k integrationKind) Delete(ctx context.Context, ch Change) error {
	return k.c.APIGateway().DeleteIntegration(ctx, k.apiID(ch), ch.Target)
}

// findIntegrations lists the integrations of API id.
func findIntegrations(ctx context.Context, c *awsapi.Session, id string) ([]Integration, error) {
	found, err := c.APIGateway().Integrations(ctx, id)
	if err != nil {
		return nil, awsapi.Explain("list the integrations of API "+id, err)
	}
	var ins []Integration
	for _, in := range found {
		ins = append(ins, Integration{ID: in.ID, Type: in.Type, URI: in.URI, PayloadFormatVersion: in.PayloadFormatVersion})
	}
	return ins, nil
}
