// Package pgcluster runs a real PostgreSQL cluster in a directory: initdb on first start,
// the postgres server on a loopback port, a master (super)user with a password for TCP
// connections, one database. The local cloud's RDS instances are such clusters, and tests
// use them as a database of their own.
//
// Layout under Config.Dir: data/ (the data directory, owned by the user the server runs
// as), run/ (the unix socket) and postgres.log (the server's output).
//
// PostgreSQL refuses to run as root, so when we are root the tools run as the `postgres`
// user, with CAP_DAC_READ_SEARCH as an ambient capability: the directory may sit below
// root-only directories (a test's temporary directory, a state directory in /root) that
// the postgres user could not otherwise reach. Nothing above Dir is changed.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Config says where and how a cluster runs.
type Config struct {
	Dir            string // the cluster's own directory (created when missing)
	User           string // master user: a superuser, created by initdb
	Password       string // its password (scram-sha-256 over TCP)
	Database       string // created on first start when not "postgres" or empty
	Port           int    // 0: a free port, chosen at each Start
	MaxConnections int    // 0: 300
	// Settings are extra server settings (-c name=value), e.g. fsync=off for tests.
	Settings map[string]string
	// Template, when set, is a data directory made by Templates.For for User and
	// Database: a cluster with no data yet starts as a copy of it instead of running
	// initdb, and its master password is set to Password at that first start.
	Template string
}

// Cluster is one PostgreSQL cluster. Its methods are safe for concurrent use.
type Cluster struct {
	cfg Config

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the server process exits
	port int
}

// Host is the address the server listens on.
const Host = "127.0.0.1"

// New describes a cluster; nothing runs until Start.
func New(cfg Config) (*Cluster, error) {
	if cfg.Dir == "" || cfg.User == "" || cfg.Password == "" {
		return nil, errors.New("pgcluster: Dir, User and Password are required")
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = abs
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = 300
	}
	if cfg.Database == "" {
		cfg.Database = "postgres"
	}
	return &Cluster{cfg: cfg}, nil
}

// DataDir is the cluster's data directory.
func (c *Cluster) DataDir() string { return filepath.Join(c.cfg.Dir, "data") }

func (c *Cluster) socketDir() string { return filepath.Join(c.cfg.Dir, "run") }
func (c *Cluster) logPath() string   { return filepath.Join(c.cfg.Dir, "postgres.log") }

// Port is the TCP port of the running server (0 before the first Start).
func (c *Cluster) Port() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.port
}

// Config returns the cluster's configuration (Port as configured, not as chosen).
func (c *Cluster) Config() Config { return c.cfg }

// DSN is a connection string for the master user over TCP.
func (c *Cluster) DSN() string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable",
		urlEscape(c.cfg.User), urlEscape(c.cfg.Password),
		net.JoinHostPort(Host, strconv.Itoa(c.Port())), urlEscape(c.cfg.Database))
}

// Running reports whether the server process is up.
func (c *Cluster) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runningLocked()
}

func (c *Cluster) runningLocked() bool {
	if c.done == nil {
		return false
	}
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Initialized reports whether the data directory holds a cluster whose first start
// finished (a copy of a template has its master password).
func (c *Cluster) Initialized() bool {
	if _, err := os.Stat(c.initializingPath()); err == nil {
		return false
	}
	_, err := os.Stat(filepath.Join(c.DataDir(), "PG_VERSION"))
	return err == nil
}

// initializingPath marks a first start under way: a cluster stopped (or killed) before
// its first start finished is initialized again from scratch at the next Start.
func (c *Cluster) initializingPath() string { return filepath.Join(c.cfg.Dir, ".initializing") }

// Start initializes the cluster when it has no data yet (initdb, or a copy of
// Config.Template), starts the server, waits until it accepts connections and, on the
// first start, creates the database (and sets a template copy's master password).
func (c *Cluster) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runningLocked() {
		return nil
	}
	c.stopStale() // before a first start redoes the data directory under a stale server
	first := !c.Initialized()
	if first {
		if err := c.initialize(ctx); err != nil {
			return err
		}
	} else if err := c.prepareDirs(); err != nil {
		return err
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = c.startServer(ctx); err == nil || c.cfg.Port != 0 || !portTaken(err) {
			break
		}
	}
	if err != nil {
		return err
	}
	if err := c.finishFirstStart(ctx, first); err != nil {
		c.stopLocked()
		return err
	}
	return nil
}

