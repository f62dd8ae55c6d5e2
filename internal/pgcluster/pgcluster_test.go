package pgcluster

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rudderctl/rudderctl/internal/testenv"
)

func newTestCluster(t *testing.T, dir string) *Cluster {
	t.Helper()
	testenv.LookPath(t, "initdb", "PostgreSQL 15 runs the clusters")
	testenv.LookPath(t, "postgres", "PostgreSQL 15 runs the clusters")
	c, err := New(Config{Dir: dir, User: "master", Password: "s3cret'pw", Database: "jobsdb",
		Settings: map[string]string{"fsync": "off"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

func startCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func connect(t *testing.T, ctx context.Context, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestStartWriteRestartRead: data written over TCP with the master password survives a
// stop and a start on the same data directory.
func TestStartWriteRestartRead(t *testing.T) {
	ctx := startCtx(t)
	c := newTestCluster(t, filepath.Join(t.TempDir(), "pg"))
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, ctx, c.DSN())
	if _, err := conn.Exec(ctx, "CREATE TABLE events (id int PRIMARY KEY, body text); INSERT INTO events VALUES (1, 'hello')"); err != nil {
		t.Fatal(err)
	}
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != "jobsdb" {
		t.Fatalf("database = %q, %v; want jobsdb", db, err)
	}
	conn.Close(ctx)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if c.Running() {
		t.Fatal("running after Stop")
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var body string
	if err := connect(t, ctx, c.DSN()).QueryRow(ctx, "SELECT body FROM events WHERE id = 1").Scan(&body); err != nil || body != "hello" {
		t.Fatalf("after restart: body = %q, %v; want hello", body, err)
	}
}

// TestWrongPasswordRefused: TCP connections authenticate with the password.
func TestWrongPasswordRefused(t *testing.T) {
	ctx := startCtx(t)
	c := newTestCluster(t, filepath.Join(t.TempDir(), "pg"))
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(c.DSN(), urlEscape("s3cret'pw"), "wrong", 1)
	conn, err := pgx.Connect(ctx, bad)
	if err == nil {
		conn.Close(ctx)
		t.Fatal("connected with a wrong password")
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("want invalid_password (28P01), got %v", err)
	}
	if err := c.SetPassword(ctx, "n3w"); err != nil {
		t.Fatal(err)
	}
	connect(t, ctx, c.DSN()) // the new password works
}

// TestSnapshotRestore: a copy of the stopped data directory starts as a cluster of its own
// holding the same data.
func TestSnapshotRestore(t *testing.T) {
	ctx := startCtx(t)
	root := t.TempDir()
	c := newTestCluster(t, filepath.Join(root, "a"))
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, ctx, c.DSN()).Exec(ctx, "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')"); err != nil {
		t.Fatal(err)
	}
	if err := c.Snapshot(filepath.Join(root, "snap")); err == nil {
		t.Fatal("snapshot of a running cluster succeeded")
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Snapshot(filepath.Join(root, "snap")); err != nil {
		t.Fatal(err)
	}
	r := newTestCluster(t, filepath.Join(root, "b"))
	if err := r.Restore(filepath.Join(root, "snap")); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := connect(t, ctx, r.DSN()).QueryRow(ctx, "SELECT v FROM t").Scan(&v); err != nil || v != "kept" {
		t.Fatalf("restored: v = %q, %v", v, err)
	}
}
