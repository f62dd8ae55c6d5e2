package lambdaapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/awsapi/iamapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/lambdaapi"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/testfn"
	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// Invoke runs a published version (under the RIE in the local cloud) and returns its
// answer, its function error and its log tail decoded.
func TestInvoke(t *testing.T) {
	_, s := awstest.Start(t, localcloud.Delays{RolePropagation: -1})
	ctx := context.Background()
	m := manifest.Manifest{Schema: 1, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Entry: "index.js", HealthPath: "/health", Env: map[string]string{}}
	zip := testfn.Zip(t, testfn.Files(t, testfn.Build(t, "./testdata/echofn"), &m))
	role, err := s.IAM().CreateRole(ctx, iamapi.RoleSpec{Name: "echo", Trust: trust})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Lambda()
	_, err = c.CreateFunction(ctx, lambdaapi.FunctionSpec{Name: "echo", Code: lambdaapi.Code{Zip: zip},
		Config: lambdaapi.Config{Runtime: "nodejs22.x", Handler: "rudderctl.handler", Arch: testfn.HostArch(), Role: role.ARN, Memory: 128, Timeout: 10,
			Env: map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/" + manifest.WrapperName}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitActive(ctx, "echo", wait); err != nil {
		t.Fatal(err)
	}
	f, err := c.FindFunction(ctx, "echo")
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.PublishVersion(ctx, "echo", f.CodeSha256, "v")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitVersionActive(ctx, "echo", v, wait); err != nil {
		t.Fatal(err)
	}

	out, err := c.Invoke(ctx, "echo", v, []byte(`{"say":"hello"}`))
	if err != nil {
		t.Fatal(err)
	}
	var ans struct {
		StatusCode int
		Body       string
	}
	if err := json.Unmarshal(out.Payload, &ans); err != nil || ans.StatusCode != 200 || ans.Body != `{"say":"hello"}` || out.FunctionError != "" {
		t.Fatalf("answer %s (%v), function error %q", out.Payload, err, out.FunctionError)
	}
	if !strings.Contains(out.LogTail, "echofn: invoked with hello") {
		t.Fatalf("log tail %q", out.LogTail)
	}

	out, err = c.Invoke(ctx, "echo", v, []byte(`{"say":"bye","fail":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if out.FunctionError == "" || !strings.Contains(string(out.Payload), "asked to fail") || !strings.Contains(out.LogTail, "echofn: invoked with bye") {
		t.Fatalf("failing invoke: payload %s, function error %q, log tail %q", out.Payload, out.FunctionError, out.LogTail)
	}
}
