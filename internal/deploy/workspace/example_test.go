package workspace

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/lambdalocal"
	"github.com/rudderctl/rudderctl/internal/nodedist"
	"github.com/rudderctl/rudderctl/internal/testfn"
	ws "github.com/rudderctl/rudderctl/internal/workspace"
	"github.com/rudderctl/rudderctl/packaging"
)

// startExampleTransformer packages examples/transformer as a deploy would (production
// node_modules, isolated-vm for Node 22) and starts it with Node 22 and env; it returns its
// URL.
func startExampleTransformer(t *testing.T, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dist, err := nodedist.Ensure(ctx, 22, testfn.HostArch(), io.Discard)
	if err != nil {
		t.Fatalf("node 22: %v", err)
	}
	dir := t.TempDir()
	zip := filepath.Join(dir, "transformer.zip")
	if _, err := packaging.Build(ctx, packaging.Options{Src: "../../../examples/transformer", Out: zip, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Progress: io.Discard}); err != nil {
		t.Fatalf("packaging the example transformer: %v", err)
	}
	root := filepath.Join(dir, "task")
	if err := lambdalocal.Unzip(zip, root); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(dist.Node, "--no-node-snapshot", "src/index.js")
	cmd.Dir = root
	cmd.Env = []string{"PATH=" + filepath.Dir(dist.Node) + ":/usr/bin:/bin", "HOME=" + dir, "PORT=" + strconv.Itoa(port)}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	for i := 0; ; i++ {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url
			}
		}
		if i > 300 {
			t.Fatalf("the example transformer did not start:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkExampleTransformerFetches runs the example function through the example transformer,
// which fetches its code (and its library) by version id from the deployed workspace, twice,
// and counts the fetches in the workspace function's log.
func checkExampleTransformerFetches(t *testing.T, cl *awsapi.Session, stack, configBackendURL string, want *ws.Compiled) {
	url := startExampleTransformer(t, map[string]string{"CONFIG_BACKEND_URL": configBackendURL})
	fn, lib := want.Functions[0].VersionID, want.Libraries[0].VersionID
	event := func(jobID int, email string) map[string]any {
		return map[string]any{
			"message":     map[string]any{"type": "track", "event": "signup", "context": map[string]any{"traits": map[string]any{"email": email}}},
			"metadata":    map[string]any{"jobId": jobID, "sourceId": "src-1", "destinationId": "dst-1", "messageId": fmt.Sprint("m", jobID)},
			"destination": map[string]any{"Transformations": []map[string]any{{"VersionID": fn}}},
			"libraries":   []map[string]any{{"VersionID": lib}},
		}
	}
	call := func(events ...map[string]any) []map[string]any {
		body, _ := json.Marshal(events)
		resp, err := http.Post(url+"/customTransform", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out []map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
			t.Fatalf("customTransform: %d %s", resp.StatusCode, b)
		}
		return out
	}
	for i, email := range []string{"jane@example.com", "bob@example.org"} {
		out := call(event(i+1, email))
		got, _ := json.Marshal(out)
		masked := email[:1] + "***" + email[strings.Index(email, "@"):]
		if len(out) != 1 || out[0]["statusCode"] != float64(200) || !strings.Contains(string(got), `"email":"`+masked+`"`) || !strings.Contains(string(got), `"sourceId":"src-1"`) {
			t.Fatalf("call %d: the example function did not run as written: %s", i+1, got)
		}
	}
	log := functionLog(t, cl, stack)
	for what, line := range map[string]string{"function": "GET transformation versionId=" + fn + " status=200", "library": "GET library versionId=" + lib + " status=200"} {
		if n := strings.Count(log, line); n != 1 {
			t.Errorf("the %s's code was fetched %d times from the workspace (want once; the second call is served from the cache):\n%s", what, n, log)
		}
	}
}
