package standin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rudderctl/rudderctl/backendnodes/jobsdb"
	"github.com/rudderctl/rudderctl/internal/pgcluster"
	"github.com/rudderctl/rudderctl/internal/testenv"
)

// The tests run the stand-in as a real process (built once) against a real PostgreSQL
// cluster, a real HTTP config backend, transformer and webhook sink.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func standinBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rudder-standin-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "rudder-standin")
		out, err := exec.Command("go", "build", "-o", binPath, "./cmd/rudder-standin").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		_ = shared.Stop()
		os.RemoveAll(sharedDir)
	}
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

type database struct {
	cluster *pgcluster.Cluster
	name    string // each test has a database of its own in the shared cluster
	pool    *pgxpool.Pool
}

// One cluster serves every test of the package (initdb costs seconds); each test gets a
// database of its own.
var (
	clusterOnce sync.Once
	shared      *pgcluster.Cluster
	sharedDir   string
	clusterErr  error
	dbSeq       atomic.Int64
)

func startDatabase(t *testing.T) *database {
	t.Helper()
	testenv.LookPath(t, "initdb", "the stand-in's jobs live in a real PostgreSQL cluster")
	testenv.LookPath(t, "postgres", "the stand-in's jobs live in a real PostgreSQL cluster")
	clusterOnce.Do(func() {
		if sharedDir, clusterErr = os.MkdirTemp("", "standin-pg"); clusterErr != nil {
			return
		}
		shared, clusterErr = pgcluster.New(pgcluster.Config{Dir: filepath.Join(sharedDir, "pg"), User: "rudder", Password: "p@ss'word",
			Database: "postgres", Settings: map[string]string{"fsync": "off"}})
		if clusterErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			clusterErr = shared.Start(ctx)
		}
	})
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	name := fmt.Sprintf("jobs_%d", dbSeq.Add(1))
	admin, err := pgxpool.New(context.Background(), shared.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(context.Background(), strings.Replace(shared.DSN(), "/postgres?", "/"+name+"?", 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &database{cluster: shared, name: name, pool: pool}
}

func (d *database) pending(t *testing.T) jobsdb.Counts {
	t.Helper()
	c, err := jobsdb.Pending(context.Background(), d.pool)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (d *database) count(t *testing.T, sql string) int64 {
	t.Helper()
	var n int64
	if err := d.pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// sink is a webhook destination recording what arrives; status is what it answers.
type sink struct {
	*httptest.Server
	status   atomic.Int32
	mu       sync.Mutex
	received []delivery // answered 2xx
	attempts atomic.Int64
}

type delivery struct {
	Instance string
	Auth     string
	Body     map[string]any
}

func startSink(t *testing.T) *sink {
	s := &sink{}
	s.status.Store(200)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.attempts.Add(1)
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		code := int(s.status.Load())
		if code < 300 {
			s.mu.Lock()
			s.received = append(s.received, delivery{r.Header.Get("X-Rudder-Instance"), r.Header.Get("Authorization"), body})
			s.mu.Unlock()
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) deliveries() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivery(nil), s.received...)
}

// byMessageID counts deliveries per messageId.
func (s *sink) byMessageID() map[string]int {
	out := map[string]int{}
	for _, d := range s.deliveries() {
		id, _ := d.Body["messageId"].(string)
		out[id]++
	}
	return out
}

// fakeTransformer answers /features and the webhook destination transform like the example
// transformer; destStatus != 200 makes /v0/destinations/webhook answer that status.
type fakeTransformer struct {
	*httptest.Server
	featuresStatus atomic.Int32
	destStatus     atomic.Int32
	noAPIVersion   atomic.Bool
	requests       atomic.Int64
	features       atomic.Int64
}

func startFakeTransformer(t *testing.T) *fakeTransformer {
	f := &fakeTransformer{}
	f.featuresStatus.Store(200)
	f.destStatus.Store(200)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /features", func(w http.ResponseWriter, r *http.Request) {
		f.features.Add(1)
		w.WriteHeader(int(f.featuresStatus.Load()))
		io.WriteString(w, `{"routerTransform":{}}`)
	})
	mux.HandleFunc("POST /v0/destinations/webhook", func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		var events []struct {
			Message     map[string]any `json:"message"`
			Metadata    map[string]any `json:"metadata"`
			Destination struct{ Config map[string]any }
		}
		if err := json.NewDecoder(r.Body).Decode(&events); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if code := int(f.destStatus.Load()); code != 200 {
			http.Error(w, "refused", code)
			return
		}
		out := make([]map[string]any, len(events))
		for i, ev := range events {
			out[i] = map[string]any{"statusCode": 200, "metadata": ev.Metadata, "output": map[string]any{
				"method": "POST", "endpoint": ev.Destination.Config["webhookUrl"], "headers": map[string]any{},
				"params": map[string]any{}, "body": map[string]any{"JSON": ev.Message}}}
		}
		if !f.noAPIVersion.Load() {
			w.Header().Set("apiVersion", "2")
		}
		json.NewEncoder(w).Encode(out)
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

// configBackend serves GET /workspaceConfig (Basic auth, the token) and user-function code
// by version id, as the stack's workspace server does.
type configBackend struct {
	*httptest.Server
	token     string
	workspace atomic.Pointer[[]byte]
	code      map[string]string // versionId -> code
	fetches   atomic.Int64
}

func startConfigBackend(t *testing.T, token string, workspace []byte, code map[string]string) *configBackend {
	cb := &configBackend{token: token, code: code}
	cb.workspace.Store(&workspace)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /workspaceConfig", func(w http.ResponseWriter, r *http.Request) {
		cb.fetches.Add(1)
		user, pass, ok := r.BasicAuth()
		if !ok || user != cb.token || pass != "" || r.URL.Query().Get("fetchAll") != "true" {
			http.Error(w, "unauthorized", 401)
			return
		}
		w.Write(*cb.workspace.Load())
	})
	mux.HandleFunc("GET /transformation/getByVersionId", func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query().Get("versionId")
		c, ok := cb.code[v]
		if !ok {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"versionId": v, "id": "fn-" + v, "name": "tag", "code": c})
	})
	cb.Server = httptest.NewServer(mux)
	t.Cleanup(cb.Close)
	return cb
}

