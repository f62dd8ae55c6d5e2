// Command rudder-standin runs the stand-in backend (package standin): a small server honouring
// rudder-server v1.83's contract, for tests and the local topology when no rudder-server binary
// is given. It reads the same environment as rudder-server (docs/NODES.md).
//
// Exit codes: 0 stopped by SIGTERM/SIGINT after finishing in-flight work; 2 the database is
// unreachable at start or a fatal error (as rudder-server's panic); 1 bad configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/rudderctl/rudderctl/backendnodes/standin"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("app", "rudder-standin")
	cfg, err := standin.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rudder-standin: %v\n", err)
		os.Exit(1)
	}
	log.Info("starting the stand-in backend (not rudder-server)", "instance", cfg.InstanceID, "hostname", cfg.Hostname)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := standin.Run(ctx, cfg, log); err != nil {
		fmt.Fprintf(os.Stderr, "rudder-standin: %v\n", err)
		if errors.Is(err, standin.ErrDatabase) {
			fmt.Fprintln(os.Stderr, "rudder-standin: start the database (or fix JOBS_DB_*); whatever runs this node restarts it")
		}
		os.Exit(2)
	}
	log.Info("stopped")
}
