package apigwapi_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/localcloud"
)

const fnARN = "arn:aws:lambda:us-east-1:000000000000:function:f:live"

func TestAPILifecycle(t *testing.T) {
	cloud, s := awstest.Start(t, localcloud.Delays{})
	ctx := context.Background()
	c := s.APIGateway()
	// Three HTTP APIs named "a" tagged stack=s (the oldest is the stack's, the others
	// duplicates), one of another stack, one of another name.
	var ids []string
	for _, a := range []struct{ name, stack string }{{"a", "s"}, {"a", "other"}, {"a", "s"}, {"b", "s"}, {"a", "s"}} {
		api, err := c.CreateHTTPAPI(ctx, a.name, "d", map[string]string{"stack": a.stack})
		if err != nil {
			t.Fatal(err)
		}
		if a.name == "a" && a.stack == "s" {
			ids = append(ids, api.ID)
		}
	}
	c.PageSize = 2
	cloud.ResetStats()
	apis, err := c.FindAPIsByTag(ctx, "stack", "s", "a")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, a := range apis {
		got = append(got, a.ID)
		// Oldest first; CreatedDate has whole seconds, so the ID breaks ties.
		if i > 0 && (a.Created.Before(apis[i-1].Created) || a.Created.Equal(apis[i-1].Created) && a.ID < apis[i-1].ID) {
			t.Fatalf("not oldest first: %+v", apis)
		}
	}
	slices.Sort(got)
	slices.Sort(ids)
	if !slices.Equal(got, ids) || apis[0].Endpoint == "" {
		t.Fatalf("FindAPIsByTag: %+v, want ids %v", apis, ids)
	}
	if n := cloud.Stats().ByOperation["apigateway:GetApis"]; n != 3 {
		t.Fatalf("%d GetApis calls for 5 APIs by 2; want 3", n)
	}
	api := apis[0].ID
	integ, err := c.CreateLambdaIntegration(ctx, api, fnARN)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateLambdaIntegration(ctx, api, integ, fnARN+"2"); err != nil {
		t.Fatal(err)
	}
	ins, err := c.Integrations(ctx, api)
	if err != nil || len(ins) != 1 || ins[0].URI != fnARN+"2" || ins[0].Type != "AWS_PROXY" || ins[0].PayloadFormatVersion != "2.0" {
		t.Fatalf("Integrations: %+v %v", ins, err)
	}
	for _, key := range []string{"ANY /x/{proxy+}", "ANY /x", "GET /y"} {
		if err := c.CreateRoute(ctx, api, key, "integrations/"+integ); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CreateRoute(ctx, api, "ANY /x", "integrations/"+integ); !errors.Is(err, awserr.ErrAlreadyExists) {
		t.Fatalf("CreateRoute twice: %v", err)
	}
	cloud.ResetStats()
	routes, err := c.Routes(ctx, api)
	if err != nil || len(routes) != 3 {
		t.Fatalf("Routes: %+v %v", routes, err)
	}
	if n := cloud.Stats().ByOperation["apigateway:GetRoutes"]; n != 2 {
		t.Fatalf("%d GetRoutes calls for 3 routes by 2; want 2", n)
	}
	if err := c.UpdateRoute(ctx, api, routes[0].ID, "integrations/"+integ); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateStage(ctx, api, "$default", true, map[string]string{"stack": "s"}); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateStage(ctx, api, "$default", true, nil); !errors.Is(err, awserr.ErrAlreadyExists) {
		t.Fatalf("CreateStage twice: %v", err)
	}
	if err := c.UpdateStage(ctx, api, "$default", false); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Stages(ctx, api); err != nil || len(st) != 1 || st[0].Name != "$default" || st[0].AutoDeploy {
		t.Fatalf("Stages: %+v %v", st, err)
	}
	for _, r := range routes {
		if err := c.DeleteRoute(ctx, api, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.DeleteRoute(ctx, api, routes[0].ID); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("DeleteRoute twice: %v", err)
	}
	if err := c.DeleteIntegration(ctx, api, integ); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteIntegration(ctx, api, integ); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("DeleteIntegration twice: %v", err)
	}
	if err := c.DeleteStage(ctx, api, "$default"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteStage(ctx, api, "$default"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("DeleteStage twice: %v", err)
	}
	if err := c.DeleteAPI(ctx, api); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAPI(ctx, api); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("DeleteAPI twice: %v", err)
	}
	if _, err := c.Routes(ctx, api); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("Routes of a deleted API: %v", err)
	}
}
