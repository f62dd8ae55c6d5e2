// Package core is the local cloud without its services: the listener, dispatch by the SigV4
// credential scope's service name, the wire-protocol codecs (query/XML, JSON 1.1, restJson,
// REST-XML), faults, the call counters and the access log around every call, persistence,
// and the /_localcloud/* admin endpoints. Each AWS service is a Room (a sub-package of
// internal/localcloud) that brings its operation table, its state and its tagged resources.
package core

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

// AccountID is the account every resource lives in.
const AccountID = "000000000000"

// Options configures a Cloud.
type Options struct {
	Addr     string    // "127.0.0.1:4566"; "127.0.0.1:0" for tests
	StateDir string    // persistence; "" = temp dir removed on Close
	Faults   string    // fault SPEC, see SetFaults
	Delays   Delays    // zero fields = defaults
	Log      io.Writer // access log; nil = discard
	// ImageMap is the file that maps upstream container images to local programs, for the
	// ECS tasks the cloud runs ("" = none; docs/LOCALCLOUD.md, "Images").
	ImageMap string
	// Sandbox chooses how ECS tasks get their own address: "netns" (a network namespace
	// each, needs root), "loopback" (distinct loopback ports), "" = netns when root.
	Sandbox string
	// Bridge are extra host loopback endpoints (host:port) every task in a namespace
	// reaches, beside those its environment names (a webhook sink named only in the
	// workspace a node fetches).
	Bridge []string
}

// Delays are the simulated eventual-consistency windows. A zero field takes its default;
// a negative field means "no delay".
type Delays struct {
	Active          time.Duration // CreateFunction: State Pending -> Active (default 300ms)
	Update          time.Duration // Update*: LastUpdateStatus InProgress -> Successful (default 300ms)
	RolePropagation time.Duration // a role this young cannot be used by Lambda (default 2s)
	// RDS: a DB instance goes creating -> backing-up -> available, a snapshot creating ->
	// available, this long after the work itself (default 2s).
	RDS time.Duration
}

func (d Delays) withDefaults() Delays {
	fix := func(v, def time.Duration) time.Duration {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0
		}
		return v
	}
	return Delays{
		Active:          fix(d.Active, 300*time.Millisecond),
		Update:          fix(d.Update, 300*time.Millisecond),
		RolePropagation: fix(d.RolePropagation, 2*time.Second),
		RDS:             fix(d.RDS, 2*time.Second),
	}
}

// Resource is one resource carrying a tag (see Cloud.Resources).
type Resource struct {
	Service string            `json:"service"` // iam, lambda, apigateway, logs, s3
	Type    string            `json:"type"`    // role, function, api, stage, log-group, bucket
	Name    string            `json:"name"`
	ARN     string            `json:"arn"`
	Tags    map[string]string `json:"tags"`
}

// Cloud is a running local cloud.
type Cloud struct {
	opts     Options
	delays   Delays
	stateDir string
	tempDir  bool
	lock     *stateLock // held from Start to Close
	ln       net.Listener
	srv      *http.Server
	endpoint string

	rooms  []Room          // in registration order
	byName map[string]Room // by SigV4 service name
	ops    map[Room]map[string]Op

	statsMu sync.Mutex
	stats   Stats
	calls   callLog // ordered, reset with the stats (calllog.go)

	faultsMu sync.Mutex
	faults   *faults

	logMu sync.Mutex
	log   io.Writer

	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Start loads every room's state from o.StateDir, listens on o.Addr and serves until Close.
func Start(ctx context.Context, o Options, rooms []Room) (*Cloud, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:4566"
	}
	c := &Cloud{opts: o, delays: o.Delays.withDefaults(), log: o.Log,
		byName: map[string]Room{}, ops: map[Room]map[string]Op{}}
	if c.log == nil {
		c.log = io.Discard
	}
	c.stats = newStats()
	if err := c.register(rooms); err != nil {
		return nil, err
	}
	if o.StateDir == "" {
		d, err := os.MkdirTemp("", "rudderctl-localcloud-")
		if err != nil {
			return nil, err
		}
		c.stateDir, c.tempDir = d, true
	} else {
		if err := os.MkdirAll(o.StateDir, 0o755); err != nil {
			return nil, fmt.Errorf("localcloud: state dir: %w", err)
		}
		c.stateDir = o.StateDir
	}
	fail := func(err error) (*Cloud, error) {
		c.lock.release()
		c.cleanupTemp()
		return nil, err
	}
	// One cloud per state dir: a second would overwrite the first one's state.
	lock, err := lockStateDir(c.stateDir)
	if err != nil {
		return fail(err)
	}
	c.lock = lock
	for _, r := range c.rooms {
		if err := r.Open(c); err != nil {
			c.closeRooms()
			return fail(err)
		}
	}
	if err := c.SetFaults(o.Faults); err != nil {
		c.closeRooms()
		return fail(err)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		c.closeRooms()
		return fail(fmt.Errorf("localcloud: listen %s: %w", o.Addr, err))
	}
	c.ln = ln
	c.endpoint = "http://" + ln.Addr().String()
	c.srv = &http.Server{Handler: c, ReadHeaderTimeout: 30 * time.Second}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		_ = c.srv.Serve(ln)
	}()
	for _, r := range c.rooms {
		if s, ok := r.(Starter); ok {
			s.Start()
		}
	}
	_ = ctx
	return c, nil
}

