// Package compose writes the node-pairs topology as a docker compose file: per backend i a
// Postgres (db<i>, its own volume) and a rudder-server (backend<i>, INSTANCE_ID=i), an nginx
// in front of the backends, and the transformers (destination and user functions) behind
// their own nginx. The file is checked with the compose-spec loader before it is written.
package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/rudderctl/rudderctl/backendnodes/rudderenv"
	"gopkg.in/yaml.v3"
)

// Pinned images. rudder-server is the version measured in /work/shared/reference
// (rudder-server.md); the transformer images are the destination and user-functions
// variants of the rudder-transformer version our tests compare against.
const (
	DefaultServerImage          = "rudderlabs/rudder-server:1.83.0"
	DefaultTransformerImage     = "rudderstack/rudder-transformer:1.145.0"
	DefaultUserTransformerImage = "rudderstack/rudder-transformer:ut-1.145.0"
	DefaultPostgresImage        = "postgres:15"
	DefaultNginxImage           = "nginx:1.27-alpine"
	DefaultProject              = "rudderctl"
	DefaultPort                 = 8080
	// MinCount..MaxCount backends: each is a rudder-server (~230 MB under load) and a Postgres
	// on one docker host; beyond 100 a single compose file is the wrong tool.
	MinCount = 1
	MaxCount = 100
)

// Required variables: the file names them, never their values.
const (
	dbPasswordVar       = "DB_PASSWORD"
	configBackendURLVar = "CONFIG_BACKEND_URL"
	workspaceTokenVar   = "WORKSPACE_TOKEN"
)

// Database settings of every db<i> (the password comes from DB_PASSWORD).
const (
	dbUser = "rudder"
	jobsDB = "jobsdb"
)

// Options is what the file holds.
type Options struct {
	Count                int    // backends, MinCount..MaxCount
	Project              string // compose project name ("" = DefaultProject)
	ServerImage          string // "" = DefaultServerImage
	TransformerImage     string // "" = DefaultTransformerImage
	UserTransformerImage string // "" = DefaultUserTransformerImage
	Port                 int    // host port of the backends' nginx (0 = DefaultPort)
	// WorkspaceConfig, when set, is a rudder-server workspace config JSON file (e.g. from
	// `rudderctl workspace render --out`), mounted into every backend (file mode). It is
	// referenced by path, not inlined: it holds the sources' write keys. Empty: the backends
	// read the workspace from CONFIG_BACKEND_URL with WORKSPACE_TOKEN.
	WorkspaceConfig string
}

var projectRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// imageRe is a docker image reference: [registry/]name[:tag][@digest], no spaces or `$`.
var imageRe = regexp.MustCompile(`^[a-z0-9]+([._/:@-][A-Za-z0-9_.-]+)*$`)

// check fills defaults and refuses bad input, in the "what, why, what to do" form.
func (o *Options) check() error {
	if o.Count < MinCount || o.Count > MaxCount {
		return fmt.Errorf("--count %d refused: a compose file holds %d to %d backend+database pairs; pick a count in that range", o.Count, MinCount, MaxCount)
	}
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&o.Project, DefaultProject)
	def(&o.ServerImage, DefaultServerImage)
	def(&o.TransformerImage, DefaultTransformerImage)
	def(&o.UserTransformerImage, DefaultUserTransformerImage)
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if !projectRe.MatchString(o.Project) {
		return fmt.Errorf("project name %q refused: compose wants lowercase letters, digits, '-' and '_', starting with a letter or digit; fix --name", o.Project)
	}
	for flag, img := range map[string]string{"--server-image": o.ServerImage, "--transformer-image": o.TransformerImage, "--user-transformer-image": o.UserTransformerImage} {
		if !imageRe.MatchString(img) {
			return fmt.Errorf("%s %q refused: it is not an image reference like rudderlabs/rudder-server:1.83.0; fix it", flag, img)
		}
	}
	if o.Port < 1 || o.Port > 65535 {
		return fmt.Errorf("--port %d refused: it is not a TCP port (1..65535)", o.Port)
	}
	if strings.ContainsAny(o.WorkspaceConfig, "$\n") {
		return fmt.Errorf("--workspace-config %q refused: the path may not hold '$' or a newline (compose would read them as variables); rename the file", o.WorkspaceConfig)
	}
	return nil
}

