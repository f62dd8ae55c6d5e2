package logsapi_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/awsapi/logsapi"
	"github.com/rudderctl/rudderctl/internal/localcloud"
)

func TestLogGroupLifecycle(t *testing.T) {
	_, s := awstest.Start(t, localcloud.Delays{})
	ctx := context.Background()
	c := s.Logs()
	_, err := c.FindLogGroup(ctx, "/g")
	if !errors.Is(err, awserr.ErrNotFound) || !awsapi.IsNotFound(err) {
		t.Fatalf("FindLogGroup before create: %v", err)
	}
	if want := "could not read log group /g: ResourceNotFoundException: The specified log group does not exist.; check the error above and run the command again (every step is idempotent)"; err.Error() != want {
		t.Fatalf("message %q", err)
	}
	if err := c.CreateLogGroup(ctx, "/g", map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	// A group whose name starts with /g is not /g.
	if err := c.CreateLogGroup(ctx, "/g2", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateLogGroup(ctx, "/g", nil); !errors.Is(err, awserr.ErrAlreadyExists) {
		t.Fatalf("CreateLogGroup twice: %v", err)
	}
	if err := c.PutRetention(ctx, "/g", 7); err != nil {
		t.Fatal(err)
	}
	g, err := c.FindLogGroup(ctx, "/g")
	if err != nil || g.Name != "/g" || g.Retention != 7 || g.ARN == "" {
		t.Fatalf("FindLogGroup: %+v %v", g, err)
	}
	if err := c.TagLogGroup(ctx, g.ARN, map[string]string{"k2": "v2"}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.Tags(ctx, g.ARN)
	if err != nil || tags["k"] != "v" || tags["k2"] != "v2" {
		t.Fatalf("Tags: %v %v", tags, err)
	}
	if err := c.DeleteLogGroup(ctx, "/g"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteLogGroup(ctx, "/g"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("DeleteLogGroup twice: %v", err)
	}
	if err := c.FilterEvents(ctx, "/g", 0, func(logsEvent) error { return nil }); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("FilterEvents of a deleted group: %v", err)
	}
}

// ListLogGroups and FilterEvents read every page (nextToken; limit honoured by the local
// cloud); FindLogGroup pages only as far as the group.
func TestListsReadEveryPage(t *testing.T) {
	cloud, s := awstest.Start(t, localcloud.Delays{})
	ctx := context.Background()
	c := s.Logs()
	for i := range 5 {
		if err := c.CreateLogGroup(ctx, fmt.Sprintf("/p/g%d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	putEvents(t, "/p/g0", 5)
	c.PageSize = 2
	cloud.ResetStats()
	groups, err := c.ListLogGroups(ctx, "/p/")
	if err != nil || len(groups) != 5 {
		t.Fatalf("ListLogGroups: %v %v", groups, err)
	}
	if n := cloud.Stats().ByOperation["logs:DescribeLogGroups"]; n != 3 {
		t.Fatalf("%d DescribeLogGroups calls for 5 groups by 2; want 3", n)
	}
	var got []string
	if err := c.FilterEvents(ctx, "/p/g0", 0, func(e logsEvent) error { got = append(got, e.Message); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[e0 e1 e2 e3 e4]" {
		t.Fatalf("events %v", got)
	}
	if n := cloud.Stats().ByOperation["logs:FilterLogEvents"]; n != 3 {
		t.Fatalf("%d FilterLogEvents calls for 5 events by 2; want 3", n)
	}
	cloud.ResetStats()
	if _, err := c.FindLogGroup(ctx, "/p/g"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("FindLogGroup(/p/g): %v", err)
	}
	if n := cloud.Stats().ByOperation["logs:DescribeLogGroups"]; n != 3 {
		t.Fatalf("a missing group: %d calls, want every page (3)", n)
	}
	cloud.ResetStats()
	if g, err := c.FindLogGroup(ctx, "/p/g0"); err != nil || g.Name != "/p/g0" {
		t.Fatalf("FindLogGroup(/p/g0): %v %v", g, err)
	}
	if n := cloud.Stats().ByOperation["logs:DescribeLogGroups"]; n != 1 {
		t.Fatalf("a group on the first page: %d calls, want 1", n)
	}
}

type logsEvent = logsapi.Event

// putEvents writes n events e0..e(n-1) to group with the SDK directly (rudderctl itself
// never writes logs).
func putEvents(t *testing.T, group string, n int) {
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(awstest.Region))
	if err != nil {
		t.Fatal(err)
	}
	sdk := cloudwatchlogs.NewFromConfig(cfg)
	ctx := context.Background()
	if _, err := sdk.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	var evs []types.InputLogEvent
	for i := range n {
		evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(now + int64(i)), Message: aws.String(fmt.Sprintf("e%d", i))})
	}
	if _, err := sdk.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
}
