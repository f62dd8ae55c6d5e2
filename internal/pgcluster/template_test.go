package pgcluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rudderctl/rudderctl/internal/testenv"
)

func templateCluster(t *testing.T, dir, tmpl, password string) *Cluster {
	t.Helper()
	c, err := New(Config{Dir: dir, User: "master", Password: password, Database: "jobsdb", Template: tmpl,
		Settings: map[string]string{"fsync": "off"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

// refused checks that dsn's password is refused (invalid_password).
func refused(t *testing.T, ctx context.Context, dsn, what string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		conn.Close(ctx)
		t.Fatalf("%s: connected", what)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("%s: want invalid_password (28P01), got %v", what, err)
	}
}

// TestTemplateCopiesAreClustersOfTheirOwn: two clusters started from one template (asked
// for at once: one initdb) each run their own server on their own port with their own
// password and their own data; what one writes, neither the other nor the template (a
// third copy made afterwards) holds; a copy keeps its password and data across a restart.
func TestTemplateCopiesAreClustersOfTheirOwn(t *testing.T) {
	testenv.LookPath(t, "initdb", "PostgreSQL 15 runs the clusters")
	testenv.LookPath(t, "postgres", "PostgreSQL 15 runs the clusters")
	ctx := startCtx(t)
	root := t.TempDir()
	tpl := NewTemplates(filepath.Join(root, "templates"))
	paths := make([]string, 2)
	var wg sync.WaitGroup
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := tpl.For(ctx, "master", "jobsdb")
			if err != nil {
				t.Error(err)
			}
			paths[i] = p
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if paths[0] != paths[1] {
		t.Fatalf("one template asked for twice gave two: %v", paths)
	}
	made, _ := os.ReadDir(filepath.Join(root, "templates"))
	if len(made) != 1 {
		t.Fatalf("%d templates made, want 1", len(made))
	}

	a := templateCluster(t, filepath.Join(root, "a"), paths[0], "pass-of-a")
	b := templateCluster(t, filepath.Join(root, "b"), paths[0], "pass-of-b")
	for _, c := range []*Cluster{a, b} {
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if a.Port() == b.Port() {
		t.Fatalf("both copies on port %d", a.Port())
	}
	refused(t, ctx, strings.Replace(a.DSN(), "pass-of-a", "pass-of-b", 1), "a with b's password")
	refused(t, ctx, strings.Replace(b.DSN(), "pass-of-b", "pass-of-a", 1), "b with a's password")
	ca := connect(t, ctx, a.DSN())
	var db string
	if err := ca.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != "jobsdb" {
		t.Fatalf("database = %q, %v; want jobsdb", db, err)
	}
	if _, err := ca.Exec(ctx, "CREATE TABLE only_in_a (v text); INSERT INTO only_in_a VALUES ('a')"); err != nil {
		t.Fatal(err)
	}
	ca.Close(ctx)
	noTable := func(c *Cluster, who string) {
		t.Helper()
		var n int
		if err := connect(t, ctx, c.DSN()).QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s sees a's table (count %d, %v)", who, n, err)
		}
	}
	noTable(b, "b")
	c := templateCluster(t, filepath.Join(root, "c"), paths[0], "pass-of-c")
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	noTable(c, "a copy of the template made after a wrote")

	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := connect(t, ctx, a.DSN()).QueryRow(ctx, "SELECT v FROM only_in_a").Scan(&v); err != nil || v != "a" {
		t.Fatalf("a after a restart: v = %q, %v", v, err)
	}
}

// TestInterruptedFirstStartIsRedone: a cluster whose first start stopped after the copy
// (before its password was set) is not initialized; the next Start copies again and sets
// the password.
func TestInterruptedFirstStartIsRedone(t *testing.T) {
	testenv.LookPath(t, "initdb", "PostgreSQL 15 runs the clusters")
	ctx := startCtx(t)
	root := t.TempDir()
	tmpl, err := NewTemplates(filepath.Join(root, "templates")).For(ctx, "master", "jobsdb")
	if err != nil {
		t.Fatal(err)
	}
	c := templateCluster(t, filepath.Join(root, "a"), tmpl, "the-password")
	if err := c.initialize(ctx); err != nil { // the copy, then the process dies
		t.Fatal(err)
	}
	if c.Initialized() {
		t.Fatal("initialized before its first start finished")
	}
	again := templateCluster(t, filepath.Join(root, "a"), tmpl, "the-password")
	if err := again.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !again.Initialized() {
		t.Fatal("not initialized after its first start")
	}
	connect(t, ctx, again.DSN())
}
