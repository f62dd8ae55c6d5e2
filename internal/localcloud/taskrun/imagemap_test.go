package taskrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
	"github.com/rudderctl/rudderctl/internal/testfn"
)

func TestImageMapErrors(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "app"), 0o755)
	for _, tc := range []struct{ yaml, want string }{
		{"images:\n  - image: a/b\n    dir: missing\n    command: [x]\n", "dir " + filepath.Join(dir, "missing") + " is not a directory"},
		{"images:\n  - image: a/b\n    dir: app\n    command: [node, x.js]\n", "node (the Node major) is not set"},
		{"images:\n  - image: a/b\n    dir: app\n", "command is empty"},
		{"images:\n  - dir: app\n    command: [x]\n", "image is empty"},
		{"images:\n  - image: a/b@sha256:00\n    dir: app\n    command: [x]\n", "names a digest"},
		{"images:\n  - image: a/b\n    dir: app\n    command: [x]\n    cmd: [y]\n", "field cmd not found"},
		{"images:\n  - image: a/b\n    dir: app\n    command: [x]\n  - image: a/b\n    dir: app\n    command: [y]\n", "mapped twice"},
		{"images: [", "is not valid"},
	} {
		m := filepath.Join(dir, "m.yaml")
		writeFile(t, m, tc.yaml)
		_, err := New(Options{Dir: t.TempDir(), ImageMap: m, Sandbox: ModeLoopback})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), m) {
			t.Errorf("%q: %v, want an error naming the file and %q", tc.yaml, err, tc.want)
		}
	}
	if _, err := New(Options{Dir: t.TempDir(), ImageMap: filepath.Join(dir, "none.yaml"), Sandbox: ModeLoopback}); err == nil || !strings.Contains(err.Error(), "cannot be read") {
		t.Errorf("missing map: %v", err)
	}
	if _, err := New(Options{Dir: t.TempDir(), Sandbox: "docker"}); err == nil || !strings.Contains(err.Error(), `sandbox "docker" is not known`) {
		t.Errorf("unknown sandbox: %v", err)
	}
}

func TestImageLookup(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "any"), 0o755)
	os.MkdirAll(filepath.Join(dir, "v2"), 0o755)
	m := filepath.Join(dir, "m.yaml")
	writeFile(t, m, "images:\n  - image: rudderlabs/rudder-transformer\n    dir: any\n    command: [x]\n  - image: rudderlabs/rudder-transformer:v2\n    dir: v2\n    command: [x]\n  - image: node\n    dir: any\n    command: [x]\n")
	entries, err := loadImageMap(m)
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		"rudderlabs/rudder-transformer:v1":                "any",
		"rudderlabs/rudder-transformer":                   "any",
		"docker.io/rudderlabs/rudder-transformer:v2":      "v2",
		"rudderlabs/rudder-transformer@sha256:0123456789": "any",
		"docker.io/library/node:22":                       "any",
		"rudderlabs/rudder-server:v2":                     "",
		"myhost:5000/rudderlabs/rudder-transformer:v2":    "",
	} {
		e, ok := lookup(entries, ref)
		if got := ""; ok {
			got = filepath.Base(e.Dir)
			if got != want {
				t.Errorf("%s -> %s, want %q", ref, got, want)
			}
		} else if want != "" {
			t.Errorf("%s matched nothing, want %s", ref, want)
		}
	}
}

func TestDockerArgv(t *testing.T) {
	img, cmd := []string{"/app"}, []string{"serve"}
	for _, tc := range []struct {
		c    Container
		want string
	}{
		{Container{}, "/app serve"},
		{Container{Command: []string{"version"}}, "/app version"},
		{Container{EntryPoint: []string{"/bin/sh", "-c"}}, "/bin/sh -c"},
		{Container{EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{"echo hi"}}, "/bin/sh -c echo hi"},
	} {
		if got := strings.Join(dockerArgv(tc.c, img, cmd), " "); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.c, got, tc.want)
		}
	}
}

func TestLoopbackAddrsInEnv(t *testing.T) {
	got := bridgeAddrs(Spec{Containers: []Container{{
		Ports: []int{9090},
		Env: map[string]string{
			"A": "http://127.0.0.1:4566/path",
			"B": "http://localhost:9090/", // the task's own port: not bridged
			"C": "http://127.77.0.1",      // port 80 by the scheme
			"D": "127.0.0.5:7000,localhost:7001",
			"E": "https://example.com:443 10.0.0.1:80 localhost", // not loopback / no port
			"F": "http://LOCALHOST:4566/again",
			// A database named by a HOST/PORT pair of variables.
			"JOBS_DB_HOST": "127.0.0.1", "JOBS_DB_PORT": "54321",
			"PGHOST": "localhost", "PGPORT": "54322",
			"OTHER_HOST": "10.0.0.5", "OTHER_PORT": "5432", // not loopback
			"LONE_HOST": "127.0.0.9",                 // no port
			"HOST":      "127.0.0.1", "PORT": "9090", // the task's own port
		},
	}}})
	want := "127.0.0.1:4566 127.0.0.1:54321 127.0.0.1:54322 127.0.0.1:7001 127.0.0.5:7000 127.77.0.1:80"
	if strings.Join(got, " ") != want {
		t.Errorf("bridged %v, want %s", got, want)
	}
}