// register indexes the rooms and their operation tables.
func (c *Cloud) register(rooms []Room) error {
	for _, r := range rooms {
		name := r.Name()
		if c.byName[name] != nil {
			return fmt.Errorf("localcloud: two rooms serve %q", name)
		}
		table := map[string]Op{}
		for _, op := range r.Ops() {
			if _, dup := table[op.Name]; dup {
				return fmt.Errorf("localcloud: %s lists %s twice", name, op.Name)
			}
			table[op.Name] = op
		}
		c.rooms = append(c.rooms, r)
		c.byName[name] = r
		c.ops[r] = table
	}
	return nil
}

// Options returns the options the cloud was started with.
func (c *Cloud) Options() Options { return c.opts }

// Endpoint is the base URL of the cloud, e.g. "http://127.0.0.1:4566".
func (c *Cloud) Endpoint() string { return c.endpoint }

// StateDir is the directory the cloud persists to.
func (c *Cloud) StateDir() string { return c.stateDir }

// Delays are the eventual-consistency windows in effect (defaults filled in).
func (c *Cloud) Delays() Delays { return c.delays }

// Close stops the listeners and the rooms' background work and saves every room's state.
func (c *Cloud) Close() error {
	var err error
	c.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = c.srv.Shutdown(ctx)
		if err != nil {
			_ = c.srv.Close()
		}
		c.closeRooms()
		c.wg.Wait()
		if serr := c.saveAll(); serr != nil && err == nil {
			err = serr
		}
		c.lock.release()
		c.cleanupTemp()
	})
	return err
}

// closeRooms closes the rooms in reverse registration order (an API stage stops before
// the functions it invokes, the functions before the logs they write).
func (c *Cloud) closeRooms() {
	for i := len(c.rooms) - 1; i >= 0; i-- {
		c.rooms[i].Close()
	}
}

func (c *Cloud) cleanupTemp() {
	if c.tempDir {
		_ = os.RemoveAll(c.stateDir)
	}
}

// Logf writes a line of the cloud's own to the access log.
func (c *Cloud) Logf(format string, args ...any) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	fmt.Fprintf(c.log, "%s localcloud: %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// AccessLogf writes one access-log line (a room's data plane, e.g. an API stage request).
func (c *Cloud) AccessLogf(format string, args ...any) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	fmt.Fprintf(c.log, "%s %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// Resources lists everything carrying the tag tagKey=tagValue (tagValue "" = any value).
func (c *Cloud) Resources(tagKey, tagValue string) []Resource {
	match := func(tags map[string]string) bool {
		v, ok := tags[tagKey]
		return ok && (tagValue == "" || v == tagValue)
	}
	var out []Resource
	for _, r := range c.rooms {
		out = append(out, r.Resources(match)...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out
}

// Peer returns the room that offers T (a cross-service interface such as Roles), or the
// zero T when no room does. Rooms find their peers in Open.
func Peer[T any](c *Cloud) T {
	for _, r := range c.rooms {
		if p, ok := r.(T); ok {
			return p
		}
	}
	var zero T
	return zero
}
