package pgcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
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

// TestServerStopsWithItsParent: a process that started a cluster is killed (SIGKILL, no
// chance to stop it); the server shuts down by itself instead of holding its port, and
// the next start on the same directory has the data.
func TestServerStopsWithItsParent(t *testing.T) {
	if dir := os.Getenv("PGCLUSTER_CHILD_DIR"); dir != "" {
		c := newTestCluster(t, dir)
		if err := c.Start(startCtx(t)); err != nil {
			t.Fatal(err)
		}
		conn := connect(t, context.Background(), c.DSN())
		if _, err := conn.Exec(context.Background(), "CREATE TABLE t (v text); INSERT INTO t VALUES ('before the kill')"); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("PORT=%d\n", c.Port())
		select {} // until killed
	}
	testenv.LookPath(t, "initdb", "PostgreSQL 15 runs the clusters")
	dir := filepath.Join(t.TempDir(), "pg")
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerStopsWithItsParent$")
	cmd.Env = append(os.Environ(), "PGCLUSTER_CHILD_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	port := ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "PORT="); ok {
			port = p
			break
		}
	}
	if port == "" {
		t.Fatal("the child did not start its cluster")
	}
	pidFile := filepath.Join(dir, "data", "postmaster.pid")
	if _, err := os.Stat(pidFile); err != nil {
		t.Fatalf("no server running: %v", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The server removes postmaster.pid when its shutdown completes.
	for i := 0; ; i++ {
		if _, err := os.Stat(pidFile); os.IsNotExist(err) {
			break
		}
		if i == 1200 {
			t.Fatal("the server still runs a minute after its parent was killed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	c := newTestCluster(t, dir)
	ctx := startCtx(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := connect(t, ctx, c.DSN()).QueryRow(ctx, "SELECT v FROM t").Scan(&v); err != nil || v != "before the kill" {
		t.Fatalf("after the restart: %q %v", v, err)
	}
}

// TestStartTakesOverAStaleServer: a server another Cluster value (a previous process)
// left running on the directory is stopped, and the new start serves the same data.
func TestStartTakesOverAStaleServer(t *testing.T) {
	ctx := startCtx(t)
	dir := filepath.Join(t.TempDir(), "pg")
	old := newTestCluster(t, dir)
	if err := old.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, ctx, old.DSN()).Exec(ctx, "CREATE TABLE t (v text); INSERT INTO t VALUES ('old')"); err != nil {
		t.Fatal(err)
	}
	c := newTestCluster(t, dir)
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start over a running server: %v", err)
	}
	for i := 0; old.Running(); i++ { // its reaper goroutine may lag a moment
		if i == 100 {
			t.Fatal("the stale server still runs")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var v string
	if err := connect(t, ctx, c.DSN()).QueryRow(ctx, "SELECT v FROM t").Scan(&v); err != nil || v != "old" {
		t.Fatalf("after the take-over: %q %v", v, err)
	}
}
