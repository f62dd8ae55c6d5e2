package elbv2api

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// CreateHTTPSListener creates an HTTPS listener on port with the certificate (an ACM
// ARN), forwarding to a target group, with ELBv2's recommended TLS policy.
func (c *Client) CreateHTTPSListener(ctx context.Context, lbARN string, port int32, certARN, tgARN string, tags map[string]string) (string, error) {
	out, err := c.sdk.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lbARN), Protocol: types.ProtocolEnumHttps,
		Port: aws.Int32(port), Certificates: []types.Certificate{{CertificateArn: aws.String(certARN)}},
		SslPolicy:      aws.String("ELBSecurityPolicy-TLS13-1-2-2021-06"),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}, Tags: tagList(tags)})
	if err != nil {
		return "", wrap("create the HTTPS listener on port "+strconv.Itoa(int(port)), err)
	}
	if len(out.Listeners) == 0 {
		return "", nil
	}
	return aws.ToString(out.Listeners[0].ListenerArn), nil
}

// DeregisterTarget takes one ip target out of a group: it drains (no new requests) for
// the group's deregistration delay, then disappears from TargetHealth.
func (c *Client) DeregisterTarget(ctx context.Context, tgARN, ip string, port int32) error {
	_, err := c.sdk.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(tgARN),
		Targets: []types.TargetDescription{{Id: aws.String(ip), Port: aws.Int32(port)}}})
	return wrap("deregister target "+ip+" from "+tgARN, err)
}

// RegisterTarget puts one ip target (back) into a group.
func (c *Client) RegisterTarget(ctx context.Context, tgARN, ip string, port int32) error {
	_, err := c.sdk.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tgARN),
		Targets: []types.TargetDescription{{Id: aws.String(ip), Port: aws.Int32(port)}}})
	return wrap("register target "+ip+" in "+tgARN, err)
}
