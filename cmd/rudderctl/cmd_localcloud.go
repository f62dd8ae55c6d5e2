package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/rudderctl/rudderctl/internal/lambdalocal"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/nodedist"
	"github.com/urfave/cli/v2"
)

// localcloudCommand runs the local cloud: STS, IAM, Lambda, API Gateway v2, CloudWatch Logs
// and S3 on one loopback port, executing what is deployed into it.
func localcloudCommand() *cli.Command {
	return &cli.Command{
		Name:  "localcloud",
		Usage: "run a local AWS (STS, IAM, Lambda, API Gateway HTTP APIs, CloudWatch Logs, S3) that executes deployed functions",
		Subcommands: []*cli.Command{
			{
				Name:  "start",
				Usage: "serve the local cloud in the foreground until Ctrl-C",
				Description: `Serves the AWS APIs rudderctl uses on one address, as aws-sdk-go-v2 and the AWS CLI
speak them (any credentials, account 000000000000, any region). Lambda functions are
run from their zips under the Lambda Runtime Interface Emulator; each HTTP API serves
its $default stage on its own loopback port (see ApiEndpoint), and also on the main
address for Host <apiId>.execute-api.localhost.

State (functions, versions, aliases, roles, APIs and their ports, log groups, buckets and
objects) is kept, one document per service, in
--state-dir (default $RUDDERCTL_CACHE/localcloud, else ~/.cache/rudderctl/localcloud) and
survives restarts. One local cloud per state dir: a second is refused while the first runs.

Fault SPEC (comma-separated): throttle=P (throttling errors with probability P),
error=P (500s), latency=D (added to every call), fail-mutating=N (the Nth mutating call
from now fails once with a 500, changing nothing), seed=S (reproducible randomness).
Change it while running: curl -d 'throttle=0.2' ENDPOINT/_localcloud/faults

Admin: GET /_localcloud/stats, GET /_localcloud/calls, POST /_localcloud/stats/reset,
GET /_localcloud/resources?tag=KEY=VALUE, POST /_localcloud/faults.

Examples:
  rudderctl localcloud start
  rudderctl localcloud start --state-dir ~/.rudderctl/localcloud --addr 127.0.0.1:4566
  rudderctl localcloud start --faults throttle=0.2,latency=20ms,seed=42
  rudderctl localcloud start --delay-active 2s --role-propagation 8s
  rudderctl localcloud start --image-map images.yaml --sandbox loopback

  export AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1
  aws lambda list-functions`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "addr", Value: "127.0.0.1:4566", Usage: "listen address"},
					&cli.StringFlag{Name: "state-dir", Value: defaultLocalcloudDir(), Usage: "where state and code are kept (\"\" = a temp dir removed on exit)"},
					&cli.StringFlag{Name: "faults", Usage: "fault SPEC, e.g. throttle=0.2,error=0.05,latency=20ms,fail-mutating=7,seed=42"},
					&cli.DurationFlag{Name: "delay-active", Usage: "CreateFunction: State Pending -> Active after this long (default 300ms)"},
					&cli.DurationFlag{Name: "delay-update", Usage: "Update*: LastUpdateStatus InProgress -> Successful after this long (default 300ms)"},
					&cli.DurationFlag{Name: "role-propagation", Usage: "a role younger than this cannot be used by Lambda yet (default 2s)"},
					&cli.DurationFlag{Name: "delay-rds", Usage: "RDS: an instance goes creating -> backing-up -> available, a snapshot creating -> available, this long after the work (default 2s)"},
					&cli.StringFlag{Name: "image-map", Usage: "YAML file mapping container images to local programs, for the ECS tasks the cloud runs (docs/LOCALCLOUD.md, Tasks)"},
					&cli.StringFlag{Name: "sandbox", Usage: "how ECS tasks get their own address: netns (a network namespace each, needs root) or loopback (distinct loopback ports); default netns when it works"},
					&cli.StringSliceFlag{Name: "bridge", Usage: "host loopback `HOST:PORT` every task in a namespace reaches (repeatable), beside those its environment names"},
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "do not log requests on stderr"},
				},
				Action: runLocalcloud,
			},
		},
	}
}

// defaultLocalcloudDir is CACHE/localcloud, CACHE being $RUDDERCTL_CACHE (else
// $XDG_CACHE_HOME/rudderctl, else ~/.cache/rudderctl) as for every other cached thing.
func defaultLocalcloudDir() string {
	if d, err := nodedist.CacheDir(); err == nil {
		return filepath.Join(d, "localcloud")
	}
	return ""
}

func runLocalcloud(cctx *cli.Context) error {
	ctx, stop := signal.NotifyContext(cctx.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := localcloud.Options{
		Addr:     cctx.String("addr"),
		StateDir: cctx.String("state-dir"),
		Faults:   cctx.String("faults"),
		Delays: localcloud.Delays{
			Active:          cctx.Duration("delay-active"),
			Update:          cctx.Duration("delay-update"),
			RolePropagation: cctx.Duration("role-propagation"),
			RDS:             cctx.Duration("delay-rds"),
		},
		Log:      os.Stderr,
		ImageMap: cctx.String("image-map"),
		Sandbox:  cctx.String("sandbox"),
		Bridge:   cctx.StringSlice("bridge"),
	}
	if o.StateDir != "" {
		// Absolute: tasks run programs from unpacked images under it, in other directories.
		abs, err := filepath.Abs(o.StateDir)
		if err != nil {
			return fmt.Errorf("localcloud: --state-dir %s: %v", o.StateDir, err)
		}
		o.StateDir = abs
	}
	switch o.Sandbox {
	case "", "netns", "loopback":
	default:
		return fmt.Errorf("localcloud: --sandbox %q refused: it is netns (a network namespace per task, needs root) or loopback (distinct loopback ports)", o.Sandbox)
	}
	for _, b := range o.Bridge {
		if host, port, err := net.SplitHostPort(b); err != nil || port == "" || !net.ParseIP(host).IsLoopback() {
			return fmt.Errorf("localcloud: --bridge %q refused: give a loopback HOST:PORT such as 127.0.0.1:8099 (nothing off the machine is ever bridged)", b)
		}
	}
	if cctx.Bool("quiet") {
		o.Log = nil
	}
	c, err := localcloud.Start(ctx, o)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("localcloud: cannot start: %w: another program (another local cloud?) listens on %s; stop it, or pass another --addr (127.0.0.1:0 picks a free port)", err, o.Addr)
	}
	if err != nil {
		return fmt.Errorf("localcloud: cannot start: %w", err)
	}
	if _, err := lambdalocal.ResolveRIE(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "localcloud: warning: functions cannot run: %v\n", err)
	}
	ep := c.Endpoint()
	fmt.Printf("localcloud listening on %s (state in %s)\n", ep, c.StateDir())
	fmt.Printf("export AWS_ENDPOINT_URL=%s\n", ep)
	fmt.Printf("export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1\n")
	fmt.Printf("# stats: curl %s/_localcloud/stats   faults: curl -d 'throttle=0.2' %s/_localcloud/faults\n", ep, ep)
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "localcloud: stopping")
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(15 * time.Second):
		return fmt.Errorf("localcloud: did not stop within 15s")
	}
}
