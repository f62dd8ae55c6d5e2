// Package secretsapi is the part of Secrets Manager rudderctl uses: secrets holding a
// string (often a JSON object), their tags, scheduled deletion and restore, and reading a
// managed secret such as an RDS instance's master password. Errors are *awserr.Error
// (errors.Is(err, awserr.ErrNotFound), ErrAlreadyExists, ErrScheduledForDeletion).
//
// Secret values are returned, never logged or put into an error.
package secretsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

// ErrScheduledForDeletion: the secret exists but is scheduled for deletion (RestoreSecret
// brings it back; a new secret of that name cannot be made until the window ends).
var ErrScheduledForDeletion = errors.New("is scheduled for deletion")

// codes are Secrets Manager's codes, by kind.
var codes = awserr.Codes{"ResourceExistsException": awserr.ErrAlreadyExists}

// wrap types err; an InvalidRequestException about a deletion is ErrScheduledForDeletion
// (the code alone also covers other refusals).
func wrap(what string, err error) error {
	werr := awserr.Wrap(what, err, codes)
	var e *awserr.Error
	var ae smithy.APIError
	if errors.As(werr, &e) && errors.As(err, &ae) && ae.ErrorCode() == "InvalidRequestException" && strings.Contains(ae.ErrorMessage(), "deletion") {
		e.Kind = ErrScheduledForDeletion
	}
	return werr
}

// Client is Secrets Manager, domain-shaped.
type Client struct {
	sdk *secretsmanager.Client
	// PageSize is the MaxResults of each list call; 0 = the service's default.
	PageSize int32
}

// New wraps an SDK client (awsapi.Session builds it).
func New(c *secretsmanager.Client) *Client { return &Client{sdk: c} }

// Secret is what DescribeSecret and ListSecrets say of a secret (never its value).
type Secret struct {
	ARN           string
	Name          string
	Description   string
	OwningService string     // "rds" for an RDS managed master password
	DeletedDate   *time.Time // set when scheduled for deletion
	Tags          map[string]string
}

func fromTags(tags []types.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

func toTags(tags map[string]string) []types.Tag {
	var out []types.Tag
	for k, v := range tags {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// Create makes a secret holding value; ErrAlreadyExists when the name is taken, and
// ErrScheduledForDeletion when a secret of that name awaits deletion.
func (c *Client) Create(ctx context.Context, name, value, description string, tags map[string]string) (arn string, err error) {
	in := &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value), Tags: toTags(tags)}
	if description != "" {
		in.Description = aws.String(description)
	}
	out, err := c.sdk.CreateSecret(ctx, in)
	if err != nil {
		return "", wrap("create secret "+name, err)
	}
	return aws.ToString(out.ARN), nil
}

// GetString is the secret's current (AWSCURRENT) string value; id is its name or ARN.
func (c *Client) GetString(ctx context.Context, id string) (string, error) {
	out, err := c.sdk.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", wrap("read secret "+id, err)
	}
	if out.SecretString == nil {
		return "", &awserr.Error{What: "read secret " + id, Err: errors.New("it holds a binary value, not a string")}
	}
	return *out.SecretString, nil
}

// GetJSON reads a secret holding a JSON object of strings (an RDS managed secret:
// {"username", "password"}).
func (c *Client) GetJSON(ctx context.Context, id string) (map[string]string, error) {
	s, err := c.GetString(ctx, id)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, &awserr.Error{What: "read secret " + id, Err: errors.New("its value is not a JSON object")}
	}
	out := map[string]string{}
	for k, v := range m {
		if str, ok := v.(string); ok {
			out[k] = str
		} else {
			b, _ := json.Marshal(v)
			out[k] = string(b)
		}
	}
	return out, nil
}

// PutString stores a new current value (the old one becomes AWSPREVIOUS).
func (c *Client) PutString(ctx context.Context, id, value string) (versionID string, err error) {
	out, err := c.sdk.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(value)})
	if err != nil {
		return "", wrap("store a new value of secret "+id, err)
	}
	return aws.ToString(out.VersionId), nil
}

