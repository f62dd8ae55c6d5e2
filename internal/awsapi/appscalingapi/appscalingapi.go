// Package appscalingapi is the part of Application Auto Scaling rudderctl uses: an ECS
// service's scalable target (min/max tasks) and its target tracking policy. Errors are
// *awserr.Error (errors.Is(err, awserr.ErrNotFound)).
package appscalingapi

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	as "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/smithy-go"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

// Client is Application Auto Scaling, domain-shaped (namespace ecs, dimension DesiredCount).
type Client struct {
	sdk *as.Client
}

// New wraps an SDK client (awsapi.Session builds it).
func New(c *as.Client) *Client { return &Client{sdk: c} }

var codes = awserr.Codes{"ObjectNotFoundException": awserr.ErrNotFound}

func wrap(what string, err error) error { return awserr.Wrap(what, err, codes) }

func notFound(what, msg string) error {
	return &awserr.Error{What: what, Kind: awserr.ErrNotFound, Err: &smithy.GenericAPIError{Code: "ObjectNotFoundException", Message: msg}}
}

// ServiceResource is the resource id of an ECS service: service/<cluster>/<service>.
func ServiceResource(cluster, service string) string { return "service/" + cluster + "/" + service }

// Target is a scalable target.
type Target struct {
	ARN      string
	Min, Max int32
}

// FindTarget reads the ECS service's scalable target; ErrNotFound when there is none.
func (c *Client) FindTarget(ctx context.Context, resource string) (*Target, error) {
	in := &as.DescribeScalableTargetsInput{ServiceNamespace: types.ServiceNamespaceEcs, ResourceIds: []string{resource},
		ScalableDimension: types.ScalableDimensionECSServiceDesiredCount}
	p := as.NewDescribeScalableTargetsPaginator(c.sdk, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("read the scalable target "+resource, err)
		}
		for _, t := range page.ScalableTargets {
			if aws.ToString(t.ResourceId) == resource {
				return &Target{ARN: aws.ToString(t.ScalableTargetARN), Min: aws.ToInt32(t.MinCapacity), Max: aws.ToInt32(t.MaxCapacity)}, nil
			}
		}
	}
	return nil, notFound("read the scalable target "+resource, "no scalable target "+resource)
}

// RegisterTarget creates or updates the scalable target (one call does both).
func (c *Client) RegisterTarget(ctx context.Context, resource string, min, max int32, tags map[string]string) error {
	_, err := c.sdk.RegisterScalableTarget(ctx, &as.RegisterScalableTargetInput{ServiceNamespace: types.ServiceNamespaceEcs,
		ResourceId: aws.String(resource), ScalableDimension: types.ScalableDimensionECSServiceDesiredCount,
		MinCapacity: aws.Int32(min), MaxCapacity: aws.Int32(max), Tags: tags})
	return wrap("register the scalable target "+resource, err)
}

// DeregisterTarget deletes the scalable target (and its policies).
func (c *Client) DeregisterTarget(ctx context.Context, resource string) error {
	_, err := c.sdk.DeregisterScalableTarget(ctx, &as.DeregisterScalableTargetInput{ServiceNamespace: types.ServiceNamespaceEcs,
		ResourceId: aws.String(resource), ScalableDimension: types.ScalableDimensionECSServiceDesiredCount})
	return wrap("deregister the scalable target "+resource, err)
}

// Tags are the tags of a scalable target by ARN.
func (c *Client) Tags(ctx context.Context, arn string) (map[string]string, error) {
	out, err := c.sdk.ListTagsForResource(ctx, &as.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
	if err != nil {
		return nil, wrap("read the tags of "+arn, err)
	}
	if out.Tags == nil {
		return map[string]string{}, nil
	}
	return out.Tags, nil
}

// TagTarget adds tags to a scalable target by ARN.
func (c *Client) TagTarget(ctx context.Context, arn string, tags map[string]string) error {
	_, err := c.sdk.TagResource(ctx, &as.TagResourceInput{ResourceARN: aws.String(arn), Tags: tags})
	return wrap("tag "+arn, err)
}

// Policy is a target tracking policy on a predefined metric.
type Policy struct {
	Name, Metric                      string // ECSServiceAverageCPUUtilization | ALBRequestCountPerTarget
	Target                            float64
	ResourceLabel                     string // for ALBRequestCountPerTarget
	ScaleInCooldown, ScaleOutCooldown int32
}

// FindPolicy reads the policy named name of the resource; ErrNotFound when there is none.
func (c *Client) FindPolicy(ctx context.Context, resource, name string) (*Policy, error) {
	in := &as.DescribeScalingPoliciesInput{ServiceNamespace: types.ServiceNamespaceEcs, ResourceId: aws.String(resource),
		ScalableDimension: types.ScalableDimensionECSServiceDesiredCount, PolicyNames: []string{name}}
	p := as.NewDescribeScalingPoliciesPaginator(c.sdk, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("read scaling policy "+name, err)
		}
		for _, sp := range page.ScalingPolicies {
			if aws.ToString(sp.PolicyName) != name {
				continue
			}
			pol := &Policy{Name: name}
			if tt := sp.TargetTrackingScalingPolicyConfiguration; tt != nil {
				pol.Target = aws.ToFloat64(tt.TargetValue)
				pol.ScaleInCooldown, pol.ScaleOutCooldown = aws.ToInt32(tt.ScaleInCooldown), aws.ToInt32(tt.ScaleOutCooldown)
				if m := tt.PredefinedMetricSpecification; m != nil {
					pol.Metric, pol.ResourceLabel = string(m.PredefinedMetricType), aws.ToString(m.ResourceLabel)
				}
			}
			return pol, nil
		}
	}
	return nil, notFound("read scaling policy "+name, "no scaling policy "+name)
}

// PutPolicy creates or updates a target tracking policy.
func (c *Client) PutPolicy(ctx context.Context, resource string, p Policy) error {
	spec := &types.PredefinedMetricSpecification{PredefinedMetricType: types.MetricType(p.Metric)}
	if p.ResourceLabel != "" {
		spec.ResourceLabel = aws.String(p.ResourceLabel)
	}
	_, err := c.sdk.PutScalingPolicy(ctx, &as.PutScalingPolicyInput{PolicyName: aws.String(p.Name), ServiceNamespace: types.ServiceNamespaceEcs,
		ResourceId: aws.String(resource), ScalableDimension: types.ScalableDimensionECSServiceDesiredCount, PolicyType: types.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &types.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(p.Target),
			PredefinedMetricSpecification: spec, ScaleInCooldown: aws.Int32(p.ScaleInCooldown), ScaleOutCooldown: aws.Int32(p.ScaleOutCooldown)}})
	return wrap("put scaling policy "+p.Name, err)
}

// DeletePolicy deletes a scaling policy.
func (c *Client) DeletePolicy(ctx context.Context, resource, name string) error {
	_, err := c.sdk.DeleteScalingPolicy(ctx, &as.DeleteScalingPolicyInput{PolicyName: aws.String(name), ServiceNamespace: types.ServiceNamespaceEcs,
		ResourceId: aws.String(resource), ScalableDimension: types.ScalableDimensionECSServiceDesiredCount})
	return wrap("delete scaling policy "+name, err)
}
