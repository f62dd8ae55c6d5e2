package standin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The queues, as rudder-server names their tables. The stand-in keeps one dataset (index 1)
// per queue: rudder-server adds datasets as tables fill up and compacts them; jobsdb reads any.
const (
	gwJobs, gwStatus = "gw_jobs_1", "gw_job_status_1"
	rtJobs, rtStatus = "rt_jobs_1", "rt_job_status_1"
)

// schemaSQL creates rudder-server v1.83's dataset tables (jobsdb/jobsdb_dataset_ddl.go) and
// journal (sql/migrations/jobsdb) for gw, rt and batch_rt. batch_rt stays empty here.
func schemaSQL(prefix string) string {
	jobs, status := prefix+"_jobs_1", prefix+"_job_status_1"
	return fmt.Sprintf(`
CREATE TABLE IF NOT EXISTS %[3]s_journal (
	id BIGSERIAL PRIMARY KEY, operation VARCHAR(32) NOT NULL, done BOOLEAN,
	operation_payload JSONB NOT NULL, start_time TIMESTAMP NOT NULL, end_time TIMESTAMP, owner VARCHAR(64));
CREATE TABLE IF NOT EXISTS %[1]q (
	job_id BIGSERIAL PRIMARY KEY,
	workspace_id TEXT NOT NULL DEFAULT '',
	uuid UUID NOT NULL,
	user_id TEXT NOT NULL,
	partition_id TEXT NOT NULL DEFAULT '',
	parameters JSONB NOT NULL,
	custom_val VARCHAR(64) NOT NULL,
	event_payload TEXT NOT NULL,
	event_count INTEGER NOT NULL DEFAULT 1,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
	expire_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
	consumers TEXT[] NOT NULL DEFAULT '{""}');
CREATE TABLE IF NOT EXISTS %[2]q (
	id BIGSERIAL,
	job_id BIGINT,
	job_state VARCHAR(64),
	attempt SMALLINT,
	exec_time TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
	retry_time TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
	error_code VARCHAR(32),
	error_response JSONB DEFAULT '{}'::JSONB,
	parameters JSONB DEFAULT '{}'::JSONB,
	consumer TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS "idx_%[2]s_jid_id_js" ON %[2]q (job_id ASC, id DESC, job_state);
CREATE OR REPLACE VIEW "v_last_%[2]s" AS SELECT DISTINCT ON (job_id) * FROM %[2]q ORDER BY job_id ASC, id DESC;
`, jobs, status, prefix)
}

// CreateSchema creates the gw, rt and batch_rt tables (dataset 1) in rudder-server's layout
// when they are missing. Tests of backendnodes/jobsdb use it too.
func CreateSchema(ctx context.Context, db *pgxpool.Pool) error {
	for _, prefix := range []string{"gw", "rt", "batch_rt"} {
		if _, err := db.Exec(ctx, schemaSQL(prefix)); err != nil {
			return fmt.Errorf("creating the %s job tables: %w", prefix, err)
		}
	}
	return nil
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// job is a row of a jobs table with its latest status.
type job struct {
	ID          int64
	UserID      string
	WorkspaceID string
	Parameters  map[string]any
	Payload     json.RawMessage
	Attempt     int       // attempts so far (latest status), 0 when none
	RetryTime   time.Time // when the latest failed attempt may be retried
	FirstTry    time.Time // exec time of the first attempt (zero when none)
	State       string    // latest state, "" when none
}

// newJob is a row to insert.
type newJob struct {
	UserID, WorkspaceID, CustomVal string
	Parameters                     map[string]any
	Payload                        []byte
}

// pendingJobs reads up to limit jobs above afterID whose latest status is missing or not
// terminal, in job order.
func pendingJobs(ctx context.Context, q querier, jobs, status string, afterID int64, limit int) ([]job, error) {
	rows, err := q.Query(ctx, fmt.Sprintf(`SELECT j.job_id, j.user_id, j.workspace_id, j.parameters, j.event_payload,
			COALESCE(s.attempt, 0), COALESCE(s.retry_time, 'epoch'), COALESCE(s.job_state, ''),
			COALESCE((SELECT min(f.exec_time) FROM %[2]q f WHERE f.job_id = j.job_id), 'epoch')
		FROM %[1]q j
		LEFT JOIN LATERAL (SELECT attempt, retry_time, job_state FROM %[2]q s WHERE s.job_id = j.job_id ORDER BY s.id DESC LIMIT 1) s ON true
		WHERE j.job_id > $1 AND (s.job_state IS NULL OR s.job_state NOT IN ('succeeded', 'aborted', 'migrated', 'filtered'))
		ORDER BY j.job_id LIMIT $2`, jobs, status), afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []job
	for rows.Next() {
		var j job
		var payload string
		if err := rows.Scan(&j.ID, &j.UserID, &j.WorkspaceID, &j.Parameters, &payload, &j.Attempt, &j.RetryTime, &j.State, &j.FirstTry); err != nil {
			return nil, err
		}
		j.Payload = json.RawMessage(payload)
		out = append(out, j)
	}
	return out, rows.Err()
}

// insertJobs queues the rows in tx.
func insertJobs(ctx context.Context, tx pgx.Tx, table string, jobs []newJob) error {
	b := &pgx.Batch{}
	for _, j := range jobs {
		b.Queue(fmt.Sprintf(`INSERT INTO %q (uuid, user_id, workspace_id, parameters, custom_val, event_payload) VALUES ($1, $2, $3, $4, $5, $6)`, table),
			newUUID(), j.UserID, j.WorkspaceID, j.Parameters, j.CustomVal, string(j.Payload))
	}
	return tx.SendBatch(ctx, b).Close()
}

// status is a row to append to a status table.
type status struct {
	JobID     int64
	State     string
	Attempt   int
	RetryTime time.Time
	ErrorCode string
	Response  string
}

func insertStatuses(ctx context.Context, tx pgx.Tx, table string, statuses []status) error {
	b := &pgx.Batch{}
	for _, s := range statuses {
		retry := s.RetryTime
		if retry.IsZero() {
			retry = time.Now()
		}
		resp, _ := json.Marshal(map[string]string{"response": s.Response})
		b.Queue(fmt.Sprintf(`INSERT INTO %q (job_id, job_state, attempt, retry_time, error_code, error_response) VALUES ($1, $2, $3, $4, $5, $6)`, table),
			s.JobID, s.State, s.Attempt, retry, s.ErrorCode, resp)
	}
	return tx.SendBatch(ctx, b).Close()
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
