package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rudderctl/rudderctl/backendnodes/sidecar"
)

// sidecarCommand is `rudderctl sidecar`: the proxy in each node's task between rudder-server
// and the transformers (backendnodes/sidecar).
func sidecarCommand() *cli.Command {
	return &cli.Command{
		Name:      "sidecar",
		Usage:     "route rudder-server's transformer requests by size: Lambda when they fit, the ECS transformer when not",
		UsageText: "rudderctl sidecar [--listen ADDR] --lambda-url URL --ecs-url URL [--max-lambda-bytes N]",
		Description: `Runs beside rudder-server (DEST_TRANSFORM_URL=http://localhost:<port>) and forwards every
request (method, path, query, headers, body) to a transformer:
  - a body up to --max-lambda-bytes goes to the Lambda transformer (API Gateway + Lambda: 6 MB
    per invoke payload, the body wrapped in a JSON event, hence the 4.5 MiB default);
  - a larger body goes to the ECS transformer (the internal ALB: no such limit);
  - when the Lambda path refuses for size (API Gateway's 413, the adapter's 502 "response is too
    large for Lambda", API Gateway's 500 {"message":"Internal Server Error"}), the same request
    is sent to ECS; every other answer passes through unchanged.
With only one URL set, everything goes there. Bodies over --max-body-bytes are answered 413.
GET /_sidecar/stats: JSON counts of requests and bytes per route (also logged every
--stats-interval); GET /_sidecar/health: 200 while it runs (--check asks it and exits 0/1,
for a container health check). The Lambda URL carries the API's secret prefix: it is never
printed (logs and errors show http(s)://host/…).

Examples:
   LAMBDA_TRANSFORM_URL=https://abc.execute-api.us-east-1.amazonaws.com/k3x9f2 \
   ECS_TRANSFORM_URL=http://internal-uf-123.us-east-1.elb.amazonaws.com rudderctl sidecar
   rudderctl sidecar --listen 127.0.0.1:9190 --ecs-url http://127.0.0.1:9090`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: sidecar.DefaultListen, Usage: "`ADDRESS` to listen on (rudder-server's DEST_TRANSFORM_URL points here)"},
			&cli.StringFlag{Name: "lambda-url", EnvVars: []string{"LAMBDA_TRANSFORM_URL"}, Usage: "the Lambda transformer's `URL` through API Gateway, secret prefix included (never printed)"},
			&cli.StringFlag{Name: "ecs-url", EnvVars: []string{"ECS_TRANSFORM_URL"}, Usage: "the ECS transformer's `URL` (the internal ALB)"},
			&cli.Int64Flag{Name: "max-lambda-bytes", Value: sidecar.DefaultMaxLambdaBytes, Usage: "largest request body sent to Lambda, in `BYTES`; larger ones go to ECS"},
			&cli.Int64Flag{Name: "max-body-bytes", Value: sidecar.DefaultMaxBodyBytes, Usage: "largest request body accepted at all, in `BYTES` (the transformer's own limit); larger ones are answered 413"},
			&cli.BoolFlag{Name: "check", Usage: "health check: GET /_sidecar/health of the sidecar on --listen, exit 0 when it answers 200, else 1 (the image has no curl: ECS health check [\"CMD\", \"/rudderctl\", \"sidecar\", \"--check\"])"},
			&cli.DurationFlag{Name: "stats-interval", Value: time.Minute, Usage: "log the counters every `DURATION` (0: never)"},
		},
		Action: runSidecar,
	}
}

func runSidecar(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	if c.Bool("check") {
		return checkSidecar(c.Context, c.String("listen"))
	}
	if c.Int64("max-lambda-bytes") <= 0 {
		return fmt.Errorf("sidecar: --max-lambda-bytes %d refused: give a positive number of bytes (default %d)", c.Int64("max-lambda-bytes"), sidecar.DefaultMaxLambdaBytes)
	}
	if c.Int64("max-body-bytes") <= 0 {
		return fmt.Errorf("sidecar: --max-body-bytes %d refused: give a positive number of bytes (default %d)", c.Int64("max-body-bytes"), sidecar.DefaultMaxBodyBytes)
	}
	if c.Duration("stats-interval") < 0 {
		return fmt.Errorf("sidecar: --stats-interval %s refused: give a positive duration, or 0 for no stats lines", c.Duration("stats-interval"))
	}
	logf := func(line string) { fmt.Fprintln(os.Stderr, line) }
	sc, err := sidecar.New(sidecar.Config{
		LambdaURL:      c.String("lambda-url"),
		ECSURL:         c.String("ecs-url"),
		MaxLambdaBytes: c.Int64("max-lambda-bytes"),
		MaxBodyBytes:   c.Int64("max-body-bytes"),
		Log:            logf,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return fmt.Errorf("sidecar: cannot listen on %s: %v; pick another address with --listen or stop what uses it", c.String("listen"), err)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: sc, ReadHeaderTimeout: 30 * time.Second}
	logf(fmt.Sprintf("sidecar: listening on http://%s: %s", ln.Addr(), sc.Routes()))
	statsDone := make(chan struct{})
	go func() {
		defer close(statsDone)
		sc.LogStats(ctx, c.Duration("stats-interval"), logf)
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err = <-serveErr:
		stop()
	case <-ctx.Done():
		// Let requests in flight finish (rudder-server waits up to 600 s; ECS gives 30 s).
		shutdown, cancel := context.WithTimeout(context.Background(), 25*time.Second)
		err = srv.Shutdown(shutdown)
		cancel()
	}
	<-statsDone
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sidecar: serving stopped: %v", err)
	}
	return nil
}

// checkSidecar is the container health check: the sidecar on addr answers its health path.
func checkSidecar(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+sidecar.HealthPath, nil)
	if err != nil {
		return fmt.Errorf("sidecar --check: --listen %q is not host:port: %v", addr, err)
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return fmt.Errorf("sidecar --check: the sidecar on %s does not answer: %v; is it running with this --listen?", addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sidecar --check: the sidecar on %s answered %d to %s", addr, resp.StatusCode, sidecar.HealthPath)
	}
	return nil
}
