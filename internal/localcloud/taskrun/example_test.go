package taskrun

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/lambdalocal"
	"github.com/rudderctl/rudderctl/internal/testfn"
	"github.com/rudderctl/rudderctl/packaging"
)

var example struct {
	once sync.Once
	dir  string
	root string
	err  error
}

// exampleTransformer is examples/transformer as a deploy packages it (production
// node_modules, isolated-vm for Node 22), unpacked once per test binary.
func exampleTransformer(t *testing.T) string {
	t.Helper()
	example.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		dir, err := os.MkdirTemp("", "rudderctl-taskrun-example-")
		if err != nil {
			example.err = err
			return
		}
		example.dir = dir
		zip := filepath.Join(dir, "transformer.zip")
		if _, err := packaging.Build(ctx, packaging.Options{Src: "../../../examples/transformer", Out: zip, Runtime: "nodejs22.x", Arch: testfn.HostArch(), Progress: io.Discard}); err != nil {
			example.err = err
			return
		}
		example.root = filepath.Join(dir, "app")
		example.err = lambdalocal.Unzip(zip, example.root)
	})
	if example.err != nil {
		t.Fatalf("packaging the example transformer: %v", example.err)
	}
	return example.root
}

// TestExampleTransformerAsMappedImage runs examples/transformer as the mapped
// rudder-transformer image, with Node 22 resolved by the runner, and calls /health.
func TestExampleTransformerAsMappedImage(t *testing.T) {
	app := exampleTransformer(t)
	for _, mode := range []string{ModeNetns, ModeLoopback} {
		t.Run(mode, func(t *testing.T) {
			m := filepath.Join(t.TempDir(), "images.yaml")
			env := ""
			if mode == ModeNetns {
				env = "    env: {HOST: 0.0.0.0}\n" // listen on the task's address, not only its lo
			}
			writeFile(t, m, "images:\n  - image: rudderlabs/rudder-transformer\n    dir: "+app+
				"\n    command: [node, --no-node-snapshot, src/index.js]\n    node: 22\n    portEnv: PORT\n"+env)
			r := newRunner(t, mode, m)
			var out lines
			c := Container{Name: "transformer", Image: "rudderlabs/rudder-transformer:ut-1.145.0", Essential: true,
				Ports: []int{9090}, Env: map[string]string{"PORT": "9090"}, Log: out.add,
				HealthCheck: &HealthCheck{Command: []string{"CMD", "node", "-e",
					"fetch('http://localhost:9090/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"},
					Interval: 500 * time.Millisecond, Retries: 3}}
			task := start(t, r, "transformer", c)
			if got := get(t, addrURL(task, 9090, "/health")); !strings.Contains(got, "UP") {
				t.Fatalf("/health: %q", got)
			}
			waitHealth(t, task, "HEALTHY")
			if !strings.Contains(out.String(), "example transformer listening on") {
				t.Errorf("log lines: %q", out.String())
			}
		})
	}
}

// TestRealTransformerAsMappedImage runs the real rudder-transformer's production tree
// (RUDDER_TRANSFORMER_DIR, opt-in) as the mapped image, the way docs/LOCALCLOUD.md "Tasks"
// says to map it: `node dist/src/index.js` (cluster mode on, as its image runs it).
func TestRealTransformerAsMappedImage(t *testing.T) {
	dir := testfn.RealTransformerDir(t)
	m := filepath.Join(t.TempDir(), "images.yaml")
	writeFile(t, m, "images:\n  - image: rudderstack/rudder-transformer\n    dir: "+dir+
		"\n    command: [node, dist/src/index.js]\n    node: 22\n    portEnv: PORT\n")
	mode := ModeLoopback
	if probeNetns() == nil {
		mode = ModeNetns
	}
	r := newRunner(t, mode, m)
	var out lines
	task := start(t, r, "real", Container{Name: "transformer", Image: "rudderstack/rudder-transformer:ut-1.145.0",
		Essential: true, Ports: []int{9090}, Log: out.add,
		Env: map[string]string{"PORT": "9090", "NODE_OPTIONS": "--no-node-snapshot"}})
	if got := get(t, addrURL(task, 9090, "/health")); !strings.Contains(got, "UP") {
		t.Fatalf("/health: %q\n%s", got, out.String())
	}
	task.Stop("test over")
	if _, exits := task.Stopped(); exits[0].ExitCode == nil {
		t.Fatalf("exits %+v", exits)
	} else {
		t.Logf("%s mode: /health answered at %s; stopped with exit code %d", mode, task.IP(), *exits[0].ExitCode)
	}
}
