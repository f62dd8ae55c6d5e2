package secretsapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/awsapi/secretsapi"
	"github.com/rudderctl/rudderctl/internal/localcloud"
)

func TestSecretLifecycle(t *testing.T) {
	_, s := awstest.Start(t, localcloud.Delays{})
	ctx := context.Background()
	c := s.Secrets()
	c.PageSize = 1
	if _, err := c.GetString(ctx, "stack/token"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("read before create: %v", err)
	}
	arn, err := c.Create(ctx, "stack/token", `{"username":"u","password":"p w"}`, "the token", map[string]string{"rudderctl:stack": "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, "stack/token", "x", "", nil); !errors.Is(err, awserr.ErrAlreadyExists) {
		t.Fatalf("create twice: %v", err)
	}
	m, err := c.GetJSON(ctx, arn)
	if err != nil || m["password"] != "p w" {
		t.Fatalf("GetJSON: %v", err)
	}
	if _, err := c.PutString(ctx, "stack/token", "v2"); err != nil {
		t.Fatal(err)
	}
	if v, err := c.GetString(ctx, "stack/token"); err != nil || v != "v2" {
		t.Fatalf("after put: %v", err)
	}
	if _, err := c.Create(ctx, "other", "o", "", nil); err != nil {
		t.Fatal(err)
	}
	all, err := c.List(ctx, secretsapi.Filter{})
	if err != nil || len(all) != 2 {
		t.Fatalf("list (pages of 1): %v %v", all, err)
	}
	mine, err := c.List(ctx, secretsapi.Filter{TagKey: "rudderctl:stack", TagValue: "s1"})
	if err != nil || len(mine) != 1 || mine[0].ARN != arn || mine[0].Tags["rudderctl:stack"] != "s1" {
		t.Fatalf("list by tag: %+v %v", mine, err)
	}
	if err := c.Delete(ctx, arn, 7); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetString(ctx, arn)
	if !errors.Is(err, secretsapi.ErrScheduledForDeletion) || strings.Contains(err.Error(), "v2") {
		t.Fatalf("read a secret scheduled for deletion: %v", err)
	}
	d, err := c.Describe(ctx, arn)
	if err != nil || d.DeletedDate == nil {
		t.Fatalf("describe: %+v %v", d, err)
	}
	if err := c.Restore(ctx, arn); err != nil {
		t.Fatal(err)
	}
	if err := c.Tag(ctx, arn, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Untag(ctx, arn, "rudderctl:stack"); err != nil {
		t.Fatal(err)
	}
	if d, err := c.Describe(ctx, arn); err != nil || len(d.Tags) != 1 || d.Tags["k"] != "v" {
		t.Fatalf("tags: %+v %v", d, err)
	}
	if err := c.Delete(ctx, arn, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, arn, 0); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}