// Render builds the compose file. It does not validate it; Write does.
func Render(o Options) ([]byte, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	services := omap{}
	volumes := omap{}
	for i := 1; i <= o.Count; i++ {
		services.set(dbService(i), postgres(i))
		volumes.set(dbService(i)+"-data", omap{})
	}
	for i := 1; i <= o.Count; i++ {
		services.set(backendName(i), backend(i, o))
	}
	services.set("nginx", backendsNginx(o))
	services.set("transformer", transformer(o.TransformerImage, nil))
	// User functions fetch their code by version id from the config backend; in file mode
	// there may be none (a workspace without user functions).
	userEnv := omap{}
	if o.WorkspaceConfig == "" {
		userEnv.set("CONFIG_BACKEND_URL", required(configBackendURLVar))
	} else {
		userEnv.set("CONFIG_BACKEND_URL", "${"+configBackendURLVar+":-}")
	}
	services.set("user-transformer", transformer(o.UserTransformerImage, userEnv))
	services.set("transformer-nginx", transformersNginx())

	configs := omap{}
	configs.set("backends-nginx", omap{}.with("content", backendsNginxConf(o.Count)))
	configs.set("transformers-nginx", omap{}.with("content", transformersNginxConf))
	if o.WorkspaceConfig != "" {
		configs.set("workspace-config", omap{}.with("file", o.WorkspaceConfig))
	}
	doc := omap{}
	doc.set("name", o.Project)
	doc.set("services", services)
	doc.set("volumes", volumes)
	doc.set("configs", configs)

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Written by `rudderctl export compose --count %d`: %d rudder-server + Postgres pairs behind nginx,\n", o.Count, o.Count)
	fmt.Fprintf(&buf, "# the transformers behind their own nginx. No secrets inside: set %s", dbPasswordVar)
	if o.WorkspaceConfig == "" {
		fmt.Fprintf(&buf, ", %s and %s", configBackendURLVar, workspaceTokenVar)
	}
	buf.WriteString(" in the environment\n# (or an .env file beside this one) before `docker compose up`.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc.node()); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

func dbService(i int) string   { return "db" + strconv.Itoa(i) }
func backendName(i int) string { return "backend" + strconv.Itoa(i) }

// required is a compose interpolation that fails `docker compose` when the variable is unset.
func required(name string) string { return "${" + name + ":?set " + name + "}" }

func postgres(i int) omap {
	env := omap{}
	env.set("POSTGRES_USER", dbUser)
	env.set("POSTGRES_PASSWORD", required(dbPasswordVar))
	env.set("POSTGRES_DB", jobsDB)
	s := omap{}
	s.set("image", DefaultPostgresImage)
	s.set("environment", env)
	s.set("volumes", []string{dbService(i) + "-data:/var/lib/postgresql/data"})
	s.set("healthcheck", omap{}.
		with("test", []string{"CMD-SHELL", "pg_isready -U " + dbUser + " -d " + jobsDB}).
		with("interval", "5s").with("timeout", "5s").with("retries", 20))
	s.set("restart", "unless-stopped")
	return s
}

// backend is rudder-server i: its own database, INSTANCE_ID and HOSTNAME (the database
// identity: the server kills connections whose application_name ends with it).
func backend(i int, o Options) omap {
	host := "rudder-node-" + strconv.Itoa(i)
	env := omap{}
	env.set("INSTANCE_ID", strconv.Itoa(i))
	env.set("HOSTNAME", host)
	env.set("JOBS_DB_HOST", dbService(i))
	env.set("JOBS_DB_PORT", "5432")
	env.set("JOBS_DB_USER", dbUser)
	env.set("JOBS_DB_PASSWORD", required(dbPasswordVar))
	env.set("JOBS_DB_DB_NAME", jobsDB)
	env.set("JOBS_DB_SSL_MODE", "disable")
	env.set("DEST_TRANSFORM_URL", "http://transformer-nginx:9090")
	env.set("USER_TRANSFORM_URL", "http://transformer-nginx:9090")
	env.set("RSERVER_GATEWAY_WEB_PORT", "8080")
	if o.WorkspaceConfig == "" {
		env.set("CONFIG_BACKEND_URL", required(configBackendURLVar))
		env.set("WORKSPACE_TOKEN", required(workspaceTokenVar))
	} else {
		env.set("RSERVER_BACKEND_CONFIG_CONFIG_FROM_FILE", "true")
		env.set("RSERVER_BACKEND_CONFIG_CONFIG_JSONPATH", "/etc/rudderstack/workspaceConfig.json")
	}
	// Not a secret: rudder-server resolves env.X placeholders of the workspace only when set.
	env.set("ENTERPRISE_TOKEN", "${ENTERPRISE_TOKEN:-self-hosted}")
	for _, kv := range rudderenv.Offline {
		env.set(kv[0], kv[1])
	}
	deps := omap{}
	deps.set(dbService(i), omap{}.with("condition", "service_healthy"))
	// The gateway opens only after the transformer's /features answered.
	deps.set("transformer-nginx", omap{}.with("condition", "service_started"))
	s := omap{}
	s.set("image", o.ServerImage)
	s.set("hostname", host)
	s.set("environment", env)
	s.set("depends_on", deps)
	if o.WorkspaceConfig != "" {
		s.set("configs", []omap{omap{}.with("source", "workspace-config").with("target", "/etc/rudderstack/workspaceConfig.json")})
	}
	s.set("restart", "unless-stopped") // the server exits when its database is unreachable
	return s
}

func backendsNginx(o Options) omap {
	deps := omap{}
	for i := 1; i <= o.Count; i++ {
		deps.set(backendName(i), omap{}.with("condition", "service_started"))
	}
	s := omap{}
	s.set("image", DefaultNginxImage)
	s.set("ports", []string{strconv.Itoa(o.Port) + ":8080"})
	s.set("configs", []omap{omap{}.with("source", "backends-nginx").with("target", "/etc/nginx/conf.d/default.conf")})
	s.set("depends_on", deps)
	s.set("restart", "unless-stopped")
	return s
}

// backendsNginxConf spreads the gateways' traffic over every backend. The body limit is the
// gateway's own (4000 KB); nginx's default 1 MB would refuse batches the gateway takes.
func backendsNginxConf(n int) string {
	var b strings.Builder
	b.WriteString("upstream rudder_backends {\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  server %s:8080 max_fails=1 fail_timeout=5s;\n", backendName(i))
	}
	b.WriteString(`  keepalive 32;
}
server {
  listen 8080;
  client_max_body_size 4m;
  location / {
    proxy_pass http://rudder_backends;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_next_upstream error timeout http_502 http_503;
  }
}
`)
	return b.String()
}

// transformersNginxConf sends user functions to the user-functions transformer, the rest to
// the destination transformer. rudder-server waits up to 600 s; bodies up to the
// transformer's 200 MB.
const transformersNginxConf = `upstream transformer {
  server transformer:9090;
  keepalive 32;
}
upstream user_transformer {
  server user-transformer:9090;
  keepalive 32;
}
server {
  listen 9090;
  client_max_body_size 200m;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_read_timeout 600s;
  proxy_send_timeout 600s;
  location = /customTransform {
    proxy_pass http://user_transformer;
  }
  location / {
    proxy_pass http://transformer;
  }
}
`

// transformerHealth asks the app itself (the image has Node, not curl).
var transformerHealth = []string{"CMD", "node", "-e",
	"fetch('http://127.0.0.1:9090/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"}

func transformer(image string, extraEnv omap) omap {
	env := omap{}
	env.set("PORT", "9090")
	for _, kv := range extraEnv {
		env.set(kv.k, kv.v)
	}
	s := omap{}
	s.set("image", image)
	s.set("environment", env)
	s.set("healthcheck", omap{}.with("test", transformerHealth).with("interval", "10s").with("timeout", "5s").with("retries", 12).with("start_period", "20s"))
	s.set("restart", "unless-stopped")
	return s
}

func transformersNginx() omap {
	deps := omap{}
	deps.set("transformer", omap{}.with("condition", "service_healthy"))
	deps.set("user-transformer", omap{}.with("condition", "service_healthy"))
	s := omap{}
	s.set("image", DefaultNginxImage)
	s.set("configs", []omap{omap{}.with("source", "transformers-nginx").with("target", "/etc/nginx/conf.d/default.conf")})
	s.set("depends_on", deps)
	s.set("restart", "unless-stopped")
	return s
}

// Load reads a compose file with the compose-spec loader, as `docker compose` would, with
// the required variables set to placeholders (their values are not ours to know).
// workingDir resolves relative paths (the workspace config).
func Load(ctx context.Context, data []byte, workingDir string, env map[string]string) (*types.Project, error) {
	details := types.ConfigDetails{
		WorkingDir:  workingDir,
		ConfigFiles: []types.ConfigFile{{Filename: "compose.yaml", Content: data}},
		Environment: types.Mapping(env),
	}
	return loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SkipResolveEnvironment = true
	})
}

