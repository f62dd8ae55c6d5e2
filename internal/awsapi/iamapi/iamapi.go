// Package iamapi is the part of IAM rudderctl uses, shaped as roles and their inline
// policies. Errors are *awserr.Error: errors.Is(err, awserr.ErrNotFound) and the like.
package iamapi

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

// Client is IAM, domain-shaped.
type Client struct {
	sdk *iam.Client
	// PageSize is MaxItems of each list call; 0 = the service's default (sent as absent).
	PageSize int32
}

// New wraps an SDK client (awsapi.Session builds it).
func New(c *iam.Client) *Client { return &Client{sdk: c} }

// Role is what GetRole says of a role.
type Role struct {
	Name  string
	ARN   string
	Trust string            // the assume-role policy document as IAM returns it (URL-encoded on AWS)
	Tags  map[string]string // GetRole's tags: may be empty on AWS even when the role has some (see Tags)
}

// RoleSpec is a role to create.
type RoleSpec struct {
	Name, Path, Trust, Description string
	Tags                           map[string]string
}

func tagList(tags map[string]string) []types.Tag {
	var out []types.Tag
	for k, v := range tags {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(v)})
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

func roleOf(r *types.Role) *Role {
	return &Role{Name: aws.ToString(r.RoleName), ARN: aws.ToString(r.Arn), Trust: aws.ToString(r.AssumeRolePolicyDocument), Tags: tagMap(r.Tags)}
}

// FindRole reads a role (iam:GetRole); ErrNotFound when there is none.
func (c *Client) FindRole(ctx context.Context, name string) (*Role, error) {
	out, err := c.sdk.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		return nil, awserr.Wrap("read IAM role "+name, err, nil)
	}
	return roleOf(out.Role), nil
}

// Tags are the role's tags, every page (iam:ListRoleTags).
func (c *Client) Tags(ctx context.Context, role string) (map[string]string, error) {
	tags := map[string]string{}
	p := iam.NewListRoleTagsPaginator(c.sdk, &iam.ListRoleTagsInput{RoleName: aws.String(role)}, func(o *iam.ListRoleTagsPaginatorOptions) { o.Limit = c.PageSize })
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, awserr.Wrap("read the tags of IAM role "+role, err, nil)
		}
		for k, v := range tagMap(out.Tags) {
			tags[k] = v
		}
	}
	return tags, nil
}

// ListRolePolicies are the names of the role's inline policies, every page.
func (c *Client) ListRolePolicies(ctx context.Context, role string) ([]string, error) {
	var names []string
	p := iam.NewListRolePoliciesPaginator(c.sdk, &iam.ListRolePoliciesInput{RoleName: aws.String(role)}, func(o *iam.ListRolePoliciesPaginatorOptions) { o.Limit = c.PageSize })
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, awserr.Wrap("list the policies of IAM role "+role, err, nil)
		}
		names = append(names, out.PolicyNames...)
	}
	return names, nil
}

// InlinePolicy is the document of one inline policy (as IAM returns it: URL-encoded on
// AWS); ErrNotFound when the role or the policy is missing.
func (c *Client) InlinePolicy(ctx context.Context, role, policy string) (string, error) {
	out, err := c.sdk.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(policy)})
	if err != nil {
		return "", awserr.Wrap(fmt.Sprintf("read policy %s of IAM role %s", policy, role), err, nil)
	}
	return aws.ToString(out.PolicyDocument), nil
}

// CreateRole creates a role; ErrAlreadyExists when the name is taken.
func (c *Client) CreateRole(ctx context.Context, s RoleSpec) (*Role, error) {
	in := &iam.CreateRoleInput{RoleName: aws.String(s.Name), AssumeRolePolicyDocument: aws.String(s.Trust), Tags: tagList(s.Tags)}
	if s.Path != "" {
		in.Path = aws.String(s.Path)
	}
	if s.Description != "" {
		in.Description = aws.String(s.Description)
	}
	out, err := c.sdk.CreateRole(ctx, in)
	if err != nil {
		return nil, awserr.Wrap("create IAM role "+s.Name, err, nil)
	}
	return roleOf(out.Role), nil
}

// TagRole adds (or overwrites) tags; others stay.
func (c *Client) TagRole(ctx context.Context, role string, tags map[string]string) error {
	_, err := c.sdk.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(role), Tags: tagList(tags)})
	return awserr.Wrap("tag IAM role "+role, err, nil)
}

// UpdateTrust replaces the role's assume-role policy.
func (c *Client) UpdateTrust(ctx context.Context, role, doc string) error {
	_, err := c.sdk.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(doc)})
	return awserr.Wrap("update the trust policy of IAM role "+role, err, nil)
}

// PutInlinePolicy creates or replaces an inline policy.
func (c *Client) PutInlinePolicy(ctx context.Context, role, policy, doc string) error {
	_, err := c.sdk.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(policy), PolicyDocument: aws.String(doc)})
	return awserr.Wrap(fmt.Sprintf("put policy %s of IAM role %s", policy, role), err, nil)
}

// DeleteInlinePolicy deletes an inline policy; ErrNotFound when it is gone already.
func (c *Client) DeleteInlinePolicy(ctx context.Context, role, policy string) error {
	_, err := c.sdk.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(policy)})
	return awserr.Wrap(fmt.Sprintf("delete policy %s of IAM role %s", policy, role), err, nil)
}

// DeleteRole deletes a role (its inline policies must be gone); ErrNotFound when it is gone
// already, ErrConflict while it still has policies.
func (c *Client) DeleteRole(ctx context.Context, role string) error {
	_, err := c.sdk.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(role)})
	return awserr.Wrap("delete IAM role "+role, err, awserr.Codes{"DeleteConflict": awserr.ErrConflict})
}
