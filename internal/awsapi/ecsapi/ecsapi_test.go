package ecsapi_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/localcloud"
)

// A cluster and a task definition family: not found, created, read back as written
// (what the deploy compares to decide on a new revision), listed, deregistered, deleted.
func TestClusterAndTaskDefinitions(t *testing.T) {
	_, s := awstest.Start(t, localcloud.Delays{})
	ctx := context.Background()
	c := s.ECS()
	if _, err := c.FindCluster(ctx, "cl"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("before create: %v", err)
	}
	if _, err := c.CreateCluster(ctx, "cl", map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if cl, err := c.FindCluster(ctx, "cl"); err != nil || cl.Tags["k"] != "v" {
		t.Fatalf("cluster %+v, %v", cl, err)
	}
	if _, err := c.FindTaskDefinition(ctx, "fam"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("task definition before register: %v", err)
	}
	spec := ecsapi.TaskDefSpec{Family: "fam", ExecutionRole: "arn:aws:iam::000000000000:role/r", CPU: "256", Memory: "512", Tags: map[string]string{"k": "v"},
		Containers: []ecsapi.ContainerSpec{{Name: "app", Image: "img:1", Essential: true, Port: 9090, Env: map[string]string{"A": "1", "B": "2"},
			HealthCheck: []string{"CMD-SHELL", "true"}, HealthInterval: 10, HealthTimeout: 5, HealthRetries: 3, HealthStartPeriod: 30,
			LogGroup: "/g", LogRegion: awstest.Region, LogStreamPrefix: "ecs", StopTimeout: 30}}}
	var arns []string
	for range 3 {
		td, err := c.RegisterTaskDefinition(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, td.ARN)
	}
	got, err := c.FindTaskDefinition(ctx, "fam")
	if err != nil || got.ARN != arns[2] || got.Revision != 3 || got.Spec.Tags["k"] != "v" {
		t.Fatalf("latest %+v, %v", got, err)
	}
	got.Spec.Tags, spec.Tags = nil, nil
	if g, w := got.Spec.Containers[0], spec.Containers[0]; g.Image != w.Image || g.Port != w.Port || g.Env["B"] != "2" || g.LogGroup != "/g" || g.HealthStartPeriod != 30 || g.StopTimeout != 30 {
		t.Fatalf("read back %+v, wrote %+v", g, w)
	}
	active, err := c.TaskDefinitionARNs(ctx, "fam", "ACTIVE")
	if err != nil || len(active) != 3 || active[0] != arns[0] || ecsapi.FamilyOf(active[0]) != "fam" {
		t.Fatalf("active %v, %v", active, err)
	}
	if err := c.DeleteTaskDefinition(ctx, arns[0]); err == nil {
		t.Fatal("an ACTIVE revision was deleted")
	}
	for _, a := range arns {
		if err := c.DeregisterTaskDefinition(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteTaskDefinition(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for _, status := range []string{"ACTIVE", "INACTIVE"} {
		if left, err := c.TaskDefinitionARNs(ctx, "fam", status); err != nil || len(left) != 0 {
			t.Fatalf("%s after delete: %v, %v", status, left, err)
		}
	}
	if err := c.DeleteCluster(ctx, "cl"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FindCluster(ctx, "cl"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
