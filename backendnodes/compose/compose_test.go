package compose

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func load(t *testing.T, data []byte, dir string, env map[string]string) *types.Project {
	t.Helper()
	p, err := Load(context.Background(), data, dir, env)
	if err != nil {
		t.Fatalf("compose-spec loader: %v\n%s", err, data)
	}
	return p
}

func env(s types.ServiceConfig, k string) string {
	v := s.Environment[k]
	if v == nil {
		return ""
	}
	return *v
}

var upstreamServer = regexp.MustCompile(`(?m)^\s*server (\S+):8080\b`)

// TestExportLoadsCleanly: for 1, 3 and 10 backends the file loads with the compose-spec
// loader (as docker compose reads it), each backend has its own database, volume,
// INSTANCE_ID and HOSTNAME and waits for its database, and the nginx upstream lists them all.
func TestExportLoadsCleanly(t *testing.T) {
	for _, n := range []int{1, 3, 10} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			data, err := Render(Options{Count: n})
			if err != nil {
				t.Fatal(err)
			}
			p := load(t, data, t.TempDir(), map[string]string{"DB_PASSWORD": "pw-from-env", "CONFIG_BACKEND_URL": "http://cb:1", "WORKSPACE_TOKEN": "tok"})
			var backends []string
			for name := range p.Services {
				if strings.HasPrefix(name, "backend") {
					backends = append(backends, name)
				}
			}
			if len(backends) != n {
				t.Fatalf("%d backends, want %d: %v", len(backends), n, p.ServiceNames())
			}
			hostnames, volumes := map[string]bool{}, map[string]bool{}
			for i := 1; i <= n; i++ {
				b, err := p.GetService("backend" + strconv.Itoa(i))
				if err != nil {
					t.Fatal(err)
				}
				db, err := p.GetService("db" + strconv.Itoa(i))
				if err != nil {
					t.Fatal(err)
				}
				id := strconv.Itoa(i)
				if env(b, "INSTANCE_ID") != id || env(b, "JOBS_DB_HOST") != db.Name || env(b, "JOBS_DB_PORT") != "5432" ||
					env(b, "JOBS_DB_PASSWORD") != "pw-from-env" || env(db, "POSTGRES_PASSWORD") != "pw-from-env" ||
					env(b, "JOBS_DB_DB_NAME") != env(db, "POSTGRES_DB") || env(b, "JOBS_DB_USER") != env(db, "POSTGRES_USER") {
					t.Fatalf("backend%d environment does not point at its own database: %v", i, b.Environment)
				}
				if dep, ok := b.DependsOn[db.Name]; !ok || dep.Condition != types.ServiceConditionHealthy {
					t.Fatalf("backend%d does not wait for %s healthy: %+v", i, db.Name, b.DependsOn)
				}
				if b.Image != DefaultServerImage || db.Image != DefaultPostgresImage || db.HealthCheck == nil || !slices.Contains(db.HealthCheck.Test, "pg_isready -U rudder -d jobsdb") {
					t.Fatalf("backend%d image %s, db image %s, db health check %+v", i, b.Image, db.Image, db.HealthCheck)
				}
				if env(b, "CONFIG_BACKEND_URL") != "http://cb:1" || env(b, "WORKSPACE_TOKEN") != "tok" || env(b, "DEST_TRANSFORM_URL") != "http://transformer-nginx:9090" ||
					env(b, "RSERVER_WAREHOUSE_MODE") != "off" || env(b, "RSERVER_DIAGNOSTICS_ENABLE_DIAGNOSTICS") != "false" || env(b, "ENTERPRISE_TOKEN") == "" {
					t.Fatalf("backend%d wiring: %v", i, b.Environment)
				}
				hostnames[env(b, "HOSTNAME")] = true
				if len(db.Volumes) != 1 || db.Volumes[0].Target != "/var/lib/postgresql/data" {
					t.Fatalf("db%d volumes: %+v", i, db.Volumes)
				}
				volumes[db.Volumes[0].Source] = true
			}
			if len(hostnames) != n || len(volumes) != n || len(p.Volumes) != n {
				t.Fatalf("hostnames %v, db volumes %v, project volumes %d: not one each per backend", hostnames, volumes, len(p.Volumes))
			}

			nginx, err := p.GetService("nginx")
			if err != nil {
				t.Fatal(err)
			}
			cfg := p.Configs["backends-nginx"]
			var listed []string
			for _, m := range upstreamServer.FindAllStringSubmatch(cfg.Content, -1) {
				listed = append(listed, m[1])
			}
			slices.Sort(listed)
			slices.Sort(backends)
			if !slices.Equal(listed, backends) || len(nginx.Configs) != 1 || nginx.Configs[0].Source != "backends-nginx" || len(nginx.Ports) != 1 || nginx.Ports[0].Published != "8080" {
				t.Fatalf("nginx upstream lists %v, want %v; nginx configs %+v ports %+v", listed, backends, nginx.Configs, nginx.Ports)
			}
			for _, name := range []string{"transformer", "user-transformer", "transformer-nginx"} {
				if _, err := p.GetService(name); err != nil {
					t.Fatal(err)
				}
			}
			if tc := p.Configs["transformers-nginx"].Content; !strings.Contains(tc, "location = /customTransform") || !strings.Contains(tc, "server user-transformer:9090") {
				t.Fatalf("transformers' nginx: %s", tc)
			}
		})
	}
}

