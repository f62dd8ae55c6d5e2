package standin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// TestFailingSinkKeepsJobsPendingThenDrains: with ENTERPRISE_TOKEN set, the destination's
// env.X webhook URL is resolved from the environment; a sink answering 500 keeps every job
// pending in the router table (jobsdb counts them), a 200 then drains them, each event
// delivered exactly once with the node's INSTANCE_ID; a wrong or missing write key is 401.
func TestFailingSinkKeepsJobsPendingThenDrains(t *testing.T) {
	db := startDatabase(t)
	s := startSink(t)
	s.status.Store(500)
	tr := startFakeTransformer(t)
	cb := startConfigBackend(t, "tok-1", webhookWorkspace("wk-1", "env.STANDIN_SINK_URL", ""), nil)
	env := nodeEnv(db, cb, "tok-1", tr.URL, tr.URL, freePort(t))
	env["ENTERPRISE_TOKEN"] = "self-hosted"
	env["STANDIN_SINK_URL"] = s.URL + "/hook"
	n := startNode(t, env)
	n.waitHealthy(t)

	if code, _ := sendBatch(t, n, "wrong-key", 0, 1); code != http.StatusUnauthorized {
		t.Errorf("wrong write key: %d, want 401", code)
	}
	if code, _ := sendBatch(t, n, "", 0, 1); code != http.StatusUnauthorized {
		t.Errorf("no write key: %d, want 401", code)
	}
	code, ids := sendBatch(t, n, "wk-1", 0, 20)
	if code != 200 {
		t.Fatalf("batch: %d", code)
	}
	waitFor(t, "every event processed and the sink failing", func() bool {
		c := db.pending(t)
		return c.Gateway == 0 && c.Router == 20 && s.attempts.Load() >= 5
	})
	if c := db.pending(t); c.Total != 20 || c.BatchRouter != 0 {
		t.Fatalf("pending %+v, want 20 router jobs", c)
	}
	if failed := db.count(t, `SELECT count(*) FROM v_last_rt_job_status_1 WHERE job_state = 'failed'`); failed == 0 {
		t.Fatal("no failed status in rt_job_status_1 while the sink answers 500")
	}
	s.status.Store(200)
	waitFor(t, "the node to drain", func() bool { return db.pending(t).Total == 0 })
	exactlyOnce(t, s, ids)
	for _, d := range s.deliveries() {
		if d.Instance != "7" {
			t.Fatalf("X-Rudder-Instance %q, want the node's INSTANCE_ID 7", d.Instance)
		}
	}
	if ok := db.count(t, `SELECT count(*) FROM v_last_rt_job_status_1 WHERE job_state = 'succeeded'`); ok != 20 {
		t.Errorf("%d succeeded router jobs, want 20", ok)
	}
}

// TestTransformer413LosesTheChunk documents rudder-server's data loss that the sidecar exists
// to prevent: a 413 from the destination transformer (API Gateway/Lambda refusing a large
// request) is final, so the whole chunk is dropped and its gateway jobs are marked done.
// Nothing is pending afterwards and nothing reaches the sink.
func TestTransformer413LosesTheChunk(t *testing.T) {
	db := startDatabase(t)
	s := startSink(t)
	tr := startFakeTransformer(t)
	tr.destStatus.Store(http.StatusRequestEntityTooLarge)
	cb := startConfigBackend(t, "tok-1", webhookWorkspace("wk-1", s.URL+"/hook", ""), nil)
	env := nodeEnv(db, cb, "tok-1", tr.URL, tr.URL, freePort(t))
	env["RSERVER_PROCESSOR_TRANSFORM_BATCH_SIZE"] = "4"
	n := startNode(t, env)
	n.waitHealthy(t)
	if code, _ := sendBatch(t, n, "wk-1", 0, 10); code != 200 {
		t.Fatalf("batch: %d", code)
	}
	waitFor(t, "the gateway jobs to be marked done", func() bool {
		return db.count(t, `SELECT count(*) FROM v_last_gw_job_status_1 WHERE job_state = 'succeeded'`) == 10
	})
	if c := db.pending(t); c.Total != 0 {
		t.Errorf("pending %+v after a 413: rudder-server drops the chunk, nothing stays pending", c)
	}
	if rt := db.count(t, `SELECT count(*) FROM rt_jobs_1`); rt != 0 {
		t.Errorf("%d router jobs after a 413, want 0 (the chunk is lost)", rt)
	}
	if got := tr.requests.Load(); got != 3 {
		t.Errorf("%d transform requests, want 3 chunks of at most 4 events, each tried once (413 is final)", got)
	}
	if len(s.deliveries()) != 0 {
		t.Errorf("the sink got %d events after a 413", len(s.deliveries()))
	}
}

