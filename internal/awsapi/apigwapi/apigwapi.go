// Package apigwapi is the part of API Gateway v2 (HTTP APIs) rudderctl uses: APIs found by
// tag, their Lambda proxy integrations, routes and stages. Errors are *awserr.Error
// (errors.Is(err, awserr.ErrNotFound), ErrAlreadyExists on a route or stage that exists).
//
// The SDK has no paginators for API Gateway v2: the lists page on NextToken here, in one
// place (pages).
package apigwapi

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

// Client is API Gateway v2, domain-shaped.
type Client struct {
	sdk *apigatewayv2.Client
	// PageSize is MaxResults of each list call; 0 = the service's default (sent as absent).
	PageSize int32
}

// New wraps an SDK client (awsapi.Session builds it).
func New(c *apigatewayv2.Client) *Client { return &Client{sdk: c} }

// API is one HTTP API.
type API struct {
	ID       string
	Name     string
	Endpoint string // https://ID.execute-api.REGION.amazonaws.com
	Created  time.Time
	Tags     map[string]string
}

// Integration is one integration of an API.
type Integration struct {
	ID, Type, URI, PayloadFormatVersion string
}

// Route is one route of an API.
type Route struct {
	ID, Key, Target string
}

// Stage is one stage of an API.
type Stage struct {
	Name       string
	AutoDeploy bool
}

func (c *Client) maxResults() *string {
	if c.PageSize <= 0 {
		return nil
	}
	return aws.String(strconv.Itoa(int(c.PageSize)))
}

// pages calls page with each NextToken ("" first) until a page has none.
func pages(page func(token *string) (next *string, err error)) error {
	var token *string
	for {
		next, err := page(token)
		if err != nil {
			return err
		}
		if aws.ToString(next) == "" {
			return nil
		}
		token = next
	}
}

// FindAPIsByTag are the HTTP APIs named name and tagged key=value, oldest first (ID breaks
// ties): one is the stack's, more are duplicates an interrupted run left. Every page of
// GetApis is read (the list cannot be filtered by tag).
func (c *Client) FindAPIsByTag(ctx context.Context, key, value, name string) ([]API, error) {
	var apis []API
	err := pages(func(token *string) (*string, error) {
		out, err := c.sdk.GetApis(ctx, &apigatewayv2.GetApisInput{NextToken: token, MaxResults: c.maxResults()})
		if err != nil {
			return nil, awserr.Wrap("list HTTP APIs", err, nil)
		}
		for _, a := range out.Items {
			if a.Tags[key] != value || aws.ToString(a.Name) != name {
				continue
			}
			apis = append(apis, API{ID: aws.ToString(a.ApiId), Name: aws.ToString(a.Name), Endpoint: aws.ToString(a.ApiEndpoint), Created: aws.ToTime(a.CreatedDate), Tags: a.Tags})
		}
		return out.NextToken, nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(apis, func(i, j int) bool {
		if !apis[i].Created.Equal(apis[j].Created) {
			return apis[i].Created.Before(apis[j].Created)
		}
		return apis[i].ID < apis[j].ID
	})
	return apis, nil
}

// Integrations of the API, every page.
func (c *Client) Integrations(ctx context.Context, apiID string) ([]Integration, error) {
	var list []Integration
	err := pages(func(token *string) (*string, error) {
		out, err := c.sdk.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(apiID), NextToken: token, MaxResults: c.maxResults()})
		if err != nil {
			return nil, awserr.Wrap("list the integrations of API "+apiID, err, nil)
		}
		for _, in := range out.Items {
			list = append(list, Integration{ID: aws.ToString(in.IntegrationId), Type: string(in.IntegrationType), URI: aws.ToString(in.IntegrationUri), PayloadFormatVersion: aws.ToString(in.PayloadFormatVersion)})
		}
		return out.NextToken, nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// Routes of the API, every page.
func (c *Client) Routes(ctx context.Context, apiID string) ([]Route, error) {
	var list []Route
	err := pages(func(token *string) (*string, error) {
		out, err := c.sdk.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(apiID), NextToken: token, MaxResults: c.maxResults()})
		if err != nil {
			return nil, awserr.Wrap("list the routes of API "+apiID, err, nil)
		}
		for _, r := range out.Items {
			list = append(list, Route{ID: aws.ToString(r.RouteId), Key: aws.ToString(r.RouteKey), Target: aws.ToString(r.Target)})
		}
		return out.NextToken, nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// Stages of the API, every page.
func (c *Client) Stages(ctx context.Context, apiID string) ([]Stage, error) {
	var list []Stage
	err := pages(func(token *string) (*string, error) {
		out, err := c.sdk.GetStages(ctx, &apigatewayv2.GetStagesInput{ApiId: aws.String(apiID), NextToken: token, MaxResults: c.maxResults()})
		if err != nil {
			return nil, awserr.Wrap("list the stages of API "+apiID, err, nil)
		}
		for _, s := range out.Items {
			list = append(list, Stage{Name: aws.ToString(s.StageName), AutoDeploy: aws.ToBool(s.AutoDeploy)})
		}
		return out.NextToken, nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// CreateHTTPAPI creates an HTTP API.
func (c *Client) CreateHTTPAPI(ctx context.Context, name, description string, tags map[string]string) (*API, error) {
	out, err := c.sdk.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String(name), ProtocolType: types.ProtocolTypeHttp, Description: aws.String(description), Tags: tags})
	if err != nil {
		return nil, awserr.Wrap("create HTTP API "+name, err, nil)
	}
	return &API{ID: aws.ToString(out.ApiId), Name: aws.ToString(out.Name), Endpoint: aws.ToString(out.ApiEndpoint), Created: aws.ToTime(out.CreatedDate), Tags: out.Tags}, nil
}

// CreateLambdaIntegration adds an AWS_PROXY integration (payload 2.0, 30 s) that invokes
// lambdaARN (a function or alias ARN); returns its id.
func (c *Client) CreateLambdaIntegration(ctx context.Context, apiID, lambdaARN string) (string, error) {
	out, err := c.sdk.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId:                aws.String(apiID),
		IntegrationType:      types.IntegrationTypeAwsProxy,
		IntegrationUri:       aws.String(lambdaARN),
		IntegrationMethod:    aws.String("POST"),
		PayloadFormatVersion: aws.String("2.0"),
		TimeoutInMillis:      aws.Int32(30000),
	})
	if err != nil {
		return "", awserr.Wrap("create the integration of API "+apiID, err, nil)
	}
	return aws.ToString(out.IntegrationId), nil
}

// UpdateLambdaIntegration points an integration at lambdaARN (AWS_PROXY, payload 2.0).
func (c *Client) UpdateLambdaIntegration(ctx context.Context, apiID, integrationID, lambdaARN string) error {
	_, err := c.sdk.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{
		ApiId:                aws.String(apiID),
		IntegrationId:        aws.String(integrationID),
		IntegrationType:      types.IntegrationTypeAwsProxy,
		IntegrationUri:       aws.String(lambdaARN),
		IntegrationMethod:    aws.String("POST"),
		PayloadFormatVersion: aws.String("2.0"),
	})
	return awserr.Wrap("update integration "+integrationID+" of API "+apiID, err, nil)
}

// CreateRoute adds a route ("ANY /x/{proxy+}") with target ("integrations/ID");
// ErrAlreadyExists when the route key exists.
func (c *Client) CreateRoute(ctx context.Context, apiID, key, target string) error {
	_, err := c.sdk.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: aws.String(apiID), RouteKey: aws.String(key), Target: aws.String(target)})
	return awserr.Wrap("create route "+key+" of API "+apiID, err, awserr.Codes{"ConflictException": awserr.ErrAlreadyExists})
}

