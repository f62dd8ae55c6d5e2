// Package stsapi is the part of STS rudderctl uses: who the credentials are.
package stsapi

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

// Client is STS, domain-shaped.
type Client struct{ sdk *sts.Client }

// New wraps an SDK client (awsapi.Session builds it).
func New(c *sts.Client) *Client { return &Client{sdk: c} }

// AccountID is the account of the credentials (sts:GetCallerIdentity).
func (c *Client) AccountID(ctx context.Context) (string, error) {
	out, err := c.sdk.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", awserr.Wrap("identify the AWS account (sts:GetCallerIdentity)", err, nil)
	}
	return aws.ToString(out.Account), nil
}