// PlaceholderEnv sets every variable the file requires, for validation.
func PlaceholderEnv() map[string]string {
	return map[string]string{dbPasswordVar: "placeholder", configBackendURLVar: "http://config-backend.invalid", workspaceTokenVar: "placeholder"}
}

// render is Render; a test swaps it to see Write refuse what the loader refuses.
var render = Render

// Write renders, validates with the compose-spec loader and writes the file atomically (a
// temp file beside it, renamed): an invalid file or a failed write leaves nothing behind.
// out "" writes to stdout.
func Write(ctx context.Context, o Options, out string, stdout io.Writer) error {
	data, err := render(o)
	if err != nil {
		return err
	}
	dir := "."
	if out != "" {
		dir = filepath.Dir(out)
	}
	if _, err := Load(ctx, data, dir, PlaceholderEnv()); err != nil {
		return fmt.Errorf("the compose file did not pass the compose-spec loader: %v; nothing was written (this is a bug in rudderctl: report it with the command line)", err)
	}
	if out == "" {
		_, err := stdout.Write(data)
		return err
	}
	return writeAtomic(out, data)
}

func writeAtomic(out string, data []byte) error {
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return fmt.Errorf("--out %s refused: it is a directory; give a file path such as %s", out, filepath.Join(out, "compose.yaml"))
	}
	dir := filepath.Dir(out)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %v; pick a writable place with --out (nothing was written)", out, errors.Unwrap(err))
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), out)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cannot write %s: %v; pick a writable place with --out (nothing was written)", out, werr)
	}
	return nil
}
