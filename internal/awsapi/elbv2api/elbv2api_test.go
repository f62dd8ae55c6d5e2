package elbv2api_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/awsapi/elbv2api"
	"github.com/rudderctl/rudderctl/internal/localcloud"
)

// An internal ALB, an ip target group with its attributes, a listener, tags; not found
// before and after.
func TestLoadBalancerLifecycle(t *testing.T) {
	_, s := awstest.Start(t, localcloud.Delays{Active: 100 * time.Millisecond})
	ctx := context.Background()
	c := s.ELBv2()
	vpc, err := s.EC2().DefaultVPC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	subs, _ := s.EC2().Subnets(ctx, vpc)
	sg, err := s.EC2().CreateSecurityGroup(ctx, vpc, "lb", "lb", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.FindLoadBalancer(ctx, "lb"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("before create: %v", err)
	}
	lb, err := c.CreateLoadBalancer(ctx, elbv2api.LoadBalancerSpec{Name: "lb", Internal: true, Subnets: []string{subs[0].ID, subs[1].ID},
		SecurityGroups: []string{sg}, Tags: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitAvailable(ctx, lb.ARN, time.Minute); err != nil {
		t.Fatal(err)
	}
	found, err := c.FindLoadBalancer(ctx, "lb")
	if err != nil || found.Scheme != "internal" || found.State != "active" || found.DNSName == "" || len(found.Subnets) != 2 {
		t.Fatalf("found %+v, %v", found, err)
	}
	spec := elbv2api.TargetGroupSpec{Name: "tg", VPC: vpc, HealthPath: "/health", Port: 9090, HealthInterval: 5, HealthTimeout: 2, Healthy: 2, Unhealthy: 2, Matcher: "200", Tags: map[string]string{"k": "v"}}
	tgARN, err := c.CreateTargetGroup(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTargetGroup(ctx, elbv2api.TargetGroupSpec{Name: "tg", VPC: vpc, HealthPath: "/x", Port: 1, HealthInterval: 5, HealthTimeout: 2, Healthy: 2, Unhealthy: 2, Matcher: "200"}); !errors.Is(err, awserr.ErrAlreadyExists) {
		t.Fatalf("a second group of the name with other settings: %v", err)
	}
	if err := c.SetDeregistrationDelay(ctx, tgARN, 7); err != nil {
		t.Fatal(err)
	}
	if d, err := c.DeregistrationDelay(ctx, tgARN); err != nil || d != 7 {
		t.Fatalf("delay %d, %v", d, err)
	}
	tg, err := c.FindTargetGroup(ctx, "tg")
	if err != nil || tg.TargetType != "ip" || tg.HealthPath != "/health" || tg.Port != 9090 {
		t.Fatalf("target group %+v, %v", tg, err)
	}
	l, err := c.CreateListener(ctx, lb.ARN, 8080, tgARN, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := c.Listeners(ctx, lb.ARN)
	if err != nil || len(ls) != 1 || ls[0].ARN != l || ls[0].TargetGroup != tgARN || ls[0].Port != 8080 {
		t.Fatalf("listeners %+v, %v", ls, err)
	}
	if tags, err := c.Tags(ctx, lb.ARN); err != nil || tags["k"] != "v" {
		t.Fatalf("tags %v, %v", tags, err)
	}
	if err := c.DeleteListener(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteLoadBalancer(ctx, lb.ARN); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTargetGroup(ctx, tgARN); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FindTargetGroup(ctx, "tg"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
