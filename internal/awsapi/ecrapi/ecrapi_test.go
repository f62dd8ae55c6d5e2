package ecrapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/localcloud"
)

// A repository: not found, created tagged, its lifecycle policy, a login, deleted.
func TestRepositoryLifecycle(t *testing.T) {
	_, s := awstest.Start(t, localcloud.Delays{})
	ctx := context.Background()
	c := s.ECR()
	if _, err := c.FindRepository(ctx, "st/app"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("before create: %v", err)
	}
	r, err := c.CreateRepository(ctx, "st/app", map[string]string{"k": "v"})
	if err != nil || !strings.HasSuffix(r.URI, "/st/app") {
		t.Fatalf("created %+v, %v", r, err)
	}
	if _, err := c.CreateRepository(ctx, "st/app", nil); !errors.Is(err, awserr.ErrAlreadyExists) {
		t.Fatalf("again: %v", err)
	}
	if found, err := c.FindRepository(ctx, "st/app"); err != nil || found.Tags["k"] != "v" || found.URI != r.URI {
		t.Fatalf("found %+v, %v", found, err)
	}
	if _, err := c.LifecyclePolicy(ctx, "st/app"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("lifecycle before put: %v", err)
	}
	const policy = `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}]}`
	if err := c.PutLifecyclePolicy(ctx, "st/app", policy); err != nil {
		t.Fatal(err)
	}
	if got, err := c.LifecyclePolicy(ctx, "st/app"); err != nil || !strings.Contains(got, "imageCountMoreThan") {
		t.Fatalf("lifecycle %q, %v", got, err)
	}
	if _, err := c.ImageDigest(ctx, "st/app", "current"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("image before a push: %v", err)
	}
	login, err := c.Login(ctx)
	if err != nil || login.User != "AWS" || login.Password == "" || login.Registry == "" {
		t.Fatalf("login %+v, %v", login, err)
	}
	if err := c.DeleteRepository(ctx, "st/app"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FindRepository(ctx, "st/app"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