// webhookWorkspace is a workspace with one source (write key wk) and one webhook destination.
func webhookWorkspace(writeKey, webhookURL, transformationVersion string) []byte {
	transformations := []any{}
	if transformationVersion != "" {
		transformations = append(transformations, map[string]any{"versionId": transformationVersion, "id": "fn-1", "language": "javascript"})
	}
	ws := map[string]any{
		"workspaceId": "ws-1", "updatedAt": "2026-11-29T00:00:00Z",
		"sources": []any{map[string]any{
			"id": "src-1", "name": "web", "writeKey": writeKey, "enabled": true, "workspaceId": "ws-1",
			"sourceDefinition": map[string]any{"id": "sd-1", "name": "HTTP", "category": "eventStream"},
			"destinations": []any{map[string]any{
				"id": "dst-1", "name": "sink", "enabled": true, "isProcessorEnabled": true, "workspaceId": "ws-1",
				"config":          map[string]any{"webhookUrl": webhookURL, "webhookMethod": "POST"},
				"transformations": transformations,
				"destinationDefinition": map[string]any{"id": "dd-1", "name": "WEBHOOK", "displayName": "Webhook",
					"config": map[string]any{"transformAt": "processor", "supportedMessageTypes": []any{"track", "identify"}}},
			}},
		}},
	}
	b, _ := json.Marshal(ws)
	return b
}

