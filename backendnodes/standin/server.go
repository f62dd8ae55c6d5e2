package standin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrDatabase is returned when the database is unreachable at start: main exits 2 within a
// second, as rudder-server does; whatever runs the node restarts it.
var ErrDatabase = errors.New("the jobs database is unreachable")

// Run starts the node and blocks until ctx ends (SIGTERM in main) or a fatal error. On stop it
// stops accepting requests, lets in-flight requests and deliveries finish, and returns nil.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := CreateSchema(ctx, db); err != nil {
		return err
	}
	client := &http.Client{Timeout: 600 * time.Second} // rudder-server's transformer client timeout
	ws := &workspaceSource{cfg: cfg, client: &http.Client{Timeout: 30 * time.Second}, log: log}
	log.Info("waiting for the workspace config and the transformer's /features before opening the gateway")
	if err := ws.waitFirst(ctx); err != nil {
		return nilIfStopped(ctx, err)
	}
	if err := waitFeatures(ctx, cfg, client, log); err != nil {
		return nilIfStopped(ctx, err)
	}

	wake := make(chan struct{}, 1)
	wakeup := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	gw := &gateway{cfg: cfg, db: db, ws: ws, log: log, wakeup: wakeup}
	proc := &processor{cfg: cfg, db: db, ws: ws, log: log, tr: &transformerClient{cfg: cfg, client: client, log: log}}
	rt := &router{cfg: cfg, db: db, client: &http.Client{}, log: log}

	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.GatewayPort))
	if err != nil {
		return fmt.Errorf("opening the gateway port %d: %v (is another node using it? set RSERVER_GATEWAY_WEB_PORT)", cfg.GatewayPort, err)
	}
	srv := &http.Server{Handler: gw.routes(), ReadHeaderTimeout: 10 * time.Second}
	log.Info("gateway open", "port", cfg.GatewayPort, "instance", cfg.InstanceID)

	// The loops stop after the gateway has drained, so that work in flight is finished.
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	fatal := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); ws.poll(loopCtx) }()
	go func() { defer wg.Done(); loop(loopCtx, "processor", proc.round, wake, fatal, log) }()
	go func() { defer wg.Done(); loop(loopCtx, "router", rt.round, nil, fatal, log) }()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("stopping: no new requests; finishing what is in flight")
	case runErr = <-fatal:
		log.Error("fatal: exiting so that the node restarts and replays its pending jobs", "error", runErr)
	case runErr = <-served:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	stopLoops()
	wg.Wait()
	return runErr
}

// loop runs round until ctx ends: at once again while there is work, else after a short
// pause or a wakeup. A fatal error ends the process (rudder-server panics); others are retried.
func loop(ctx context.Context, name string, round func(context.Context) (int, error), wake <-chan struct{}, fatal chan<- error, log *slog.Logger) {
	for ctx.Err() == nil {
		n, err := round(ctx)
		if err != nil && ctx.Err() == nil {
			if errors.Is(err, errFatal) {
				fatal <- fmt.Errorf("%s: %w", name, err)
				return
			}
			log.Error(name+" round failed; retrying", "error", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func openDB(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.DB.DSN(cfg.Hostname))
	if err != nil {
		return nil, fmt.Errorf("%w: JOBS_DB_* do not form a connection string: %v", ErrDatabase, err)
	}
	pc.MaxConns = 20
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	db, err := pgxpool.NewWithConfig(pingCtx, pc)
	if err == nil {
		err = db.Ping(pingCtx)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		return nil, fmt.Errorf("%w at %s:%d (database %s): %v", ErrDatabase, cfg.DB.Host, cfg.DB.Port, cfg.DB.Name, err)
	}
	return db, nil
}

func nilIfStopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
