package appscalingapi_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/rudderctl/rudderctl/internal/awsapi/appscalingapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/awsapi/ec2api"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/localcloud"
)

// A scalable target and its target tracking policy: not found, registered, updated, deleted.
func TestScalingLifecycle(t *testing.T) {
	_, s := awstest.Start(t, localcloud.Delays{})
	ctx := context.Background()
	c := s.AppScaling()
	res := appscalingapi.ServiceResource("cl", "svc")
	serviceOf(t, s.ECS(), s.EC2())
	if _, err := c.FindTarget(ctx, res); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("before register: %v", err)
	}
	if err := c.RegisterTarget(ctx, res, 2, 4, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := c.RegisterTarget(ctx, res, 2, 6, nil); err != nil {
		t.Fatal(err)
	}
	if tg, err := c.FindTarget(ctx, res); err != nil || tg.Min != 2 || tg.Max != 6 {
		t.Fatalf("target %+v, %v", tg, err)
	}
	if _, err := c.FindPolicy(ctx, res, "p"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("policy before put: %v", err)
	}
	p := appscalingapi.Policy{Name: "p", Metric: "ECSServiceAverageCPUUtilization", Target: 60, ScaleInCooldown: 300, ScaleOutCooldown: 60}
	if err := c.PutPolicy(ctx, res, p); err != nil {
		t.Fatal(err)
	}
	if got, err := c.FindPolicy(ctx, res, "p"); err != nil || *got != p {
		t.Fatalf("policy %+v, %v", got, err)
	}
	if err := c.DeletePolicy(ctx, res, "p"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeregisterTarget(ctx, res); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FindTarget(ctx, res); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("after deregister: %v", err)
	}
}

// serviceOf makes the ECS service cl/svc (no task: desired 0) that the target scales.
func serviceOf(t *testing.T, c *ecsapi.Client, e *ec2api.Client) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, "cl", nil); err != nil {
		t.Fatal(err)
	}
	td, err := c.RegisterTaskDefinition(ctx, ecsapi.TaskDefSpec{Family: "f", ExecutionRole: "arn:aws:iam::000000000000:role/r", CPU: "256", Memory: "512",
		Containers: []ecsapi.ContainerSpec{{Name: "app", Image: "img:1", Essential: true}}})
	if err != nil {
		t.Fatal(err)
	}
	vpc, _ := e.DefaultVPC(ctx)
	subs, _ := e.Subnets(ctx, vpc)
	_, err = c.SDK().CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("cl"), ServiceName: aws.String("svc"), TaskDefinition: aws.String(td.ARN),
		DesiredCount: aws.Int32(0), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: &types.NetworkConfiguration{
			AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{subs[0].ID}}}})
	if err != nil {
		t.Fatal(err)
	}
}