// initialize fills the data directory: initdb, or a copy of the template. The
// initializing mark stays until the first start has finished.
func (c *Cluster) initialize(ctx context.Context) error {
	if err := os.MkdirAll(c.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := os.WriteFile(c.initializingPath(), nil, 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := os.RemoveAll(c.DataDir()); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if c.cfg.Template != "" {
		if err := CopyDir(c.cfg.Template, c.DataDir()); err != nil {
			return err
		}
		return c.prepareDirs()
	}
	if err := c.prepareDirs(); err != nil {
		return err
	}
	return c.initdb(ctx)
}

// finishFirstStart creates the database and gives a template's copy its own master
// password, then drops the initializing mark. Later starts only make sure the database
// is there.
func (c *Cluster) finishFirstStart(ctx context.Context, first bool) error {
	if err := c.createDatabase(ctx); err != nil {
		return err
	}
	if !first {
		return nil
	}
	if c.cfg.Template != "" {
		if err := c.setPasswordLocked(ctx, c.cfg.Password); err != nil {
			return err
		}
	}
	if err := os.Remove(c.initializingPath()); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown: clients are disconnected, data is flushed).
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopLocked()
}

func (c *Cluster) stopLocked() error {
	if !c.runningLocked() {
		return nil
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		_ = c.cmd.Process.Signal(syscall.SIGQUIT)
		<-c.done
	}
	return nil
}

// SetPassword changes the master user's password on the running server.
func (c *Cluster) SetPassword(ctx context.Context, password string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.setPasswordLocked(ctx, password)
}

func (c *Cluster) setPasswordLocked(ctx context.Context, password string) error {
	conn, err := c.adminConn(ctx, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	q := fmt.Sprintf("ALTER ROLE %s PASSWORD %s", pgx.Identifier{c.cfg.User}.Sanitize(), quoteLiteral(password))
	if _, err := conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("pgcluster: set the master password: %w", err)
	}
	c.cfg.Password = password
	return nil
}

// Snapshot copies the stopped cluster's data directory to dst (which must not exist).
func (c *Cluster) Snapshot(dst string) error {
	if c.Running() {
		return errors.New("pgcluster: snapshot of a running cluster: stop it first")
	}
	if !c.Initialized() {
		return errors.New("pgcluster: snapshot of a cluster that was never started")
	}
	return CopyDir(c.DataDir(), dst)
}

// Restore fills an empty cluster's data directory with a snapshot taken by Snapshot.
// The master user and its password are the snapshot's; call SetPassword after Start to
// change the password.
func (c *Cluster) Restore(snapshot string) error {
	if c.Running() || c.Initialized() {
		return errors.New("pgcluster: restore into a cluster that already has data")
	}
	if err := os.MkdirAll(c.cfg.Dir, 0o700); err != nil {
		return err
	}
	_ = os.RemoveAll(c.DataDir())
	_ = os.Remove(c.initializingPath()) // the snapshot's data is whole: no first start to finish
	return CopyDir(snapshot, c.DataDir())
}

// prepareDirs creates Dir, data/ and run/, owned by the server's user.
func (c *Cluster) prepareDirs() error {
	if err := os.MkdirAll(c.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	for _, d := range []string{c.DataDir(), c.socketDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if err := chownToServer(d); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	pwfile := filepath.Join(c.cfg.Dir, ".pwfile")
	if err := os.WriteFile(pwfile, []byte(c.cfg.Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer os.Remove(pwfile)
	if err := chownToServer(pwfile); err != nil {
		return err
	}
	cmd, err := serverCommand(ctx, "initdb", "-D", c.DataDir(), "-U", c.cfg.User, "--pwfile="+pwfile,
		"-E", "UTF8", "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		// A half-made data directory would be taken for a cluster by the next Start.
		_ = os.RemoveAll(c.DataDir())
		return fmt.Errorf("pgcluster: initdb in %s failed: %v\n%s", c.DataDir(), err, lastLines(out.String(), 20))
	}
	return nil
}

func (c *Cluster) startServer(ctx context.Context) error {
	port := c.cfg.Port
	if port == 0 {
		p, err := freePort()
		if err != nil {
			return err
		}
		port = p
	}
	logf, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	args := []string{"-D", c.DataDir(), "-p", strconv.Itoa(port),
		"-c", "listen_addresses=" + Host, "-c", "unix_socket_directories=" + c.socketDir(),
		"-c", "max_connections=" + strconv.Itoa(c.cfg.MaxConnections)}
	for k, v := range c.cfg.Settings {
		args = append(args, "-c", k+"="+v)
	}
	// Not bound to ctx: the server outlives the call that starts it.
	cmd, err := serverCommand(context.Background(), "postgres", args...)
	if err != nil {
		logf.Close()
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// The server dies with us (fast shutdown) rather than holding its port as an orphan.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGINT
	cmd.SysProcAttr.Setpgid = true
	logStart, _ := logf.Seek(0, 2)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	c.cmd, c.done, c.port = cmd, done, port
	if err := c.waitReady(ctx); err != nil {
		c.stopLocked()
		return fmt.Errorf("%w\n%s", err, c.logSince(logStart))
	}
	return nil
}

// waitReady polls the unix socket until the server answers, the process exits or ctx ends.
func (c *Cluster) waitReady(ctx context.Context) error {
	for {
		conn, err := c.adminConn(ctx, "postgres")
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("pgcluster: postgres exited before accepting connections")
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: postgres not ready: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// adminConn connects as the master user over the unix socket (trust auth).
func (c *Cluster) adminConn(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cfg.Host = c.socketDir()
	cfg.Port = uint16(c.port)
	cfg.User = c.cfg.User
	cfg.Database = db
	cfg.ConnectTimeout = 5 * time.Second
	return pgx.ConnectConfig(ctx, cfg)
}

func (c *Cluster) createDatabase(ctx context.Context) error {
	if c.cfg.Database == "postgres" {
		return nil
	}
	conn, err := c.adminConn(ctx, "postgres")
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", c.cfg.Database).Scan(&exists); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.cfg.Database}.Sanitize()); err != nil {
		return fmt.Errorf("pgcluster: create database %q: %w", c.cfg.Database, err)
	}
	return nil
}

// stopStale shuts down a server a previous process of ours left running on this data
// directory (we were killed before we could stop it), so that this start can take over.
func (c *Cluster) stopStale() {
	b, err := os.ReadFile(filepath.Join(c.DataDir(), "postmaster.pid"))
	if err != nil {
		return
	}
	lines := strings.Split(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(c.DataDir())) {
		return // not running, or not a server of this data directory
	}
	_ = syscall.Kill(pid, syscall.SIGINT)
	for i := 0; i < 600; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) logSince(off int64) string {
	b, err := os.ReadFile(c.logPath())
	if err != nil || off > int64(len(b)) {
		return ""
	}
	return lastLines(string(b[off:]), 20)
}

// PortTaken reports whether Start failed because its configured port is in use.
func PortTaken(err error) bool { return err != nil && portTaken(err) }

func portTaken(err error) bool {
	s := err.Error()
	return strings.Contains(s, "could not bind") || strings.Contains(s, "Address already in use")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", Host+":0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func urlEscape(s string) string {
	var b strings.Builder
	for _, r := range []byte(s) {
		if ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') || strings.IndexByte("-._~", r) >= 0 {
			b.WriteByte(r)
		} else {
			fmt.Fprintf(&b, "%%%02X", r)
		}
	}
	return b.String()
}

// serverUser is who runs the PostgreSQL tools: postgres when we are root, else ourselves.
type serverUser struct {
	uid, gid uint32
	asOther  bool
}

var (
	serverUserOnce sync.Once
	serverUserVal  serverUser
	serverUserErr  error
)

func lookupServerUser() (serverUser, error) {
	serverUserOnce.Do(func() {
		if os.Geteuid() != 0 {
			serverUserVal = serverUser{uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())}
			return
		}
		u, err := user.Lookup("postgres")
		if err != nil {
			serverUserErr = fmt.Errorf("pgcluster: PostgreSQL refuses to run as root and there is no `postgres` user to run it as: %v (create one: useradd -r postgres)", err)
			return
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		serverUserVal = serverUser{uid: uint32(uid), gid: uint32(gid), asOther: true}
	})
	return serverUserVal, serverUserErr
}

func chownToServer(path string) error {
	u, err := lookupServerUser()
	if err != nil {
		return err
	}
	if !u.asOther {
		return nil
	}
	if err := os.Lchown(path, int(u.uid), int(u.gid)); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

// capDacReadSearch lets the server traverse root-only parent directories.
const capDacReadSearch = 2

// serverCommand is a PostgreSQL tool run as the server's user.
func serverCommand(ctx context.Context, tool string, args ...string) (*exec.Cmd, error) {
	path, err := exec.LookPath(tool)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %s is not on PATH: install PostgreSQL 15 (Debian: apt-get install postgresql-15) and put its bin directory on PATH", tool)
	}
	u, err := lookupServerUser()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	cmd.Env = serverEnv()
	cmd.Dir = "/"
	if u.asOther {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid}
		cmd.SysProcAttr.AmbientCaps = []uintptr{capDacReadSearch}
	}
	return cmd, nil
}

// serverEnv keeps the tools away from our PG* variables and locale surprises.
func serverEnv() []string {
	env := []string{"LC_ALL=C", "LANG=C"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "TZ=") {
			env = append(env, kv)
		}
	}
	return env
}