// TestKill9AndRestartRedelivers: a node killed with SIGKILL while its jobs are pending comes
// back on the same database and delivers every accepted event exactly once.
func TestKill9AndRestartRedelivers(t *testing.T) {
	db := startDatabase(t)
	s := startSink(t)
	s.status.Store(503)
	tr := startFakeTransformer(t)
	cb := startConfigBackend(t, "tok-1", webhookWorkspace("wk-1", s.URL+"/hook", ""), nil)
	env := nodeEnv(db, cb, "tok-1", tr.URL, tr.URL, freePort(t))
	n := startNode(t, env)
	n.waitHealthy(t)
	_, ids := sendBatch(t, n, "wk-1", 0, 15)
	_, more := sendBatch(t, n, "wk-1", 15, 15)
	ids = append(ids, more...)
	waitFor(t, "the sink to refuse deliveries", func() bool { return s.attempts.Load() >= 3 })
	n.kill9(t)
	if c := db.pending(t); c.Total != 30 {
		t.Fatalf("pending after kill -9: %+v, want 30", c)
	}
	s.status.Store(200)
	n2 := startNode(t, env)
	n2.waitHealthy(t)
	waitFor(t, "the restarted node to drain", func() bool { return db.pending(t).Total == 0 })
	exactlyOnce(t, s, ids)
}

// TestGatewayOpensOnlyAfterFeatures: while the transformer's /features fails the gateway
// port stays closed; once it answers, the gateway opens.
func TestGatewayOpensOnlyAfterFeatures(t *testing.T) {
	db := startDatabase(t)
	tr := startFakeTransformer(t)
	tr.featuresStatus.Store(503)
	cb := startConfigBackend(t, "tok-1", webhookWorkspace("wk-1", "http://127.0.0.1:9/hook", ""), nil)
	n := startNode(t, nodeEnv(db, cb, "tok-1", tr.URL, tr.URL, freePort(t)))
	waitFor(t, "the stand-in to ask for /features twice", func() bool { return tr.features.Load() >= 2 })
	if resp, err := http.Get(n.url + "/health"); err == nil {
		resp.Body.Close()
		t.Fatalf("the gateway answered %d before /features did", resp.StatusCode)
	}
	if cb.fetches.Load() == 0 {
		t.Error("the workspace config was not fetched before /features")
	}
	tr.featuresStatus.Store(200)
	n.waitHealthy(t)
}

// TestWrongTokenKeepsGatewayClosed: the workspace is fetched with Basic auth user =
// WORKSPACE_TOKEN; with a wrong token nothing opens.
func TestWrongTokenKeepsGatewayClosed(t *testing.T) {
	db := startDatabase(t)
	tr := startFakeTransformer(t)
	cb := startConfigBackend(t, "tok-1", webhookWorkspace("wk-1", "http://127.0.0.1:9/hook", ""), nil)
	n := startNode(t, nodeEnv(db, cb, "not-the-token", tr.URL, tr.URL, freePort(t)))
	waitFor(t, "two workspace fetches", func() bool { return cb.fetches.Load() >= 2 })
	if resp, err := http.Get(n.url + "/health"); err == nil {
		resp.Body.Close()
		t.Fatalf("the gateway opened (%d) without a workspace", resp.StatusCode)
	}
	if tr.features.Load() != 0 {
		t.Error("/features asked before the workspace loaded")
	}
}

// TestDatabaseUnreachableExits2: like rudder-server, no database at start means exit 2.
func TestDatabaseUnreachableExits2(t *testing.T) {
	db := startDatabase(t)
	tr := startFakeTransformer(t)
	cb := startConfigBackend(t, "tok-1", webhookWorkspace("wk-1", "http://127.0.0.1:9/hook", ""), nil)
	env := nodeEnv(db, cb, "tok-1", tr.URL, tr.URL, freePort(t))
	env["JOBS_DB_PORT"] = strconv.Itoa(freePort(t)) // nothing listens there
	n := startNode(t, env)
	<-n.exited
	var exit *exec.ExitError
	if !errors.As(n.exitErr, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit: %v, want code 2\n%s", n.exitErr, n.output())
	}
	mustContain(t, n.output(), "the jobs database is unreachable")
	if cb.fetches.Load() != 0 {
		t.Error("the workspace was fetched although the database is down")
	}
}

// TestNoAPIVersionIsFatal: a transformer 200 without the header apiVersion: 2 is an
// incompatible transformer; rudder-server panics (the jobs stay pending for a restart).
func TestNoAPIVersionIsFatal(t *testing.T) {
	db := startDatabase(t)
	s := startSink(t)
	tr := startFakeTransformer(t)
	tr.noAPIVersion.Store(true)
	cb := startConfigBackend(t, "tok-1", webhookWorkspace("wk-1", s.URL+"/hook", ""), nil)
	n := startNode(t, nodeEnv(db, cb, "tok-1", tr.URL, tr.URL, freePort(t)))
	n.waitHealthy(t)
	sendBatch(t, n, "wk-1", 0, 3)
	<-n.exited
	var exit *exec.ExitError
	if !errors.As(n.exitErr, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit: %v, want code 2", n.exitErr)
	}
	mustContain(t, n.output(), "incompatible transformer version")
	if c := db.pending(t); c.Gateway != 3 {
		t.Errorf("pending %+v, want the 3 gateway jobs kept", c)
	}
}

