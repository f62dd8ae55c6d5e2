package jobsdb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rudderctl/rudderctl/backendnodes/jobsdb"
	"github.com/rudderctl/rudderctl/backendnodes/standin"
	"github.com/rudderctl/rudderctl/internal/pgcluster"
	"github.com/rudderctl/rudderctl/internal/testenv"
)

func startDatabase(t *testing.T) (*pgcluster.Cluster, *pgxpool.Pool) {
	t.Helper()
	testenv.LookPath(t, "initdb", "jobsdb reads a real PostgreSQL database")
	testenv.LookPath(t, "postgres", "jobsdb reads a real PostgreSQL database")
	c, err := pgcluster.New(pgcluster.Config{Dir: filepath.Join(t.TempDir(), "pg"), User: "rudder", Password: "pw",
		Database: "jobsdb", Settings: map[string]string{"fsync": "off"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	pool, err := pgxpool.New(context.Background(), c.DSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return c, pool
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// addJob inserts a job into table and then the given statuses (oldest first); consumers
// and per-status consumers are for multi-consumer datasets.
func addJob(t *testing.T, pool *pgxpool.Pool, prefix, index string, consumers []string, statuses ...string) {
	t.Helper()
	if consumers == nil {
		consumers = []string{""}
	}
	var id int64
	err := pool.QueryRow(context.Background(), fmt.Sprintf(`INSERT INTO %q (uuid, user_id, parameters, custom_val, event_payload, consumers)
		VALUES (gen_random_uuid(), 'u', '{}', 'X', '{}', $1) RETURNING job_id`, prefix+"_jobs_"+index), consumers).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range statuses {
		state, consumer, _ := strings.Cut(s, "@")
		exec(t, pool, fmt.Sprintf(`INSERT INTO %q (job_id, job_state, attempt, consumer) VALUES ($1, $2, 1, $3)`, prefix+"_job_status_"+index), id, state, consumer)
	}
}

// TestPendingCountsRudderServersTables: tables laid out as rudder-server v1.83 lays them out
// (created by the stand-in, which uses the same DDL), every job state, several datasets, a
// pre-drop dataset, a multi-consumer dataset and queues that are not counted.
func TestPendingCountsRudderServersTables(t *testing.T) {
	cluster, pool := startDatabase(t)
	ctx := context.Background()

	if c, err := jobsdb.Pending(ctx, pool); err != nil || c != (jobsdb.Counts{}) {
		t.Fatalf("empty database: %+v, %v; want zero counts", c, err)
	}
	if err := standin.CreateSchema(ctx, pool); err != nil {
		t.Fatal(err)
	}
	// gw dataset 1: pending = no status, executing, waiting, failed, importing, failed after
	// an executing; done = succeeded, aborted, migrated, filtered, failed then succeeded.
	for _, states := range [][]string{{}, {"executing"}, {"waiting"}, {"failed"}, {"importing"}, {"executing", "failed"},
		{"succeeded"}, {"aborted"}, {"migrated"}, {"filtered"}, {"failed", "succeeded"}} {
		addJob(t, pool, "gw", "1", nil, states...)
	}
	// a second gw dataset, as rudder-server adds when one fills up (and 1_1 after compaction)
	for _, idx := range []string{"2", "1_1"} {
		exec(t, pool, fmt.Sprintf(`CREATE TABLE "gw_jobs_%[1]s" (LIKE gw_jobs_1 INCLUDING ALL); CREATE TABLE "gw_job_status_%[1]s" (LIKE gw_job_status_1 INCLUDING ALL)`, idx))
		addJob(t, pool, "gw", idx, nil)
		addJob(t, pool, "gw", idx, nil, "succeeded")
	}
	addJob(t, pool, "rt", "1", nil, "failed", "failed")
	addJob(t, pool, "rt", "1", nil, "executing", "succeeded")
	addJob(t, pool, "batch_rt", "1", nil)
	// a dataset marked for dropping is skipped, as rudder-server skips it
	exec(t, pool, `CREATE TABLE rt_jobs_2 (LIKE rt_jobs_1 INCLUDING ALL); CREATE TABLE rt_job_status_2 (LIKE rt_job_status_1 INCLUDING ALL);
		COMMENT ON TABLE rt_jobs_2 IS 'rudder:pre_drop:v1'`)
	addJob(t, pool, "rt", "2", nil)
	// multi-consumer "proc": pending while one consumer has not finished
	exec(t, pool, `CREATE TABLE proc_jobs_1 (LIKE rt_jobs_1 INCLUDING ALL); CREATE TABLE proc_job_status_1 (LIKE rt_job_status_1 INCLUDING ALL)`)
	addJob(t, pool, "proc", "1", []string{"d1", "d2"}, "succeeded@d1", "failed@d2")
	addJob(t, pool, "proc", "1", []string{"d1", "d2"}, "succeeded@d1")
	addJob(t, pool, "proc", "1", []string{"d1", "d2"}, "failed@d2", "succeeded@d1", "succeeded@d2")
	// not counted: event schemas and archives lose no event; a table that only looks alike
	exec(t, pool, `CREATE TABLE esch_jobs_1 (LIKE rt_jobs_1 INCLUDING ALL); CREATE TABLE esch_job_status_1 (LIKE rt_job_status_1 INCLUDING ALL)`)
	addJob(t, pool, "esch", "1", nil)
	exec(t, pool, `CREATE TABLE "rt_jobs_old" (LIKE rt_jobs_1); INSERT INTO rt_jobs_old SELECT * FROM rt_jobs_1`)

	got, err := jobsdb.Pending(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	want := jobsdb.Counts{Gateway: 6 + 2, Router: 1, BatchRouter: 1, Processor: 2, Total: 12}
	if got != want {
		t.Fatalf("Pending = %+v, want %+v", got, want)
	}
	if at, err := jobsdb.PendingAt(ctx, cluster.DSN()); err != nil || at != want {
		t.Fatalf("PendingAt = %+v, %v; want %+v", at, err, want)
	}
}
