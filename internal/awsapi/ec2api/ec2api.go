// Package ec2api is the part of EC2 rudderctl uses: the default VPC and its subnets, and
// security groups with their ingress rules. Errors are *awserr.Error
// (errors.Is(err, awserr.ErrNotFound)).
package ec2api

import (
	"context"
	"errors"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

// Client is EC2, domain-shaped.
type Client struct {
	sdk *ec2.Client
}

// New wraps an SDK client (awsapi.Session builds it).
func New(c *ec2.Client) *Client { return &Client{sdk: c} }

// EC2's own codes.
var codes = awserr.Codes{
	"InvalidGroup.NotFound":       awserr.ErrNotFound,
	"InvalidGroupId.NotFound":     awserr.ErrNotFound,
	"InvalidVpcID.NotFound":       awserr.ErrNotFound,
	"InvalidSubnetID.NotFound":    awserr.ErrNotFound,
	"InvalidPermission.NotFound":  awserr.ErrNotFound,
	"InvalidGroup.Duplicate":      awserr.ErrAlreadyExists,
	"InvalidPermission.Duplicate": awserr.ErrAlreadyExists,
	"DependencyViolation":         awserr.ErrConflict,
	"InvalidGroup.InUse":          awserr.ErrConflict,
	"RequestLimitExceeded":        awserr.ErrThrottled,
}

func wrap(what string, err error) error { return awserr.Wrap(what, err, codes) }

func notFound(what, code, msg string) error {
	return &awserr.Error{What: what, Kind: awserr.ErrNotFound, Err: &smithy.GenericAPIError{Code: code, Message: msg}}
}

// Subnet is one subnet.
type Subnet struct {
	ID, VPC, CIDR, AZ string
	Default           bool
}

// DefaultVPC is the region's default VPC id; ErrNotFound when the account has none.
func (c *Client) DefaultVPC(ctx context.Context) (string, error) {
	in := &ec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}}
	p := ec2.NewDescribeVpcsPaginator(c.sdk, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return "", wrap("find the default VPC", err)
		}
		for _, v := range out.Vpcs {
			if aws.ToBool(v.IsDefault) {
				return aws.ToString(v.VpcId), nil
			}
		}
	}
	return "", notFound("find the default VPC", "InvalidVpcID.NotFound", "this region has no default VPC")
}

// Subnets are the subnets of vpc, by AZ then id.
func (c *Client) Subnets(ctx context.Context, vpc string) ([]Subnet, error) {
	in := &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}}
	return c.describeSubnets(ctx, "list the subnets of VPC "+vpc, in)
}

// FindSubnets reads subnets by id; ErrNotFound when one is missing.
func (c *Client) FindSubnets(ctx context.Context, ids []string) ([]Subnet, error) {
	return c.describeSubnets(ctx, "read subnets", &ec2.DescribeSubnetsInput{SubnetIds: ids})
}

func (c *Client) describeSubnets(ctx context.Context, what string, in *ec2.DescribeSubnetsInput) ([]Subnet, error) {
	var out []Subnet
	p := ec2.NewDescribeSubnetsPaginator(c.sdk, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap(what, err)
		}
		for _, s := range page.Subnets {
			out = append(out, Subnet{ID: aws.ToString(s.SubnetId), VPC: aws.ToString(s.VpcId), CIDR: aws.ToString(s.CidrBlock),
				AZ: aws.ToString(s.AvailabilityZone), Default: aws.ToBool(s.DefaultForAz)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].AZ != out[j].AZ {
			return out[i].AZ < out[j].AZ
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Rule is one ingress rule: TCP FromPort..ToPort from a security group or a CIDR.
type Rule struct {
	Protocol         string // "tcp", "-1"...
	FromPort, ToPort int32
	FromGroup        string // source security group id
	CIDR             string // source IPv4 range
}

// Same reports whether two rules allow the same traffic.
func (r Rule) Same(o Rule) bool {
	return r.Protocol == o.Protocol && r.FromPort == o.FromPort && r.ToPort == o.ToPort && r.FromGroup == o.FromGroup && r.CIDR == o.CIDR
}

// SecurityGroup is a group with its rules and tags.
type SecurityGroup struct {
	ID, Name, VPC string
	Tags          map[string]string
	Ingress       []Rule
	Egress        []Rule
}

// FindSecurityGroup reads the group named name in vpc; ErrNotFound when there is none.
func (c *Client) FindSecurityGroup(ctx context.Context, vpc, name string) (*SecurityGroup, error) {
	in := &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{name}}}}
	gs, err := c.describeGroups(ctx, "read security group "+name, in)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		if g.Name == name {
			return &g, nil
		}
	}
	return nil, notFound("read security group "+name, "InvalidGroup.NotFound", "no security group "+name+" in "+vpc)
}

