package lambdaapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/awsapi/iamapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/lambdaapi"
	"github.com/rudderctl/rudderctl/internal/localcloud"
)

const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

var wait = lambdaapi.Wait{MinDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond, For: time.Minute}

// zipOf is a zip holding one file with content (never invoked here).
func zipOf(t *testing.T, content string) ([]byte, string) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("index.js")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(content))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b.Bytes())
	return b.Bytes(), base64.StdEncoding.EncodeToString(sum[:])
}

func TestFunctionLifecycle(t *testing.T) {
	cloud, s := awstest.Start(t, localcloud.Delays{}) // a new role is unusable for 2 s
	ctx := context.Background()
	c := s.Lambda()
	if _, err := c.FindFunction(ctx, "f"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("FindFunction before create: %v", err)
	}
	role, err := s.IAM().CreateRole(ctx, iamapi.RoleSpec{Name: "fr", Trust: trust})
	if err != nil {
		t.Fatal(err)
	}
	zip1, sha1 := zipOf(t, "one")
	spec := lambdaapi.FunctionSpec{Name: "f", Code: lambdaapi.Code{Zip: zip1}, Description: "test", Tags: map[string]string{"k": "v"},
		Config: lambdaapi.Config{Runtime: "nodejs22.x", Handler: "index.handler", Arch: "x86_64", Role: role.ARN, Memory: 128, Timeout: 3, Env: map[string]string{"A": "1"}}}
	// Right after CreateRole: Lambda refuses the role until it propagates, and the Lambda
	// retry policy retries that.
	arn, err := c.CreateFunction(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if n := cloud.Stats().ByOperation["lambda:CreateFunction"]; n < 2 {
		t.Fatalf("CreateFunction called %d time(s): the role propagation was not retried", n)
	}
	if _, err := c.CreateFunction(ctx, spec); !errors.Is(err, awserr.ErrAlreadyExists) {
		t.Fatalf("CreateFunction twice: %v", err)
	}
	if err := c.WaitActive(ctx, "f", wait); err != nil {
		t.Fatal(err)
	}
	f, err := c.FindFunction(ctx, "f")
	if err != nil || f.State != "Active" || f.CodeSha256 != sha1 || f.Tags["k"] != "v" || f.Config.Env["A"] != "1" || f.Config.Memory != 128 ||
		!strings.HasPrefix(f.ARN, arn) {
		t.Fatalf("FindFunction: %+v %v", f, err)
	}
	if err := c.TagFunction(ctx, arn, map[string]string{"k2": "v2"}); err != nil {
		t.Fatal(err)
	}

	// Three published versions, each of other code.
	var versions []string
	for i, content := range []string{"one", "two", "three"} {
		if i > 0 {
			z, _ := zipOf(t, content)
			if err := c.UpdateCode(ctx, "f", lambdaapi.Code{Zip: z}, "x86_64"); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitUpdated(ctx, "f", wait); err != nil {
				t.Fatal(err)
			}
		}
		_, sha := zipOf(t, content)
		v, err := c.PublishVersion(ctx, "f", sha, "v")
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if err := c.WaitVersionActive(ctx, "f", versions[2], wait); err != nil {
		t.Fatal(err)
	}
	// ListVersionsByFunction pages by MaxItems: $LATEST + 3 by 2 = 2 calls.
	c.PageSize = 2
	cloud.ResetStats()
	vs, err := c.PublishedVersions(ctx, "f")
	if err != nil || len(vs) != 3 || vs[0].Number != versions[0] || vs[2].Number != versions[2] || vs[0].CodeSha256 != sha1 {
		t.Fatalf("PublishedVersions: %+v %v (published %v)", vs, err, versions)
	}
	if n := cloud.Stats().ByOperation["lambda:ListVersionsByFunction"]; n != 2 {
		t.Fatalf("%d ListVersionsByFunction calls for 4 versions by 2; want 2", n)
	}

	if _, err := c.FindAlias(ctx, "f", "live"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("FindAlias before create: %v", err)
	}
	a, err := c.CreateAlias(ctx, "f", "live", versions[2], "d")
	if err != nil || a.Version != versions[2] || a.ARN != arn+":live" {
		t.Fatalf("CreateAlias: %+v %v", a, err)
	}
	if _, err := c.CreateAlias(ctx, "f", "live", versions[2], "d"); !errors.Is(err, awserr.ErrAlreadyExists) {
		t.Fatalf("CreateAlias twice: %v", err)
	}
	if a, err := c.UpdateAlias(ctx, "f", "live", versions[0]); err != nil || a.Version != versions[0] {
		t.Fatalf("UpdateAlias: %+v %v", a, err)
	}
	if a, err := c.FindAlias(ctx, "f", "live"); err != nil || a.Version != versions[0] {
		t.Fatalf("FindAlias: %+v %v", a, err)
	}
	// The configuration behind the alias is version 1's: its code and description.
	if v, err := c.FindConfiguration(ctx, "f", "live"); err != nil || v.Number != versions[0] || v.CodeSha256 != sha1 || v.Description != "v" || v.Config.Env["A"] != "1" {
		t.Fatalf("FindConfiguration(live): %+v %v", v, err)
	}
	if v, err := c.FindConfiguration(ctx, "f", ""); err != nil || v.Number != "$LATEST" {
		t.Fatalf("FindConfiguration($LATEST): %+v %v", v, err)
	}
	if _, err := c.FindConfiguration(ctx, "f", "nope"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("FindConfiguration(missing alias): %v", err)
	}

	if _, err := c.ResourcePolicy(ctx, "f", "live"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("ResourcePolicy before a permission: %v", err)
	}
	p := lambdaapi.Permission{StatementID: "sid-1", Action: "lambda:InvokeFunction", Principal: "apigateway.amazonaws.com", SourceARN: "arn:aws:execute-api:us-east-1:000000000000:abc/*/*"}
	if err := c.AddPermission(ctx, "f", "live", p); err != nil {
		t.Fatal(err)
	}
	if err := c.AddPermission(ctx, "f", "live", p); !errors.Is(err, awserr.ErrAlreadyExists) {
		t.Fatalf("AddPermission twice: %v", err)
	}
	if doc, err := c.ResourcePolicy(ctx, "f", "live"); err != nil || !strings.Contains(doc, "sid-1") {
		t.Fatalf("ResourcePolicy: %q %v", doc, err)
	}
	if err := c.RemovePermission(ctx, "f", "live", "sid-1"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemovePermission(ctx, "f", "live", "sid-1"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("RemovePermission twice: %v", err)
	}

	cfg := spec.Config
	cfg.Memory, cfg.Env = 256, map[string]string{"B": "2"}
	if err := c.UpdateConfig(ctx, "f", cfg); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitUpdated(ctx, "f", wait); err != nil {
		t.Fatal(err)
	}
	if f, err := c.FindFunction(ctx, "f"); err != nil || f.Config.Memory != 256 || f.Config.Env["B"] != "2" || f.LastUpdate != "Successful" {
		t.Fatalf("after UpdateConfig: %+v %v", f, err)
	}

	if err := c.DeleteAlias(ctx, "f", "live"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAlias(ctx, "f", "live"); err != nil { // Lambda answers 204 to a missing alias
		t.Fatalf("DeleteAlias twice: %v", err)
	}
	if err := c.DeleteVersion(ctx, "f", versions[0]); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteVersion(ctx, "f", versions[0]); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("DeleteVersion twice: %v", err)
	}
	if err := c.DeleteFunction(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FindFunction(ctx, "f"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("FindFunction after delete: %v", err)
	}
	if err := c.DeleteFunction(ctx, "f"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("DeleteFunction twice: %v", err)
	}
}