// registry is a test double of the local ECR (core.Images): one image, unpacked in root.
type registry struct {
	root string
}

func (g registry) UnpackImage(ref string) (*core.UnpackedImage, bool, error) {
	if !strings.HasPrefix(ref, "000000000000.dkr.ecr.us-east-1.localhost/") {
		return nil, false, nil
	}
	if !strings.HasSuffix(ref, "/echo:v1") {
		return nil, true, errors.New("repository or tag not found")
	}
	return &core.UnpackedImage{Digest: "sha256:00", Root: g.root, Entrypoint: []string{"/ko-app/echo"},
		Env: []string{"PATH=/ko-app:/usr/local/bin", "NAME=from-image", "PORT=9090"}, WorkingDir: "/ko-app"}, true, nil
}

func TestImageFromLocalECR(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "ko-app"), 0o755)
	b, err := os.ReadFile(testfn.Build(t, "./testdata/echo"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "ko-app", "echo"), b, 0o755)
	for _, mode := range []string{ModeNetns, ModeLoopback} {
		t.Run(mode, func(t *testing.T) {
			if mode == ModeNetns {
				needNetns(t)
			}
			r, err := New(Options{Dir: t.TempDir(), Sandbox: mode, Images: registry{root}, ImageMap: echoMap(t, mode)})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			repo := "000000000000.dkr.ecr.us-east-1.localhost/rudderctl/"
			c := Container{Name: "app", Image: repo + "echo:v1", Essential: true, Ports: []int{9090}}
			if mode == ModeLoopback {
				c.Env = map[string]string{"HOST": "127.0.0.1"}
			}
			task, err := r.Start(context.Background(), Spec{TaskID: "ecr", SubnetCIDR: subnet, Containers: []Container{c}})
			if err != nil {
				t.Fatal(err)
			}
			defer task.Stop("done")
			if got := get(t, addrURL(task, 9090, "/")); !strings.Contains(got, "name=from-image") {
				t.Errorf("answer %q, want the image's env", got)
			}

			bad := c
			bad.Image = repo + "echo:v9"
			_, err = r.Start(context.Background(), Spec{TaskID: "ecr2", SubnetCIDR: subnet, Containers: []Container{bad}})
			var se *StartError
			if !errors.As(err, &se) || !strings.HasPrefix(se.Reason, "CannotPullContainerError: ") || !strings.Contains(se.Reason, "not found") {
				t.Errorf("a missing tag: %v", err)
			}
		})
	}
}

func TestHealthStateAsDocker(t *testing.T) {
	h := &healthState{status: healthUnknown}
	for i := 0; i < 5; i++ {
		h.record(false, true, 3) // failures in the start period do not count
	}
	if h.get() != healthUnknown {
		t.Fatalf("after failures in the start period: %s", h.get())
	}
	h.record(true, true, 3)
	if h.get() != healthHealthy {
		t.Fatalf("after a success: %s", h.get())
	}
	h.record(false, false, 3)
	h.record(false, false, 3)
	if h.get() != healthHealthy {
		t.Fatalf("after 2 of 3 failures: %s", h.get())
	}
	h.record(false, false, 3)
	if h.get() != healthUnhealthy {
		t.Fatalf("after 3 failures in a row: %s", h.get())
	}
	h.record(true, false, 3)
	if h.get() != healthHealthy {
		t.Fatalf("a success after UNHEALTHY: %s", h.get())
	}
}

func TestLoopbackModeIsLogged(t *testing.T) {
	var logged []string
	r, err := New(Options{Dir: t.TempDir(), Sandbox: ModeLoopback, Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Mode() != ModeLoopback || len(logged) != 1 || !strings.Contains(logged[0], "loopback sandbox in use (asked for with sandbox loopback)") {
		t.Fatalf("mode %s, logged %q", r.Mode(), logged)
	}
}

func TestMappedProgramMissing(t *testing.T) {
	r := newRunner(t, ModeLoopback, echoMap(t, ModeLoopback))
	c := echo("web", 9090, nil, nil)
	c.Command = []string{"./no-such-program"}
	_, err := r.Start(context.Background(), Spec{TaskID: "missing", Containers: []Container{c}})
	var se *StartError
	if !errors.As(err, &se) || !strings.HasPrefix(se.Reason, "CannotStartContainerError: exec: \"./no-such-program\": no such executable file") {
		t.Fatalf("Start: %v", err)
	}
}
