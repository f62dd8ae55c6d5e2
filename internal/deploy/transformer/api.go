package transformer

import (
	"context"
	"fmt"
	"github.com/rudderctl/rudderctl/internal/awsapi"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	atypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

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
	out, err := k.c.APIGateway.CreateApi(ctx, &apigatewayv2.CreateApiInput{
		Name:         aws.String(k.d.API),
		ProtocolType: atypes.ProtocolTypeHttp,
		Description:  aws.String("rudderctl: RudderStack transformer of stack " + k.d.Stack),
		Tags:         k.d.Tags(),
	})
	if err == nil {
		k.l.APIID, k.l.APIEndpoint = aws.ToString(out.ApiId), aws.ToString(out.ApiEndpoint)
	}
	return err
}

func (k apiKind) Delete(ctx context.Context, ch Change) error {
	_, err := k.c.APIGateway.DeleteApi(ctx, &apigatewayv2.DeleteApiInput{ApiId: aws.String(ch.Target)})
	return err
}

// findAPIs lists the HTTP APIs with the stack tag and the API name, oldest first.
func findAPIs(ctx context.Context, c *awsapi.Clients, n Names) ([]API, error) {
	var apis []API
	var token *string
	for {
		out, err := c.APIGateway.GetApis(ctx, &apigatewayv2.GetApisInput{NextToken: token})
		if err != nil {
			return nil, awsapi.Explain("list HTTP APIs", err)
		}
		for _, a := range out.Items {
			if a.Tags[TagKey] != n.Stack || aws.ToString(a.Name) != n.API {
				continue
			}
			apis = append(apis, API{ID: aws.ToString(a.ApiId), Endpoint: aws.ToString(a.ApiEndpoint), Created: aws.ToTime(a.CreatedDate)})
		}
		if out.NextToken == nil || aws.ToString(out.NextToken) == "" {
			break
		}
		token = out.NextToken
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
