package standin_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/lambdalocal"
	"github.com/rudderctl/rudderctl/internal/nodedist"
	"github.com/rudderctl/rudderctl/internal/testfn"
	"github.com/rudderctl/rudderctl/packaging"
)

// startExampleTransformer packages examples/transformer as a deploy would (production
// node_modules, isolated-vm for Node 22) and starts it with Node 22; it returns its URL.
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
	if _, err := packaging.Build(ctx, packaging.Options{Src: "../../examples/transformer", Out: zip, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Progress: io.Discard}); err != nil {
		t.Fatalf("packaging the example transformer: %v", err)
	}
	root := filepath.Join(dir, "task")
	if err := lambdalocal.Unzip(zip, root); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
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
	waitFor(t, "the example transformer's /health", func() bool {
		resp, err := http.Get(url + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return url
}

// TestThroughTheExampleTransformer: events sent to /v1/batch with the source's write key go
// through the example transformer for real — the user function (code fetched by version id
// from the config backend, run in isolated-vm) then the webhook destination transform, the
// request cut in chunks of RSERVER_PROCESSOR_TRANSFORM_BATCH_SIZE — and arrive at the sink
// exactly once, tagged by the function, with the header the workspace configured.
func TestThroughTheExampleTransformer(t *testing.T) {
	db := startDatabase(t)
	s := startSink(t)
	code := map[string]string{"v-tag-1": `export function transformEvent(event, metadata) {
  event.properties = event.properties || {};
  event.properties.tagged = "by-user-function";
  event.properties.destination = metadata().destinationId;
  return event;
}`}
	ws := webhookWorkspace("wk-1", s.URL+"/hook", "v-tag-1")
	cb := startConfigBackend(t, "tok-1", ws, code)
	tr := startExampleTransformer(t, map[string]string{"CONFIG_BACKEND_URL": cb.URL})
	env := nodeEnv(db, cb, "tok-1", tr, tr, freePort(t))
	env["RSERVER_PROCESSOR_TRANSFORM_BATCH_SIZE"] = "7"
	n := startNode(t, env)
	n.waitHealthy(t)
	_, ids := sendBatch(t, n, "wk-1", 0, 25)
	_, more := sendBatch(t, n, "wk-1", 25, 5)
	ids = append(ids, more...)
	waitFor(t, "every event at the sink", func() bool { return len(s.deliveries()) >= len(ids) && db.pending(t).Total == 0 })
	exactlyOnce(t, s, ids)
	for _, d := range s.deliveries() {
		props, _ := d.Body["properties"].(map[string]any)
		if props["tagged"] != "by-user-function" || props["destination"] != "dst-1" {
			t.Fatalf("delivery not transformed by the user function: %v", d.Body)
		}
		if d.Instance != "7" {
			t.Fatalf("X-Rudder-Instance %q, want 7", d.Instance)
		}
	}
}