// TestSIGTERMExitsCleanly: SIGTERM stops the node with exit 0, and what it accepted is kept.
func TestSIGTERMExitsCleanly(t *testing.T) {
	db := startDatabase(t)
	s := startSink(t)
	s.status.Store(500)
	tr := startFakeTransformer(t)
	cb := startConfigBackend(t, "tok-1", webhookWorkspace("wk-1", s.URL+"/hook", ""), nil)
	n := startNode(t, nodeEnv(db, cb, "tok-1", tr.URL, tr.URL, freePort(t)))
	n.waitHealthy(t)
	sendBatch(t, n, "wk-1", 0, 5)
	n.cmd.Process.Signal(syscall.SIGTERM)
	<-n.exited
	if n.exitErr != nil {
		t.Fatalf("exit after SIGTERM: %v", n.exitErr)
	}
	if c := db.pending(t); c.Total != 5 {
		t.Errorf("pending %+v after SIGTERM, want the 5 accepted events", c)
	}
}

// TestParallelRequestsEachDeliveredOnce: many clients at once; every accepted event arrives
// exactly once (gateway jobs committed concurrently are all processed).
func TestParallelRequestsEachDeliveredOnce(t *testing.T) {
	db := startDatabase(t)
	s := startSink(t)
	tr := startFakeTransformer(t)
	cb := startConfigBackend(t, "tok-1", webhookWorkspace("wk-1", s.URL+"/hook", ""), nil)
	n := startNode(t, nodeEnv(db, cb, "tok-1", tr.URL, tr.URL, freePort(t)))
	n.waitHealthy(t)
	const clients, perClient, size = 8, 10, 5
	ids := make([][]string, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range perClient {
				code, sent := sendBatch(t, n, "wk-1", (c*perClient+b)*size, size)
				if code != 200 {
					t.Errorf("batch: %d", code)
					return
				}
				ids[c] = append(ids[c], sent...)
			}
		}()
	}
	wg.Wait()
	var all []string
	for _, l := range ids {
		all = append(all, l...)
	}
	waitFor(t, "every event at the sink", func() bool { return len(s.deliveries()) >= len(all) && db.pending(t).Total == 0 })
	exactlyOnce(t, s, all)
}

// TestSingleEventRoutes: /v1/track and /v1/identify take one event each, typed by the route.
func TestSingleEventRoutes(t *testing.T) {
	db := startDatabase(t)
	s := startSink(t)
	tr := startFakeTransformer(t)
	cb := startConfigBackend(t, "tok-1", webhookWorkspace("wk-1", s.URL+"/hook", ""), nil)
	n := startNode(t, nodeEnv(db, cb, "tok-1", tr.URL, tr.URL, freePort(t)))
	n.waitHealthy(t)
	for route, body := range map[string]string{"track": `{"userId":"u1","event":"Bought","messageId":"m-track"}`,
		"identify": `{"userId":"u1","traits":{"plan":"pro"},"messageId":"m-identify"}`} {
		req, _ := http.NewRequest(http.MethodPost, n.url+"/v1/"+route, strings.NewReader(body))
		req.SetBasicAuth("wk-1", "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("/v1/%s: %d", route, resp.StatusCode)
		}
	}
	waitFor(t, "both events at the sink", func() bool { return len(s.deliveries()) >= 2 && db.pending(t).Total == 0 })
	exactlyOnce(t, s, []string{"m-track", "m-identify"})
	for _, d := range s.deliveries() {
		if want := strings.TrimPrefix(d.Body["messageId"].(string), "m-"); d.Body["type"] != want {
			t.Errorf("type %v for %v, want %s", d.Body["type"], d.Body["messageId"], want)
		}
	}
}

// TestHealth503WhenDatabaseDown: /health answers 503 while the database refuses connections,
// and 200 again once it is back.
func TestHealth503WhenDatabaseDown(t *testing.T) {
	db := startDatabase(t)
	tr := startFakeTransformer(t)
	cb := startConfigBackend(t, "tok-1", webhookWorkspace("wk-1", "http://127.0.0.1:9/hook", ""), nil)
	n := startNode(t, nodeEnv(db, cb, "tok-1", tr.URL, tr.URL, freePort(t)))
	n.waitHealthy(t)
	db.pool.Close()
	admin, err := pgxpool.New(context.Background(), db.cluster.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+db.name+" ALLOW_CONNECTIONS false"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", db.name); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/health 503", func() bool {
		resp, err := http.Get(n.url + "/health")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var h map[string]string
		json.NewDecoder(resp.Body).Decode(&h)
		return resp.StatusCode == http.StatusServiceUnavailable && h["db"] == "DOWN"
	})
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+db.name+" ALLOW_CONNECTIONS true"); err != nil {
		t.Fatal(err)
	}
	n.waitHealthy(t)
}
