package ec2api_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/awsapi/ec2api"
	"github.com/rudderctl/rudderctl/internal/localcloud"
)

// The default VPC and its subnets; a security group's life: not found, created tagged,
// found with its rules, a duplicate rule is ErrAlreadyExists, revoked, deleted.
func TestSecurityGroupLifecycle(t *testing.T) {
	_, s := awstest.Start(t, localcloud.Delays{})
	ctx := context.Background()
	c := s.EC2()
	vpc, err := c.DefaultVPC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	subs, err := c.Subnets(ctx, vpc)
	if err != nil || len(subs) < 2 || subs[0].AZ > subs[1].AZ {
		t.Fatalf("subnets %+v, %v", subs, err)
	}
	if _, err := c.FindSecurityGroup(ctx, vpc, "g"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("before create: %v", err)
	}
	src, err := c.CreateSecurityGroup(ctx, vpc, "src", "the source", map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.CreateSecurityGroup(ctx, vpc, "g", "the group", map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSecurityGroup(ctx, vpc, "g", "again", nil); !errors.Is(err, awserr.ErrAlreadyExists) {
		t.Fatalf("duplicate group: %v", err)
	}
	rule := ec2api.Rule{Protocol: "tcp", FromPort: 80, ToPort: 80, FromGroup: src}
	if err := c.AllowIngress(ctx, id, rule); err != nil {
		t.Fatal(err)
	}
	if err := c.AllowIngress(ctx, id, rule); !errors.Is(err, awserr.ErrAlreadyExists) {
		t.Fatalf("duplicate rule: %v", err)
	}
	g, err := c.FindSecurityGroup(ctx, vpc, "g")
	if err != nil || g.ID != id || g.Tags["k"] != "v" || len(g.Ingress) != 1 || !g.Ingress[0].Same(rule) {
		t.Fatalf("found %+v, %v", g, err)
	}
	tagged, err := c.GroupsTagged(ctx, "k", "v")
	if err != nil || len(tagged) != 2 {
		t.Fatalf("tagged %+v, %v", tagged, err)
	}
	if err := c.DeleteSecurityGroup(ctx, src); !ec2api.IsInUse(err) {
		t.Fatalf("deleting a group another one's rule names: %v", err)
	}
	if err := c.RevokeIngress(ctx, id, rule); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{id, src} {
		if err := c.DeleteSecurityGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.FindSecurityGroup(ctx, vpc, "g"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