// Describe reads a secret's metadata; ErrNotFound when there is none (a secret scheduled
// for deletion is found, with DeletedDate set).
func (c *Client) Describe(ctx context.Context, id string) (*Secret, error) {
	out, err := c.sdk.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		return nil, wrap("read secret "+id, err)
	}
	return &Secret{ARN: aws.ToString(out.ARN), Name: aws.ToString(out.Name), Description: aws.ToString(out.Description),
		OwningService: aws.ToString(out.OwningService), DeletedDate: out.DeletedDate, Tags: fromTags(out.Tags)}, nil
}

// Filter narrows List: each set field must match (by prefix, as Secrets Manager does).
type Filter struct {
	NamePrefix string
	TagKey     string
	TagValue   string
	// IncludeScheduled lists the secrets scheduled for deletion too.
	IncludeScheduled bool
}

// List reads every page of the secrets that match f.
func (c *Client) List(ctx context.Context, f Filter) ([]Secret, error) {
	in := &secretsmanager.ListSecretsInput{IncludePlannedDeletion: aws.Bool(f.IncludeScheduled)}
	add := func(key types.FilterNameStringType, v string) {
		if v != "" {
			in.Filters = append(in.Filters, types.Filter{Key: key, Values: []string{v}})
		}
	}
	add(types.FilterNameStringTypeName, f.NamePrefix)
	add(types.FilterNameStringTypeTagKey, f.TagKey)
	add(types.FilterNameStringTypeTagValue, f.TagValue)
	p := secretsmanager.NewListSecretsPaginator(c.sdk, in, func(o *secretsmanager.ListSecretsPaginatorOptions) { o.Limit = c.PageSize })
	var out []Secret
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("list secrets", err)
		}
		for _, s := range page.SecretList {
			out = append(out, Secret{ARN: aws.ToString(s.ARN), Name: aws.ToString(s.Name), Description: aws.ToString(s.Description),
				OwningService: aws.ToString(s.OwningService), DeletedDate: s.DeletedDate, Tags: fromTags(s.Tags)})
		}
	}
	return out, nil
}

// Delete schedules the secret's deletion after recoveryDays (7..30), or deletes it at
// once when recoveryDays is 0. ErrNotFound when it is gone already.
func (c *Client) Delete(ctx context.Context, id string, recoveryDays int64) error {
	in := &secretsmanager.DeleteSecretInput{SecretId: aws.String(id)}
	if recoveryDays == 0 {
		in.ForceDeleteWithoutRecovery = aws.Bool(true)
	} else {
		in.RecoveryWindowInDays = aws.Int64(recoveryDays)
	}
	_, err := c.sdk.DeleteSecret(ctx, in)
	return wrap(fmt.Sprintf("delete secret %s", id), err)
}

// Restore cancels a scheduled deletion.
func (c *Client) Restore(ctx context.Context, id string) error {
	_, err := c.sdk.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String(id)})
	return wrap("restore secret "+id, err)
}

// Tag adds (or overwrites) tags.
func (c *Client) Tag(ctx context.Context, id string, tags map[string]string) error {
	_, err := c.sdk.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(id), Tags: toTags(tags)})
	return wrap("tag secret "+id, err)
}

// Untag removes tags by key.
func (c *Client) Untag(ctx context.Context, id string, keys ...string) error {
	_, err := c.sdk.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: aws.String(id), TagKeys: keys})
	return wrap("untag secret "+id, err)
}

// Observe reads a secret and, unless it is scheduled for deletion, its current string
// value; a secret that does not exist is (nil, "", nil).
func (c *Client) Observe(ctx context.Context, id string) (*Secret, string, error) {
	s, err := c.Describe(ctx, id)
	if errors.Is(err, awserr.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil || s.DeletedDate != nil {
		return s, "", err
	}
	v, err := c.GetString(ctx, s.ARN)
	return s, v, err
}
