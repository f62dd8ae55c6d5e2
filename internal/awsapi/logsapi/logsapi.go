// Package logsapi is the part of CloudWatch Logs rudderctl uses: log groups, their tags and
// retention, and reading events. Errors are *awserr.Error (errors.Is(err, awserr.ErrNotFound)).
package logsapi

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

// Client is CloudWatch Logs, domain-shaped.
type Client struct {
	sdk *cloudwatchlogs.Client
	// PageSize is the limit of each list call; 0 = the service's default (sent as absent).
	PageSize int32
}

// New wraps an SDK client (awsapi.Session builds it).
func New(c *cloudwatchlogs.Client) *Client { return &Client{sdk: c} }

// LogGroup is what DescribeLogGroups says of a group.
type LogGroup struct {
	Name      string
	ARN       string // without the ":*" of the older Arn field
	Retention int32  // days; 0 = never expire
}

// ListLogGroups are the groups whose name starts with prefix, every page.
func (c *Client) ListLogGroups(ctx context.Context, prefix string) ([]LogGroup, error) {
	var out []LogGroup
	err := c.eachGroup(ctx, prefix, func(g LogGroup) bool { out = append(out, g); return true })
	return out, err
}

// FindLogGroup reads one group; ErrNotFound when there is none. It pages only as far as
// the group.
func (c *Client) FindLogGroup(ctx context.Context, name string) (*LogGroup, error) {
	var found *LogGroup
	err := c.eachGroup(ctx, name, func(g LogGroup) bool {
		if g.Name == name {
			found = &g
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, &awserr.Error{What: "read log group " + name, Kind: awserr.ErrNotFound, Err: errNoGroup}
	}
	return found, nil
}

// errNoGroup is the error Logs itself gives for a missing group elsewhere (a
// DescribeLogGroups that finds nothing just answers an empty list).
var errNoGroup = &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "The specified log group does not exist."}

// eachGroup calls fn for each group of prefix, page by page, until fn says stop.
func (c *Client) eachGroup(ctx context.Context, prefix string, fn func(LogGroup) bool) error {
	in := &cloudwatchlogs.DescribeLogGroupsInput{}
	if prefix != "" {
		in.LogGroupNamePrefix = aws.String(prefix)
	}
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(c.sdk, in, func(o *cloudwatchlogs.DescribeLogGroupsPaginatorOptions) { o.Limit = c.PageSize })
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return awserr.Wrap("read log group "+prefix, err, nil)
		}
		for _, g := range out.LogGroups {
			arn := aws.ToString(g.LogGroupArn)
			if arn == "" {
				arn = strings.TrimSuffix(aws.ToString(g.Arn), ":*")
			}
			if !fn(LogGroup{Name: aws.ToString(g.LogGroupName), ARN: arn, Retention: aws.ToInt32(g.RetentionInDays)}) {
				return nil
			}
		}
	}
	return nil
}

// Tags are the tags of the group with this ARN.
func (c *Client) Tags(ctx context.Context, arn string) (map[string]string, error) {
	out, err := c.sdk.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return nil, awserr.Wrap("read the tags of log group "+arn, err, nil)
	}
	if out.Tags == nil {
		return map[string]string{}, nil
	}
	return out.Tags, nil
}

// CreateLogGroup creates a tagged group; ErrAlreadyExists when it exists.
func (c *Client) CreateLogGroup(ctx context.Context, name string, tags map[string]string) error {
	_, err := c.sdk.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name), Tags: tags})
	return awserr.Wrap("create log group "+name, err, nil)
}

// TagLogGroup adds (or overwrites) tags of the group with this ARN.
func (c *Client) TagLogGroup(ctx context.Context, arn string, tags map[string]string) error {
	_, err := c.sdk.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags})
	return awserr.Wrap("tag log group "+arn, err, nil)
}

// PutRetention sets how many days events are kept.
func (c *Client) PutRetention(ctx context.Context, name string, days int32) error {
	_, err := c.sdk.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(name), RetentionInDays: aws.Int32(days)})
	return awserr.Wrap("set the retention of log group "+name, err, nil)
}

// DeleteLogGroup deletes a group and its events; ErrNotFound when it is gone already.
func (c *Client) DeleteLogGroup(ctx context.Context, name string) error {
	_, err := c.sdk.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(name)})
	return awserr.Wrap("delete log group "+name, err, nil)
}

// Event is one log event.
type Event struct {
	ID        string
	Timestamp int64 // Unix milliseconds
	Stream    string
	Message   string
}

// FilterEvents calls fn for each event of the group from startMillis on, every page;
// ErrNotFound when the group does not exist. fn's error stops the paging and is returned.
func (c *Client) FilterEvents(ctx context.Context, group string, startMillis int64, fn func(Event) error) error {
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), StartTime: aws.Int64(startMillis)}
	p := cloudwatchlogs.NewFilterLogEventsPaginator(c.sdk, in, func(o *cloudwatchlogs.FilterLogEventsPaginatorOptions) { o.Limit = c.PageSize })
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return awserr.Wrap("read log group "+group, err, nil)
		}
		for _, e := range out.Events {
			ev := Event{ID: aws.ToString(e.EventId), Timestamp: aws.ToInt64(e.Timestamp), Stream: aws.ToString(e.LogStreamName), Message: aws.ToString(e.Message)}
			if err := fn(ev); err != nil {
				return err
			}
		}
	}
	return nil
}
