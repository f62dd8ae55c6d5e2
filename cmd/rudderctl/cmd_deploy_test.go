package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/testfn"
	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// runCLI runs the deploy-side commands in-process and returns stdout, stderr and the error.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errw bytes.Buffer
	app := &cli.App{
		Name:      "rudderctl",
		Writer:    &out,
		ErrWriter: &errw,
		Commands: []*cli.Command{initCommand(), planCommand(), deployCommand(), statusCommand(), endpointsCommand(),
			logsCommand(), rollbackCommand(), destroyCommand(), workspaceCommand()},
		ExitErrHandler: func(*cli.Context, error) {},
	}
	err := app.RunContext(context.Background(), append([]string{"rudderctl"}, args...))
	return out.String(), errw.String(), err
}

// cliZip builds a small task root zip around the deploy tests' fake function.
func cliZip(t *testing.T) string {
	bin := testfn.Build(t, "../../internal/deploy/transformer/testdata/fakefn")
	m := manifest.Manifest{Schema: 1, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Entry: "index.js"}
	return testfn.WriteZip(t, "t.zip", testfn.Files(t, bin, &m))
}

func TestCLIAgainstLocalCloud(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cloud := awstest.Cloud(t, localcloud.Delays{RolePropagation: 300 * time.Millisecond})
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	zipPath := cliZip(t)
	t.Chdir(t.TempDir()) // no rudderctl.yaml around
	cfg := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(cfg, []byte("stack: x\ntransformer:\n  memory: 512\n  colour: blue\n"), 0o644)
	writeCfg := func(name, body string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zeroCfg := writeCfg("zero.yaml", "stack: x\ntransformer:\n  zip: "+zipPath+"\n  memory: 0\n")
	wideCfg := writeCfg("wide.yaml", "stack: x\ntransformer:\n  zip: "+zipPath+"\n  timeout: 4294967297\n")
	emptyStackCfg := writeCfg("empty-stack.yaml", "stack: \"\"\n")

	// Bad input is refused before any AWS call.
	cloud.ResetStats()
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"deploy", "transformer", "--zip", zipPath}, "no AWS region"},
		{[]string{"deploy", "transformer", "--region", "us-east-1"}, "no code to deploy"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", "/nope.zip"}, "not found"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--memory", "64"}, "memory 64 MB refused"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--timeout", "60"}, "API Gateway"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--runtime", "nodejs20.x"}, "runtime \"nodejs20.x\" refused"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--arch", "amd64"}, "architecture \"amd64\" refused"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--stack", "Bad_Name"}, "stack name"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--src", "."}, "both --src and --zip"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--env", "AWS_REGION=x"}, "reserved"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--config", cfg}, `"colour" on line 4`},
		{[]string{"plan", "transformer", "--region", "us-east-1", "--zip", zipPath, "--memory", "99999"}, "memory"},
		{[]string{"destroy", "--region", "us-east-1", "--stack", "cli"}, "pass --yes"},
		{[]string{"status"}, "no AWS region"},
		// Numbers: 0, one past each limit, past int32 (4294967424 would wrap to 128), past int64.
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--memory", "0"}, "memory 0 MB refused"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--memory", "127"}, "memory 127 MB refused"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--memory", "10241"}, "memory 10241 MB refused"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--memory", "4294967424"}, "memory 4294967424 MB refused"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--memory", "99999999999999999999"}, "memory"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--timeout", "0"}, "timeout 0 s refused"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--timeout", "31"}, "timeout 31 s refused"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--timeout", "4294967297"}, "timeout 4294967297 s refused"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--log-retention-days", "0"}, "log_retention_days 0 refused"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--log-retention-days", "4294967310"}, "log_retention_days 4294967310 refused"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--config", zeroCfg}, "memory 0 MB refused"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--config", wideCfg}, "timeout 4294967297 s refused"},
		// Empty stack names, from each source, on every command.
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--stack", ""}, "stack name refused: --stack is empty"},
		{[]string{"plan", "transformer", "--region", "us-east-1", "--zip", zipPath, "--stack", ""}, "stack name refused"},
		{[]string{"destroy", "--yes", "--region", "us-east-1", "--stack", ""}, "stack name refused"},
		{[]string{"status", "--region", "us-east-1", "--stack", ""}, "stack name refused"},
		{[]string{"rollback", "transformer", "--region", "us-east-1", "--stack", ""}, "stack name refused"},
		{[]string{"destroy", "--yes", "--region", "us-east-1", "--config", emptyStackCfg}, "`stack:` in " + emptyStackCfg + " is empty"},
		{[]string{"status", "--region", "us-east-1", "--config", emptyStackCfg}, "stack name refused"},
		// Packaging options only mean something with --src.
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--rebuild-native"}, "--rebuild-native/--keep/--prune/--bootstrap refused"},
		{[]string{"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath, "--env", "TZ=UTC"}, "reserved by Lambda"},
	}
	for _, b := range bad {
		_, _, err := runCLI(t, b.args...)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%v: err = %v, want %q", b.args, err, b.want)
		}
	}
	// RUDDERCTL_STACK="" is an empty name too, not "unset".
	t.Setenv("RUDDERCTL_STACK", "")
	for _, args := range [][]string{{"destroy", "--yes", "--region", "us-east-1"}, {"deploy", "transformer", "--region", "us-east-1", "--zip", zipPath},
		{"plan", "transformer", "--region", "us-east-1", "--zip", zipPath}, {"status", "--region", "us-east-1"}} {
		if _, _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), "RUDDERCTL_STACK is empty") {
			t.Errorf("%v with RUDDERCTL_STACK=\"\": %v", args, err)
		}
	}
	os.Unsetenv("RUDDERCTL_STACK")
	if st := cloud.Stats(); st.Calls != 0 {
		t.Fatalf("bad input made %d AWS calls: %v", st.Calls, st.ByOperation)
	}

	base := []string{"--region", "us-east-1", "--stack", "cli"}
	out, _, err := runCLI(t, append([]string{"plan", "transformer", "--lambda", "--zip", zipPath}, base...)...)
	if err != nil || !strings.Contains(out, "14 changes") {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	if st := cloud.Stats(); st.MutatingCalls != 0 {
		t.Fatalf("plan made mutating calls: %v", st.ByOperation)
	}
	out, errOut, err := runCLI(t, append([]string{"deploy", "transformer", "--lambda", "--zip", zipPath, "--json"}, base...)...)
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, errOut)
	}
	var res struct {
		Endpoint, Function, Version, Alias string
		Changes                            int
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Changes != 14 || res.Version != "1" || res.Alias != "live" || res.Endpoint == "" {
		t.Fatalf("deploy --json: %v\n%s", err, out)
	}
	out2, errOut2, err := runCLI(t, append([]string{"deploy", "transformer", "--lambda", "--zip", zipPath}, base...)...)
	if err != nil || !strings.Contains(out2, "no changes") {
		t.Fatalf("redeploy: %v\n%s", err, out2)
	}
	shown, _, err := runCLI(t, append([]string{"endpoints", "--show-secret", "--json"}, base...)...)
	if err != nil {
		t.Fatal(err)
	}
	var ep struct {
		URL              string `json:"url"`
		DestTransformURL string `json:"dest_transform_url"`
	}
	json.Unmarshal([]byte(shown), &ep)
	secret := strings.TrimPrefix(ep.DestTransformURL, ep.URL+"/")
	if len(secret) < 22 {
		t.Fatalf("endpoints --show-secret: %s", shown)
	}
	hidden, _, _ := runCLI(t, append([]string{"endpoints"}, base...)...)
	status, _, _ := runCLI(t, append([]string{"status"}, base...)...)
	for name, text := range map[string]string{"deploy stdout": out, "deploy stderr": errOut, "redeploy": out2 + errOut2, "endpoints": hidden, "status": status} {
		if strings.Contains(text, secret) {
			t.Errorf("%s shows the secret:\n%s", name, text)
		}
	}
	if !strings.Contains(status, "live -> 1") {
		t.Errorf("status:\n%s", status)
	}
	// logs --json: one JSON object per line (the health check of the deploy logged some).
	logs, _, err := runCLI(t, append([]string{"logs", "transformer", "--json", "--since", "1h"}, base...)...)
	if err != nil || strings.TrimSpace(logs) == "" {
		t.Fatalf("logs --json: %v %q", err, logs)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var ev struct{ Timestamp, Stream, Message string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Timestamp == "" || ev.Stream == "" {
			t.Fatalf("logs --json line %q: %v", line, err)
		}
	}
	if _, _, err := runCLI(t, append([]string{"rollback", "transformer"}, base...)...); err == nil || !strings.Contains(err.Error(), "no earlier published version") {
		t.Errorf("rollback with one version: %v", err)
	}
	out, _, err = runCLI(t, append([]string{"destroy", "--yes"}, base...)...)
	if err != nil || !strings.Contains(out, "destroyed") {
		t.Fatalf("destroy: %v %s", err, out)
	}
	if r := cloud.Resources("rudderctl:stack", "cli"); len(r) != 0 {
		t.Fatalf("left after destroy: %+v", r)
	}
	out, _, err = runCLI(t, append([]string{"destroy", "--yes"}, base...)...)
	if err != nil || !strings.Contains(out, "nothing to destroy") {
		t.Fatalf("second destroy: %v %s", err, out)
	}
}

func TestInitCommand(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "rudderctl.yaml")
	if _, _, err := runCLI(t, "init", "--config", p, "--stack", "prod", "--region", "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	want, _ := os.ReadFile("../../internal/config/testdata/init.golden.yaml")
	if string(got) != string(want) {
		t.Fatalf("init wrote:\n%s", got)
	}
	if _, _, err := runCLI(t, "init", "--config", p); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("overwrite without --force: %v", err)
	}
	if _, _, err := runCLI(t, "init", "--config", p, "--force"); err != nil {
		t.Fatal(err)
	}
}
