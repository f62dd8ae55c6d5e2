// Package elbv2api is the part of Elastic Load Balancing v2 rudderctl uses: application
// load balancers, target groups (target type ip) with their attributes and target health,
// listeners and tags. Errors are *awserr.Error (errors.Is(err, awserr.ErrNotFound)).
package elbv2api

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

// Client is ELBv2, domain-shaped.
type Client struct {
	sdk *elb.Client
}

// New wraps an SDK client (awsapi.Session builds it).
func New(c *elb.Client) *Client { return &Client{sdk: c} }

var codes = awserr.Codes{
	"LoadBalancerNotFound":      awserr.ErrNotFound,
	"TargetGroupNotFound":       awserr.ErrNotFound,
	"ListenerNotFound":          awserr.ErrNotFound,
	"DuplicateLoadBalancerName": awserr.ErrAlreadyExists,
	"DuplicateTargetGroupName":  awserr.ErrAlreadyExists,
	"DuplicateListener":         awserr.ErrAlreadyExists,
	"ResourceInUse":             awserr.ErrConflict,
}

func wrap(what string, err error) error { return awserr.Wrap(what, err, codes) }

// LoadBalancer is an application load balancer.
type LoadBalancer struct {
	ARN, Name, DNSName, Scheme, State, VPC string
	Subnets                                []string
	SecurityGroups                         []string
}

// FindLoadBalancer reads the load balancer named name; ErrNotFound when there is none.
func (c *Client) FindLoadBalancer(ctx context.Context, name string) (*LoadBalancer, error) {
	out, err := c.sdk.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{name}})
	if err != nil {
		return nil, wrap("read load balancer "+name, err)
	}
	for _, lb := range out.LoadBalancers {
		if aws.ToString(lb.LoadBalancerName) == name {
			l := &LoadBalancer{ARN: aws.ToString(lb.LoadBalancerArn), Name: name, DNSName: aws.ToString(lb.DNSName),
				Scheme: string(lb.Scheme), VPC: aws.ToString(lb.VpcId), SecurityGroups: lb.SecurityGroups}
			if lb.State != nil {
				l.State = string(lb.State.Code)
			}
			for _, az := range lb.AvailabilityZones {
				l.Subnets = append(l.Subnets, aws.ToString(az.SubnetId))
			}
			sort.Strings(l.Subnets)
			return l, nil
		}
	}
	return nil, wrap("read load balancer "+name, notFound("LoadBalancerNotFound", "no load balancer "+name))
}

// LoadBalancerSpec is an internal ALB to create.
type LoadBalancerSpec struct {
	Name           string
	Internal       bool
	Subnets        []string
	SecurityGroups []string
	Tags           map[string]string
}

// CreateLoadBalancer creates an application load balancer and returns it (still provisioning).
func (c *Client) CreateLoadBalancer(ctx context.Context, s LoadBalancerSpec) (*LoadBalancer, error) {
	scheme := types.LoadBalancerSchemeEnumInternetFacing
	if s.Internal {
		scheme = types.LoadBalancerSchemeEnumInternal
	}
	out, err := c.sdk.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(s.Name), Scheme: scheme,
		Type: types.LoadBalancerTypeEnumApplication, Subnets: s.Subnets, SecurityGroups: s.SecurityGroups, Tags: tagList(s.Tags),
		IpAddressType: types.IpAddressTypeIpv4})
	if err != nil {
		return nil, wrap("create load balancer "+s.Name, err)
	}
	if len(out.LoadBalancers) == 0 {
		return c.FindLoadBalancer(ctx, s.Name)
	}
	lb := out.LoadBalancers[0]
	return &LoadBalancer{ARN: aws.ToString(lb.LoadBalancerArn), Name: s.Name, DNSName: aws.ToString(lb.DNSName), Scheme: string(lb.Scheme)}, nil
}

// SetSecurityGroups replaces the load balancer's security groups.
func (c *Client) SetSecurityGroups(ctx context.Context, arn string, groups []string) error {
	_, err := c.sdk.SetSecurityGroups(ctx, &elb.SetSecurityGroupsInput{LoadBalancerArn: aws.String(arn), SecurityGroups: groups})
	return wrap("set the security groups of load balancer "+arn, err)
}

// WaitAvailable waits until the load balancer is active.
func (c *Client) WaitAvailable(ctx context.Context, arn string, maxWait time.Duration) error {
	w := elb.NewLoadBalancerAvailableWaiter(c.sdk, func(o *elb.LoadBalancerAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = minDelay, maxDelay
	})
	return wrap("wait for load balancer "+arn+" to be active", w.Wait(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}}, maxWait))
}