// node is a running stand-in process.
type node struct {
	cmd     *exec.Cmd
	port    int
	url     string
	out     *bytes.Buffer
	outMu   *sync.Mutex
	exited  chan struct{}
	exitErr error
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (n *node) output() string { n.outMu.Lock(); defer n.outMu.Unlock(); return n.out.String() }

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// nodeEnv is the environment of a node as the deploy sets it.
func nodeEnv(db *database, cb *configBackend, token, destURL, userURL string, port int) map[string]string {
	cfg := db.cluster.Config()
	return map[string]string{
		"INSTANCE_ID": "7", "HOSTNAME": "rudder-node-7",
		"JOBS_DB_HOST": pgcluster.Host, "JOBS_DB_PORT": strconv.Itoa(db.cluster.Port()), "JOBS_DB_USER": cfg.User,
		"JOBS_DB_PASSWORD": cfg.Password, "JOBS_DB_DB_NAME": db.name, "JOBS_DB_SSL_MODE": "disable",
		"CONFIG_BACKEND_URL": cb.URL, "WORKSPACE_TOKEN": token,
		"DEST_TRANSFORM_URL": destURL, "USER_TRANSFORM_URL": userURL,
		"RSERVER_GATEWAY_WEB_PORT": strconv.Itoa(port),
		// Short retry backoffs keep the tests quick; the rules are rudder-server's.
		"RSERVER_ROUTER_MIN_RETRY_BACKOFF": "100ms", "RSERVER_ROUTER_MAX_RETRY_BACKOFF": "500ms",
		"RSERVER_PROCESSOR_MAX_RETRY_BACKOFF_INTERVAL": "500ms", "RSERVER_BACKEND_CONFIG_POLL_INTERVAL": "200ms",
	}
}

// startNode starts the stand-in; it does not wait for the gateway.
func startNode(t *testing.T, env map[string]string) *node {
	t.Helper()
	cmd := exec.Command(standinBinary(t))
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	port, _ := strconv.Atoi(env["RSERVER_GATEWAY_WEB_PORT"])
	n := &node{cmd: cmd, port: port, url: "http://127.0.0.1:" + strconv.Itoa(port), out: &bytes.Buffer{}, outMu: &sync.Mutex{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = lockedWriter{n.outMu, n.out}, lockedWriter{n.outMu, n.out}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.exitErr = cmd.Wait(); close(n.exited) }()
	t.Cleanup(func() {
		n.cmd.Process.Kill()
		<-n.exited
		if t.Failed() {
			t.Logf("stand-in output:\n%s", n.output())
		}
	})
	return n
}

// waitHealthy waits until the gateway answers /health 200.
func (n *node) waitHealthy(t *testing.T) {
	t.Helper()
	waitFor(t, "the stand-in's gateway to answer /health", func() bool {
		select {
		case <-n.exited:
			t.Fatalf("the stand-in exited: %v\n%s", n.exitErr, n.output())
		default:
		}
		resp, err := http.Get(n.url + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

func (n *node) kill9(t *testing.T) {
	t.Helper()
	n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
}

// waitFor polls cond until it holds; the 2-minute bound only turns a hang into a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sendBatch posts events through /v1/batch with writeKey; it returns the status and the
// messageIds sent.
func sendBatch(t *testing.T, n *node, writeKey string, first, count int) (int, []string) {
	t.Helper()
	var batch []map[string]any
	var ids []string
	for i := first; i < first+count; i++ {
		id := fmt.Sprintf("msg-%04d", i)
		ids = append(ids, id)
		batch = append(batch, map[string]any{"type": "track", "event": "Signed Up", "messageId": id,
			"userId": fmt.Sprintf("user-%d", i%5), "properties": map[string]any{"n": i}})
	}
	body, _ := json.Marshal(map[string]any{"batch": batch})
	req, _ := http.NewRequest(http.MethodPost, n.url+"/v1/batch", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if writeKey != "" {
		req.SetBasicAuth(writeKey, "")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, ids
}

// exactlyOnce fails unless every id arrived exactly once and nothing else arrived.
func exactlyOnce(t *testing.T, s *sink, ids []string) {
	t.Helper()
	got := s.byMessageID()
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("message %s arrived %d times, want once", id, got[id])
		}
	}
	if len(got) != len(ids) {
		t.Errorf("the sink got %d distinct messages, want %d", len(got), len(ids))
	}
}

func mustContain(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q does not contain %q", s, sub)
	}
}