// TestExportHoldsNoSecrets: the password is a required compose variable: without it the
// loader refuses the file, naming the variable; its value is nowhere in the file.
func TestExportHoldsNoSecrets(t *testing.T) {
	data, err := Render(Options{Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load(context.Background(), data, t.TempDir(), map[string]string{"CONFIG_BACKEND_URL": "http://cb:1", "WORKSPACE_TOKEN": "tok"})
	if err == nil || !strings.Contains(err.Error(), "set DB_PASSWORD") {
		t.Fatalf("loading without DB_PASSWORD: %v", err)
	}
	for _, key := range []string{"POSTGRES_PASSWORD", "JOBS_DB_PASSWORD", "WORKSPACE_TOKEN"} {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok && k == key && !strings.HasPrefix(v, "${") {
				t.Fatalf("%s has a literal value: %q", key, line)
			}
		}
	}
}

// TestExportFileMode: with a workspace config file, the backends read it (mounted by path,
// not inlined: it holds write keys) and no config backend is needed.
func TestExportFileMode(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "workspaceConfig.json"), []byte(`{"workspaceId":"w","sources":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := Render(Options{Count: 2, WorkspaceConfig: "./workspaceConfig.json"})
	if err != nil {
		t.Fatal(err)
	}
	p := load(t, data, dir, map[string]string{"DB_PASSWORD": "pw"})
	b, _ := p.GetService("backend2")
	if env(b, "RSERVER_BACKEND_CONFIG_CONFIG_FROM_FILE") != "true" || env(b, "CONFIG_BACKEND_URL") != "" || len(b.Configs) != 1 ||
		b.Configs[0].Target != env(b, "RSERVER_BACKEND_CONFIG_CONFIG_JSONPATH") {
		t.Fatalf("backend2 in file mode: env %v configs %+v", b.Environment, b.Configs)
	}
	if u, _ := p.GetService("user-transformer"); u.Environment["CONFIG_BACKEND_URL"] == nil || *u.Environment["CONFIG_BACKEND_URL"] != "" {
		t.Fatalf("user-transformer in file mode: %v", u.Environment)
	}
	if f := p.Configs["workspace-config"].File; f != filepath.Join(dir, "workspaceConfig.json") {
		t.Fatalf("workspace config resolved to %q", f)
	}
	if bytes.Contains(data, []byte(`"sources"`)) {
		t.Fatal("the workspace config was inlined")
	}
}

// TestWriteRefusesBadInput: bad counts, names and paths get a clear error and write nothing.
func TestWriteRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	for _, tc := range []struct {
		name string
		o    Options
		out  string
		want string
	}{
		{"count 0", Options{Count: 0}, filepath.Join(dir, "a.yaml"), "--count 0 refused"},
		{"count 1000", Options{Count: 1000}, filepath.Join(dir, "a.yaml"), "--count 1000 refused"},
		{"bad name", Options{Count: 1, Project: "My Stack"}, filepath.Join(dir, "a.yaml"), "project name"},
		{"bad image", Options{Count: 1, ServerImage: "rudder server:${X}"}, filepath.Join(dir, "a.yaml"), "--server-image"},
		{"out in a missing dir", Options{Count: 2}, filepath.Join(dir, "missing", "a.yaml"), "cannot write"},
		{"out under a file", Options{Count: 2}, filepath.Join(notDir, "a.yaml"), "cannot write"},
		{"out is a directory", Options{Count: 2}, dir, "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout bytes.Buffer
			err := Write(context.Background(), tc.o, tc.out, &stdout)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if stdout.Len() != 0 {
				t.Fatalf("printed %d bytes", stdout.Len())
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 || entries[0].Name() != "file" {
				t.Fatalf("something was written: %v", entries)
			}
		})
	}
}

// TestWriteValidatesBeforeWriting: what the loader refuses is never written.
func TestWriteValidatesBeforeWriting(t *testing.T) {
	render = func(o Options) ([]byte, error) {
		data, err := Render(o)
		return bytes.Replace(data, []byte("condition: service_healthy"), []byte("condition: when_it_feels_like_it"), 1), err
	}
	dir := t.TempDir()
	err := Write(context.Background(), Options{Count: 1}, filepath.Join(dir, "c.yaml"), nil)
	render = Render
	if err == nil || !strings.Contains(err.Error(), "did not pass the compose-spec loader") {
		t.Fatalf("a file the loader refuses: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("written anyway: %v", entries)
	}
	out := filepath.Join(t.TempDir(), "c.yaml")
	if err := Write(context.Background(), Options{Count: 3}, out, nil); err != nil {
		t.Fatal(err)
	}
	written, _ := os.ReadFile(out)
	load(t, written, filepath.Dir(out), PlaceholderEnv())
}
