package localcloud

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestApplicationAutoScaling: a scalable target for an ECS service (registering clamps
// the service's desired count into [min, max]), target-tracking policies on CPU and on
// ALB requests per target, tags and the errors, through the real SDK.
func TestApplicationAutoScaling(t *testing.T) {
	c := startCloud(t, Options{})
	// Retrying clients, as every real one: under load the SDK's transport can lose a
	// connection to a known client-side race (aws-sdk-go-v2#1825), which it retries.
	cfg := sdk(c, true).cfg
	ec, as := ecs.NewFromConfig(cfg), aas.NewFromConfig(cfg)
	ctx := context.Background()
	res := aws.String("service/c1/s1")

	reg := &aas.RegisterScalableTargetInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: res,
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		MinCapacity:       aws.Int32(2), MaxCapacity: aws.Int32(4),
		Tags: map[string]string{"rudderctl:stack": "t"},
	}
	_, err := as.RegisterScalableTarget(ctx, reg)
	if err == nil || !strings.Contains(err.Error(), "ECS service doesn't exist") {
		t.Fatalf("target for a missing service: %v", err)
	}
	_, err = ec.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c1")})
	must(t, err)
	_, err = ec.RegisterTaskDefinition(ctx, fargateTaskDef("web", "img"))
	must(t, err)
	_, err = ec.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("c1"), ServiceName: aws.String("s1"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: awsvpc(defaultSubnets(t, ec2.NewFromConfig(cfg))[0])})
	must(t, err)

	out, err := as.RegisterScalableTarget(ctx, reg)
	must(t, err)
	ds, err := ec.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: []string{"s1"}})
	must(t, err)
	if ds.Services[0].DesiredCount != 2 {
		t.Fatalf("desired count after registering min 2: %d", ds.Services[0].DesiredCount)
	}
	// Tasks would start now; this test is about the model, so scale back to nothing.
	_, err = ec.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c1"), Service: aws.String("s1"), DesiredCount: aws.Int32(0)})
	must(t, err)

	targets, err := as.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{*res}})
	must(t, err)
	if len(targets.ScalableTargets) != 1 || aws.ToInt32(targets.ScalableTargets[0].MaxCapacity) != 4 ||
		aws.ToString(targets.ScalableTargets[0].ScalableTargetARN) != aws.ToString(out.ScalableTargetARN) {
		t.Fatalf("targets %+v", targets.ScalableTargets)
	}

	put := &aas.PutScalingPolicyInput{
		PolicyName: aws.String("cpu"), ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: res,
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount, PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{
			TargetValue: aws.Float64(60),
			PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{
				PredefinedMetricType: aastypes.MetricTypeECSServiceAverageCPUUtilization},
			ScaleInCooldown: aws.Int32(120), ScaleOutCooldown: aws.Int32(30),
		},
	}
	p1, err := as.PutScalingPolicy(ctx, put)
	must(t, err)
	if len(p1.Alarms) != 2 {
		t.Fatalf("alarms %+v", p1.Alarms)
	}
	again, err := as.PutScalingPolicy(ctx, put)
	must(t, err)
	if aws.ToString(again.PolicyARN) != aws.ToString(p1.PolicyARN) {
		t.Fatal("putting a policy again changed its ARN")
	}
	req := *put
	req.PolicyName = aws.String("requests")
	req.TargetTrackingScalingPolicyConfiguration = &aastypes.TargetTrackingScalingPolicyConfiguration{
		TargetValue: aws.Float64(500),
		PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{
			PredefinedMetricType: aastypes.MetricTypeALBRequestCountPerTarget},
	}
	_, err = as.PutScalingPolicy(ctx, &req)
	wantCode(t, err, "ValidationException")
	req.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.ResourceLabel = aws.String("app/lb/0123/targetgroup/tg/4567")
	_, err = as.PutScalingPolicy(ctx, &req)
	must(t, err)
	pols, err := as.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: res})
	must(t, err)
	if len(pols.ScalingPolicies) != 2 {
		t.Fatalf("policies %+v", pols.ScalingPolicies)
	}
	for _, p := range pols.ScalingPolicies {
		tt := p.TargetTrackingScalingPolicyConfiguration
		if tt == nil || tt.PredefinedMetricSpecification == nil || aws.ToFloat64(tt.TargetValue) == 0 {
			t.Fatalf("policy %s lost its configuration", aws.ToString(p.PolicyName))
		}
	}

	tags, err := as.ListTagsForResource(ctx, &aas.ListTagsForResourceInput{ResourceARN: out.ScalableTargetARN})
	must(t, err)
	if tags.Tags["rudderctl:stack"] != "t" {
		t.Fatalf("tags %v", tags.Tags)
	}
	if r := c.Resources("rudderctl:stack", "t"); len(r) != 2 { // the task definition and the target
		t.Fatalf("resources %+v", r)
	}
	_, err = as.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("cpu"), ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: res, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
	must(t, err)
	_, err = as.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: res, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
	must(t, err)
	_, err = as.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: res, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
	var onf *aastypes.ObjectNotFoundException
	if !asError(err, &onf) {
		t.Fatalf("deregister twice: want ObjectNotFoundException, got %v", err)
	}
	pols, err = as.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs})
	must(t, err)
	if len(pols.ScalingPolicies) != 0 {
		t.Fatalf("policies left after deregistering the target: %d", len(pols.ScalingPolicies))
	}
}