// GroupsTagged are the groups carrying tag key=value, in any VPC.
func (c *Client) GroupsTagged(ctx context.Context, key, value string) ([]SecurityGroup, error) {
	in := &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("tag:" + key), Values: []string{value}}}}
	return c.describeGroups(ctx, "list security groups tagged "+key+"="+value, in)
}

func (c *Client) describeGroups(ctx context.Context, what string, in *ec2.DescribeSecurityGroupsInput) ([]SecurityGroup, error) {
	var out []SecurityGroup
	p := ec2.NewDescribeSecurityGroupsPaginator(c.sdk, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap(what, err)
		}
		for _, g := range page.SecurityGroups {
			sg := SecurityGroup{ID: aws.ToString(g.GroupId), Name: aws.ToString(g.GroupName), VPC: aws.ToString(g.VpcId), Tags: tagMap(g.Tags)}
			sg.Ingress = rulesOf(g.IpPermissions)
			sg.Egress = rulesOf(g.IpPermissionsEgress)
			out = append(out, sg)
		}
	}
	return out, nil
}

func rulesOf(perms []types.IpPermission) []Rule {
	var out []Rule
	for _, p := range perms {
		base := Rule{Protocol: aws.ToString(p.IpProtocol), FromPort: aws.ToInt32(p.FromPort), ToPort: aws.ToInt32(p.ToPort)}
		for _, g := range p.UserIdGroupPairs {
			r := base
			r.FromGroup = aws.ToString(g.GroupId)
			out = append(out, r)
		}
		for _, cidr := range p.IpRanges {
			r := base
			r.CIDR = aws.ToString(cidr.CidrIp)
			out = append(out, r)
		}
		for _, cidr := range p.Ipv6Ranges {
			r := base
			r.CIDR = aws.ToString(cidr.CidrIpv6)
			out = append(out, r)
		}
	}
	return out
}

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
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

// CreateSecurityGroup creates a tagged group in vpc and returns its id.
func (c *Client) CreateSecurityGroup(ctx context.Context, vpc, name, description string, tags map[string]string) (string, error) {
	out, err := c.sdk.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(description),
		VpcId: aws.String(vpc), TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: tagList(tags)}}})
	if err != nil {
		return "", wrap("create security group "+name, err)
	}
	return aws.ToString(out.GroupId), nil
}

// AllowIngress adds one ingress rule; ErrAlreadyExists when it is there.
func (c *Client) AllowIngress(ctx context.Context, group string, r Rule) error {
	_, err := c.sdk.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: []types.IpPermission{permission(r)}})
	return wrap("allow ingress to security group "+group, err)
}

// RevokeIngress removes one ingress rule (matched by what it allows).
func (c *Client) RevokeIngress(ctx context.Context, group string, r Rule) error {
	_, err := c.sdk.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: []types.IpPermission{permission(r)}})
	return wrap("revoke an ingress rule of security group "+group, err)
}

func permission(r Rule) types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String(r.Protocol), FromPort: aws.Int32(r.FromPort), ToPort: aws.Int32(r.ToPort)}
	if r.FromGroup != "" {
		p.UserIdGroupPairs = []types.UserIdGroupPair{{GroupId: aws.String(r.FromGroup)}}
	}
	if r.CIDR != "" {
		p.IpRanges = []types.IpRange{{CidrIp: aws.String(r.CIDR)}}
	}
	return p
}

// TagResources adds (or overwrites) tags of EC2 resources by id.
func (c *Client) TagResources(ctx context.Context, ids []string, tags map[string]string) error {
	_, err := c.sdk.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids, Tags: tagList(tags)})
	return wrap("tag EC2 resources", err)
}

// DeleteSecurityGroup deletes a group by id; ErrConflict while something still uses it.
func (c *Client) DeleteSecurityGroup(ctx context.Context, id string) error {
	_, err := c.sdk.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	return wrap("delete security group "+id, err)
}

// IsInUse reports whether err is EC2 refusing because a dependent object remains.
func IsInUse(err error) bool { return errors.Is(err, awserr.ErrConflict) }
