package iamapi_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/awsapi/iamapi"
	"github.com/rudderctl/rudderctl/internal/localcloud"
)

const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func TestRoleLifecycle(t *testing.T) {
	_, s := awstest.Start(t, localcloud.Delays{})
	ctx := context.Background()
	c := s.IAM()
	if _, err := c.FindRole(ctx, "r"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("FindRole before create: %v", err)
	}
	r, err := c.CreateRole(ctx, iamapi.RoleSpec{Name: "r", Path: "/rudderctl/", Trust: trust, Description: "d", Tags: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "r" || r.ARN == "" {
		t.Fatalf("created %+v", r)
	}
	if _, err := c.CreateRole(ctx, iamapi.RoleSpec{Name: "r", Trust: trust}); !errors.Is(err, awserr.ErrAlreadyExists) {
		t.Fatalf("CreateRole twice: %v", err)
	}
	got, err := c.FindRole(ctx, "r")
	if err != nil || got.ARN != r.ARN || got.Trust == "" {
		t.Fatalf("FindRole: %+v %v", got, err)
	}
	if _, err := c.InlinePolicy(ctx, "r", "p"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("InlinePolicy before put: %v", err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}]}`
	if err := c.PutInlinePolicy(ctx, "r", "p", doc); err != nil {
		t.Fatal(err)
	}
	if got, err := c.InlinePolicy(ctx, "r", "p"); err != nil || got == "" {
		t.Fatalf("InlinePolicy: %q %v", got, err)
	}
	if err := c.DeleteRole(ctx, "r"); !errors.Is(err, awserr.ErrConflict) {
		t.Fatalf("DeleteRole with a policy left: %v; want ErrConflict", err)
	}
	if err := c.DeleteInlinePolicy(ctx, "r", "p"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteInlinePolicy(ctx, "r", "p"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("DeleteInlinePolicy twice: %v", err)
	}
	if err := c.DeleteRole(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteRole(ctx, "r"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("DeleteRole twice: %v", err)
	}
}

// ListRolePolicies and Tags read every page (IAM's Marker paging, MaxItems honoured by the
// local cloud): 5 items by 2 are 3 calls.
func TestListsReadEveryPage(t *testing.T) {
	cloud, s := awstest.Start(t, localcloud.Delays{})
	ctx := context.Background()
	c := s.IAM()
	tags := map[string]string{}
	for i := range 5 {
		tags[fmt.Sprintf("t%d", i)] = "v"
	}
	if _, err := c.CreateRole(ctx, iamapi.RoleSpec{Name: "r", Trust: trust, Tags: tags}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 5 {
		p := fmt.Sprintf("p%d", i)
		want = append(want, p)
		if err := c.PutInlinePolicy(ctx, "r", p, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`); err != nil {
			t.Fatal(err)
		}
	}
	c.PageSize = 2
	cloud.ResetStats()
	names, err := c.ListRolePolicies(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Fatalf("policies %v, want %v", names, want)
	}
	got, err := c.Tags(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("tags %v, want 5", got)
	}
	ops := cloud.Stats().ByOperation
	if ops["iam:ListRolePolicies"] != 3 || ops["iam:ListRoleTags"] != 3 {
		t.Fatalf("calls %v; want 3 pages of each list", ops)
	}
	if _, err := c.ListRolePolicies(ctx, "ghost"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("ListRolePolicies(ghost): %v", err)
	}
}