// UpdateRoute points a route at target.
func (c *Client) UpdateRoute(ctx context.Context, apiID, routeID, target string) error {
	_, err := c.sdk.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: aws.String(apiID), RouteId: aws.String(routeID), Target: aws.String(target)})
	return awserr.Wrap("update route "+routeID+" of API "+apiID, err, nil)
}

// CreateStage adds a tagged stage; ErrAlreadyExists when it exists.
func (c *Client) CreateStage(ctx context.Context, apiID, name string, autoDeploy bool, tags map[string]string) error {
	_, err := c.sdk.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: aws.String(apiID), StageName: aws.String(name), AutoDeploy: aws.Bool(autoDeploy), Tags: tags})
	return awserr.Wrap("create stage "+name+" of API "+apiID, err, awserr.Codes{"ConflictException": awserr.ErrAlreadyExists})
}

// UpdateStage sets a stage's auto-deploy.
func (c *Client) UpdateStage(ctx context.Context, apiID, name string, autoDeploy bool) error {
	_, err := c.sdk.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: aws.String(apiID), StageName: aws.String(name), AutoDeploy: aws.Bool(autoDeploy)})
	return awserr.Wrap("update stage "+name+" of API "+apiID, err, nil)
}

// DeleteRoute deletes a route; ErrNotFound when it is gone already.
func (c *Client) DeleteRoute(ctx context.Context, apiID, routeID string) error {
	_, err := c.sdk.DeleteRoute(ctx, &apigatewayv2.DeleteRouteInput{ApiId: aws.String(apiID), RouteId: aws.String(routeID)})
	return awserr.Wrap("delete route "+routeID+" of API "+apiID, err, nil)
}

// DeleteIntegration deletes an integration; ErrNotFound when it is gone already.
func (c *Client) DeleteIntegration(ctx context.Context, apiID, integrationID string) error {
	_, err := c.sdk.DeleteIntegration(ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: aws.String(apiID), IntegrationId: aws.String(integrationID)})
	return awserr.Wrap("delete integration "+integrationID+" of API "+apiID, err, nil)
}

// DeleteStage deletes a stage; ErrNotFound when it is gone already.
func (c *Client) DeleteStage(ctx context.Context, apiID, name string) error {
	_, err := c.sdk.DeleteStage(ctx, &apigatewayv2.DeleteStageInput{ApiId: aws.String(apiID), StageName: aws.String(name)})
	return awserr.Wrap("delete stage "+name+" of API "+apiID, err, nil)
}

// DeleteAPI deletes an API with everything in it; ErrNotFound when it is gone already.
func (c *Client) DeleteAPI(ctx context.Context, apiID string) error {
	_, err := c.sdk.DeleteApi(ctx, &apigatewayv2.DeleteApiInput{ApiId: aws.String(apiID)})
	return awserr.Wrap("delete HTTP API "+apiID, err, nil)
}