// DeleteLoadBalancer deletes a load balancer (and its listeners).
func (c *Client) DeleteLoadBalancer(ctx context.Context, arn string) error {
	_, err := c.sdk.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)})
	return wrap("delete load balancer "+arn, err)
}

// TargetGroup is a target group with the settings rudderctl manages.
type TargetGroup struct {
	ARN, Name, Protocol, TargetType, VPC string
	Port                                 int32
	HealthPath                           string
	HealthInterval, HealthTimeout        int32
	Healthy, Unhealthy                   int32
	Matcher                              string
	LoadBalancers                        []string
}

// FindTargetGroup reads the target group named name; ErrNotFound when there is none.
func (c *Client) FindTargetGroup(ctx context.Context, name string) (*TargetGroup, error) {
	out, err := c.sdk.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{name}})
	if err != nil {
		return nil, wrap("read target group "+name, err)
	}
	for _, g := range out.TargetGroups {
		if aws.ToString(g.TargetGroupName) != name {
			continue
		}
		tg := &TargetGroup{ARN: aws.ToString(g.TargetGroupArn), Name: name, Protocol: string(g.Protocol), TargetType: string(g.TargetType),
			VPC: aws.ToString(g.VpcId), Port: aws.ToInt32(g.Port), HealthPath: aws.ToString(g.HealthCheckPath),
			HealthInterval: aws.ToInt32(g.HealthCheckIntervalSeconds), HealthTimeout: aws.ToInt32(g.HealthCheckTimeoutSeconds),
			Healthy: aws.ToInt32(g.HealthyThresholdCount), Unhealthy: aws.ToInt32(g.UnhealthyThresholdCount), LoadBalancers: g.LoadBalancerArns}
		if g.Matcher != nil {
			tg.Matcher = aws.ToString(g.Matcher.HttpCode)
		}
		return tg, nil
	}
	return nil, wrap("read target group "+name, notFound("TargetGroupNotFound", "no target group "+name))
}

// TargetGroupSpec is a target group of target type ip over HTTP.
type TargetGroupSpec struct {
	Name, VPC, HealthPath         string
	Port                          int32
	HealthInterval, HealthTimeout int32
	Healthy, Unhealthy            int32
	Matcher                       string
	Tags                          map[string]string
}

// CreateTargetGroup creates an ip target group and returns its ARN.
func (c *Client) CreateTargetGroup(ctx context.Context, s TargetGroupSpec) (string, error) {
	out, err := c.sdk.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(s.Name), Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(s.Port), VpcId: aws.String(s.VPC), TargetType: types.TargetTypeEnumIp, HealthCheckEnabled: aws.Bool(true),
		HealthCheckProtocol: types.ProtocolEnumHttp, HealthCheckPath: aws.String(s.HealthPath),
		HealthCheckIntervalSeconds: aws.Int32(s.HealthInterval), HealthCheckTimeoutSeconds: aws.Int32(s.HealthTimeout),
		HealthyThresholdCount: aws.Int32(s.Healthy), UnhealthyThresholdCount: aws.Int32(s.Unhealthy),
		Matcher: &types.Matcher{HttpCode: aws.String(s.Matcher)}, Tags: tagList(s.Tags)})
	if err != nil {
		return "", wrap("create target group "+s.Name, err)
	}
	if len(out.TargetGroups) == 0 {
		tg, err := c.FindTargetGroup(ctx, s.Name)
		if err != nil {
			return "", err
		}
		return tg.ARN, nil
	}
	return aws.ToString(out.TargetGroups[0].TargetGroupArn), nil
}

// ModifyHealthCheck puts the health check settings of s on the group.
func (c *Client) ModifyHealthCheck(ctx context.Context, arn string, s TargetGroupSpec) error {
	_, err := c.sdk.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: aws.String(arn), HealthCheckEnabled: aws.Bool(true),
		HealthCheckProtocol: types.ProtocolEnumHttp, HealthCheckPath: aws.String(s.HealthPath),
		HealthCheckIntervalSeconds: aws.Int32(s.HealthInterval), HealthCheckTimeoutSeconds: aws.Int32(s.HealthTimeout),
		HealthyThresholdCount: aws.Int32(s.Healthy), UnhealthyThresholdCount: aws.Int32(s.Unhealthy),
		Matcher: &types.Matcher{HttpCode: aws.String(s.Matcher)}})
	return wrap("modify the health check of target group "+arn, err)
}

