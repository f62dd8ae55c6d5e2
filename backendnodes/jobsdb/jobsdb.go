// Package jobsdb reads a node's pending jobs straight from rudder-server's own tables: the drain
// check run before a node is removed (docs/NODES.md, "Draining").
//
// The layout is rudder-server v1.83's jobsdb (jobsdb/jobsdb_dataset_ddl.go, jobsdb_utils.go):
// each queue ("gw" gateway, "rt" router, "batch_rt" batch router) is a list of datasets, table
// pairs `<prefix>_jobs_<n>` / `<prefix>_job_status_<n>` (n like 1, 2, 1_1 after compaction).
// Statuses are appended; a job's state is its latest status row (highest id) for each of its
// consumers (`consumers` column, {""} unless the dataset is multi-consumer). A job is pending
// when that state is not terminal, or when it has no status yet ("not_picked_yet"). Datasets
// whose tables carry the comment `rudder:pre_drop:...` are about to be dropped and are skipped,
// as rudder-server skips them.
package jobsdb

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// TerminalStates are rudder-server's terminal job states (jobsdb.go: isTerminal true). Every
// other state (failed, executing, waiting, importing) and no status at all are pending.
var TerminalStates = []string{"succeeded", "aborted", "migrated", "filtered"}

// Queues are the table prefixes whose jobs still have to reach a destination ("proc" too, which
// exists only with Processor.DestinationIsolation.enabled). Not counted: "esch" (event schemas
// for the control plane) and "arc" (archival copies of processed gateway jobs): losing them
// loses no event.
var Queues = struct{ Gateway, Router, BatchRouter string }{"gw", "rt", "batch_rt"}

// Counts are the pending jobs of one node's database, per queue.
type Counts struct {
	Gateway     int64 `json:"gateway"`      // accepted by the gateway, not yet processed
	Router      int64 `json:"router"`       // processed, not yet delivered (or failing)
	BatchRouter int64 `json:"batch_router"` // for batch destinations (warehouses, object stores)
	Processor   int64 `json:"processor"`    // "proc" queue, present only with destination isolation
	Total       int64 `json:"total"`
}

// Querier is what Pending needs: *pgx.Conn, *pgxpool.Pool and pgx.Tx all satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Pending counts the jobs not yet in a terminal state in every dataset of the gateway, router,
// batch router (and, when present, processor) queues. A database without rudder-server's tables
// yet (a node that never started) has nothing pending.
func Pending(ctx context.Context, db Querier) (Counts, error) {
	datasets, err := Datasets(ctx, db)
	if err != nil {
		return Counts{}, err
	}
	var c Counts
	for _, ds := range datasets {
		n, err := pendingIn(ctx, db, ds)
		if err != nil {
			return Counts{}, err
		}
		switch ds.Prefix {
		case Queues.Gateway:
			c.Gateway += n
		case Queues.Router:
			c.Router += n
		case Queues.BatchRouter:
			c.BatchRouter += n
		case "proc":
			c.Processor += n
		}
		c.Total += n
	}
	return c, nil
}

// PendingAt connects to dsn (a postgres:// URL or key=value string), counts, and disconnects:
// the one-off drain check run next to a node's database.
func PendingAt(ctx context.Context, dsn string) (Counts, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return Counts{}, fmt.Errorf("connecting to the node's database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return Pending(ctx, conn)
}

// Dataset is one table pair of a queue.
type Dataset struct {
	Prefix, Index         string
	JobTable, StatusTable string
}

var datasetTable = regexp.MustCompile(`^(gw|rt|batch_rt|proc)_(jobs|job_status)_([0-9]+(?:_[0-9]+)*)$`)

// Datasets lists the table pairs of the counted queues, leaving out pre-drop ones (the same
// catalogue query rudder-server's getAllTableNames makes).
func Datasets(ctx context.Context, db Querier) ([]Dataset, error) {
	rows, err := db.Query(ctx, `SELECT c.relname, COALESCE(d.description, '')
		FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.objsubid = 0
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relkind = 'r'
		ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("listing rudder-server's job tables: %w", err)
	}
	type pair struct{ jobs, status, preDrop bool }
	pairs := map[[2]string]*pair{}
	var order [][2]string
	for rows.Next() {
		var name, comment string
		if err := rows.Scan(&name, &comment); err != nil {
			rows.Close()
			return nil, err
		}
		m := datasetTable.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		key := [2]string{m[1], m[3]}
		p := pairs[key]
		if p == nil {
			p = &pair{}
			pairs[key] = p
			order = append(order, key)
		}
		if m[2] == "jobs" {
			p.jobs = true
		} else {
			p.status = true
		}
		if strings.HasPrefix(comment, "rudder:pre_drop:") {
			p.preDrop = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing rudder-server's job tables: %w", err)
	}
	var out []Dataset
	for _, key := range order {
		p := pairs[key]
		if p.preDrop || !p.jobs || !p.status {
			continue
		}
		out = append(out, Dataset{Prefix: key[0], Index: key[1],
			JobTable: key[0] + "_jobs_" + key[1], StatusTable: key[0] + "_job_status_" + key[1]})
	}
	return out, nil
}

// pendingIn counts the jobs of one dataset that some consumer has not finished: its latest
// status for that consumer is missing or not terminal.
func pendingIn(ctx context.Context, db Querier, ds Dataset) (int64, error) {
	q := fmt.Sprintf(`SELECT count(*) FROM %s j
		WHERE EXISTS (
			SELECT 1 FROM unnest(CASE WHEN cardinality(j.consumers) > 0 THEN j.consumers ELSE '{""}'::text[] END) AS c(consumer)
			WHERE COALESCE((
				SELECT s.job_state FROM %s s
				WHERE s.job_id = j.job_id AND s.consumer = c.consumer
				ORDER BY s.id DESC LIMIT 1), '') <> ALL($1))`,
		pgx.Identifier{ds.JobTable}.Sanitize(), pgx.Identifier{ds.StatusTable}.Sanitize())
	var n int64
	if err := db.QueryRow(ctx, q, TerminalStates).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting pending jobs in %s: %w", ds.JobTable, err)
	}
	return n, nil
}
