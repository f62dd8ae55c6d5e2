package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/testfn"
)

// Bad input to deploy/plan transformer --ecs is refused with what to do, before any AWS
// call; a stack without a workspace is refused without a mutating call.
func TestECSBadInputMakesNoCall(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cloud := awstest.Cloud(t, localcloud.Delays{})
	static := testfn.Build(t, "../../cmd/rudderctl") // a static rudderctl for the image
	t.Chdir(t.TempDir())
	cfg := func(body string) string {
		p := filepath.Join(t.TempDir(), "rudderctl.yaml")
		if err := os.WriteFile(p, []byte("region: us-east-1\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := map[string][]string{
		"ecs.cpu 300 refused":             {"deploy", "transformer", "--ecs", "--config", cfg("ecs:\n  cpu: 300\n")},
		"moving tag":                      {"plan", "transformer", "--ecs", "--tag", "latest", "--config", cfg("")},
		"--zip refused with --ecs":        {"deploy", "transformer", "--ecs", "--zip", "x.zip", "--config", cfg("")},
		"--tag/--image-binary refused":    {"deploy", "transformer", "--tag", "ut-1", "--zip", "x.zip", "--config", cfg("")},
		"--image-binary /nope unusable":   {"deploy", "transformer", "--ecs", "--image-binary", "/nope", "--config", cfg("")},
		"above ecs.max_count":             {"deploy", "transformer", "--ecs", "--config", cfg("ecs:\n  min_count: 4\n  max_count: 3\n")},
		`unknown key "desired" on line 3`: {"plan", "transformer", "--ecs", "--config", cfg("ecs:\n  desired: 2\n")},
	}
	for want, args := range cases {
		cloud.ResetStats()
		_, _, err := runCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: got %v, want %q", args, err, want)
		}
		if n := cloud.Stats().Calls; n != 0 {
			t.Errorf("%v: %d AWS calls on bad input", args, n)
		}
	}
	// This test binary is not static: the image cannot hold it.
	cloud.ResetStats()
	if _, _, err := runCLI(t, "deploy", "transformer", "--ecs", "--image-binary", os.Args[0], "--config", cfg("")); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("a dynamic binary for the image: %v", err)
	}
	// A stack without a workspace: refused, nothing created.
	_, _, err := runCLI(t, "deploy", "transformer", "--ecs", "--stack", "nows", "--image-binary", static, "--config", cfg(""))
	if err == nil || !strings.Contains(err.Error(), "has no workspace") {
		t.Fatalf("deploy without a workspace: %v", err)
	}
	if m := cloud.Stats().MutatingCalls; m != 0 {
		t.Fatalf("plan without a workspace made %d mutating calls", m)
	}
}
