package pgcluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Templates is a directory of initialized, stopped data directories, one per master user
// and database: initdb and CREATE DATABASE run once, and each new cluster starts as a copy
// of one (Config.Template). initdb is most of the CPU a new cluster costs; a copy is a
// fraction of it. Each copy is a cluster of its own — its own files, its own server and
// port, its own master password, set at its first start — sharing nothing with the
// template or the other copies once copied. (They do share pg_control's system
// identifier, which only physical replication looks at.)
type Templates struct {
	dir string

	versionOnce sync.Once
	version     string
	versionErr  error

	mu     sync.Mutex
	making map[string]*sync.Mutex // by template key: one initdb per template at a time
}

// NewTemplates keeps templates under dir (created on first use).
func NewTemplates(dir string) *Templates {
	return &Templates{dir: dir, making: map[string]*sync.Mutex{}}
}

// readyFile, in a template's directory, holds the PostgreSQL version that made it: a
// template without it is unfinished, one of another version is made again.
const readyFile = "ready"

// For returns the data directory of the template for user and database, making it on
// first use (initdb as for a cluster, the database created, the server stopped). Callers
// asking for the same template at once wait for one initdb.
func (t *Templates) For(ctx context.Context, user, database string) (string, error) {
	if database == "" {
		database = "postgres"
	}
	version, err := t.serverVersion()
	if err != nil {
		return "", err
	}
	key := templateKey(user, database)
	lock := t.lockFor(key)
	lock.Lock()
	defer lock.Unlock()
	dir := filepath.Join(t.dir, key)
	data := filepath.Join(dir, "data")
	if b, err := os.ReadFile(filepath.Join(dir, readyFile)); err == nil && string(b) == version {
		return data, nil
	}
	if err := t.make(ctx, dir, user, database, version); err != nil {
		_ = os.RemoveAll(dir) // never leave a half-made template to copy
		return "", err
	}
	return data, nil
}

func (t *Templates) lockFor(key string) *sync.Mutex {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.making[key] == nil {
		t.making[key] = &sync.Mutex{}
	}
	return t.making[key]
}

// make runs a cluster once in dir, then stops it: its data directory is the template.
// The master password initdb gets is random and thrown away: a copy sets its own.
func (t *Templates) make(ctx context.Context, dir, user, database, version string) error {
	_ = os.RemoveAll(dir)
	c, err := New(Config{Dir: dir, User: user, Password: rand.Text(), Database: database})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("pgcluster: make the template for user %s, database %s: %w", user, database, err)
	}
	if err := c.Stop(); err != nil {
		return err
	}
	for _, f := range []string{"postgres.log", "run"} {
		_ = os.RemoveAll(filepath.Join(dir, f))
	}
	tmp := filepath.Join(dir, readyFile+".tmp")
	if err := os.WriteFile(tmp, []byte(version), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, readyFile))
}

// serverVersion is `postgres --version`, read once: a template is only copied for the
// server that made it.
func (t *Templates) serverVersion() (string, error) {
	t.versionOnce.Do(func() {
		cmd, err := serverCommand(context.Background(), "postgres", "--version")
		if err != nil {
			t.versionErr = err
			return
		}
		out, err := cmd.Output()
		if err != nil {
			t.versionErr = fmt.Errorf("pgcluster: postgres --version: %v", err)
			return
		}
		t.version = strings.TrimSpace(string(out))
	})
	return t.version, t.versionErr
}

func templateKey(user, database string) string {
	sum := sha256.Sum256([]byte(user + "\x00" + database))
	return hex.EncodeToString(sum[:8])
}