// DeregistrationDelay is the group's deregistration_delay.timeout_seconds.
func (c *Client) DeregistrationDelay(ctx context.Context, arn string) (int32, error) {
	out, err := c.sdk.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return 0, wrap("read the attributes of target group "+arn, err)
	}
	for _, a := range out.Attributes {
		if aws.ToString(a.Key) == "deregistration_delay.timeout_seconds" {
			n, err := strconv.Atoi(aws.ToString(a.Value))
			if err != nil {
				return 0, awserr.Explain("read the deregistration delay of target group "+arn, err)
			}
			return int32(n), nil
		}
	}
	return 300, nil // ELBv2's default
}

// SetDeregistrationDelay sets deregistration_delay.timeout_seconds.
func (c *Client) SetDeregistrationDelay(ctx context.Context, arn string, seconds int32) error {
	_, err := c.sdk.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn),
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String(strconv.Itoa(int(seconds)))}}})
	return wrap("set the deregistration delay of target group "+arn, err)
}

// DeleteTargetGroup deletes a target group; ErrConflict while a listener uses it.
func (c *Client) DeleteTargetGroup(ctx context.Context, arn string) error {
	_, err := c.sdk.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
	return wrap("delete target group "+arn, err)
}

// Target is one registered target and its health.
type Target struct {
	ID     string
	Port   int32
	State  string // initial, healthy, unhealthy, draining, unused
	Reason string
}

// TargetHealth reads the health of every target of the group.
func (c *Client) TargetHealth(ctx context.Context, arn string) ([]Target, error) {
	out, err := c.sdk.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return nil, wrap("read the target health of "+arn, err)
	}
	var ts []Target
	for _, d := range out.TargetHealthDescriptions {
		t := Target{}
		if d.Target != nil {
			t.ID, t.Port = aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port)
		}
		if d.TargetHealth != nil {
			t.State, t.Reason = string(d.TargetHealth.State), string(d.TargetHealth.Reason)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// Listener is a listener of a load balancer.
type Listener struct {
	ARN, Protocol string
	Port          int32
	TargetGroup   string // the forward action's group ("" when it does something else)
}

// Listeners are the listeners of a load balancer, every page.
func (c *Client) Listeners(ctx context.Context, lbARN string) ([]Listener, error) {
	var out []Listener
	p := elb.NewDescribeListenersPaginator(c.sdk, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("list the listeners of "+lbARN, err)
		}
		for _, l := range page.Listeners {
			ls := Listener{ARN: aws.ToString(l.ListenerArn), Protocol: string(l.Protocol), Port: aws.ToInt32(l.Port)}
			for _, a := range l.DefaultActions {
				if a.Type == types.ActionTypeEnumForward {
					ls.TargetGroup = aws.ToString(a.TargetGroupArn)
				}
			}
			out = append(out, ls)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out, nil
}

// CreateListener creates an HTTP listener on port forwarding to a target group.
func (c *Client) CreateListener(ctx context.Context, lbARN string, port int32, tgARN string, tags map[string]string) (string, error) {
	out, err := c.sdk.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lbARN), Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(port), DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}, Tags: tagList(tags)})
	if err != nil {
		return "", wrap("create the listener on port "+strconv.Itoa(int(port)), err)
	}
	if len(out.Listeners) == 0 {
		return "", nil
	}
	return aws.ToString(out.Listeners[0].ListenerArn), nil
}

// ModifyListener forwards the listener to tgARN.
func (c *Client) ModifyListener(ctx context.Context, arn, tgARN string) error {
	_, err := c.sdk.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(arn),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}})
	return wrap("modify listener "+arn, err)
}

// DeleteListener deletes a listener.
func (c *Client) DeleteListener(ctx context.Context, arn string) error {
	_, err := c.sdk.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: aws.String(arn)})
	return wrap("delete listener "+arn, err)
}

// Tags are the tags of one resource by ARN.
func (c *Client) Tags(ctx context.Context, arn string) (map[string]string, error) {
	out, err := c.sdk.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		return nil, wrap("read the tags of "+arn, err)
	}
	m := map[string]string{}
	for _, d := range out.TagDescriptions {
		for _, t := range d.Tags {
			m[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return m, nil
}

// AddTags adds (or overwrites) tags of a resource by ARN.
func (c *Client) AddTags(ctx context.Context, arn string, tags map[string]string) error {
	_, err := c.sdk.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{arn}, Tags: tagList(tags)})
	return wrap("tag "+arn, err)
}

func tagList(tags map[string]string) []types.Tag {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []types.Tag
	for _, k := range keys {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

// notFound is the not-found an empty answer means.
func notFound(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

// Waiter polling: short first polls, a few seconds at most.
const (
	minDelay = 500 * time.Millisecond
	maxDelay = 5 * time.Second
)
