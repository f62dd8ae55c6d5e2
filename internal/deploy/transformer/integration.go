package transformer

import (
	"context"
	"github.com/rudderctl/rudderctl/internal/awsapi"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	atypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

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
	out, err := k.c.APIGateway.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId:                k.apiID(ch),
		IntegrationType:      atypes.IntegrationTypeAwsProxy,
		IntegrationUri:       aws.String(k.l.AliasARN),
		IntegrationMethod:    aws.String("POST"),
		PayloadFormatVersion: aws.String("2.0"),
		TimeoutInMillis:      aws.Int32(30000),
	})
	if err == nil {
		k.l.IntegrationID = aws.ToString(out.IntegrationId)
	}
	return err
}

func (k integrationKind) Update(ctx context.Context, ch Change) error {
	_, err := k.c.APIGateway.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{
		ApiId:                k.apiID(ch),
		IntegrationId:        aws.String(ch.Target),
		IntegrationType:      atypes.IntegrationTypeAwsProxy,
		IntegrationUri:       aws.String(k.l.AliasARN),
		IntegrationMethod:    aws.String("POST"),
		PayloadFormatVersion: aws.String("2.0"),
	})
	if err == nil {
		k.l.IntegrationID = ch.Target
	}
	return err
}

func (k integrationKind) Delete(ctx context.Context, ch Change) error {
	_, err := k.c.APIGateway.DeleteIntegration(ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: k.apiID(ch), IntegrationId: aws.String(ch.Target)})
	return err
}

// findIntegrations lists the integrations of API id.
func findIntegrations(ctx context.Context, c *awsapi.Clients, id string) ([]Integration, error) {
	var ins []Integration
	var token *string
	for {
		out, err := c.APIGateway.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(id), NextToken: token})
		if err != nil {
			return nil, awsapi.Explain("list the integrations of API "+id, err)
		}
		for _, in := range out.Items {
			ins = append(ins, Integration{ID: aws.ToString(in.IntegrationId), Type: string(in.IntegrationType), URI: aws.ToString(in.IntegrationUri), PayloadFormatVersion: aws.ToString(in.PayloadFormatVersion)})
		}
		if aws.ToString(out.NextToken) == "" {
			return ins, nil
		}
		token = out.NextToken
	}
}
