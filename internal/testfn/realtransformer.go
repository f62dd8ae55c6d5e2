package testfn

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/nodedist"
)

// RealTransformerDir is RUDDER_TRANSFORMER_DIR: a built rudder-transformer (its production
// tree: dist/, production node_modules, package.json, native modules built for Node 22). The
// tests that need it skip without it, in CI too: CI runs the example app instead.
func RealTransformerDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("RUDDER_TRANSFORMER_DIR")
	if dir == "" {
		t.Skip("RUDDER_TRANSFORMER_DIR is not set: the real rudder-transformer is opt-in (docs/BENCHMARKS.md)")
	}
	return dir
}

// StartRealTransformer runs the tree at dir directly under Node 22, as its image does (`node
// dist/src/index.js`) with cluster mode off as on Lambda, plus env; it returns the base URL once
// /health answers and stops the process when the test ends.
func StartRealTransformer(t testing.TB, dir string, env ...string) string {
	t.Helper()
	dist, err := nodedist.Ensure(context.Background(), 22, HostArch(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(dist.Node, "--no-node-snapshot", filepath.Join(dir, "dist", "src", "index.js"))
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), fmt.Sprintf("PORT=%d", port), "CLUSTER_ENABLED=false"), env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("transformer output:\n%s", logs.String())
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("the transformer exited before answering /health: %v\n%s", err, logs.String())
		default:
		}
		if resp, err := http.Get(base + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
	}
	t.Fatalf("the transformer did not answer /health within 2 minutes:\n%s", logs.String())
	return ""
}
