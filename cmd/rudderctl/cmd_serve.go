package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rudderctl/rudderctl/internal/apigwlocal"
	"github.com/urfave/cli/v2"
)

// serveCommand is `rudderctl serve transformer --local`: a local API Gateway on a real port in
// front of one warm execution environment of the packaged function.
func serveCommand() *cli.Command {
	flags := append(localFlags(),
		&cli.IntFlag{Name: "port", Value: 9090, Usage: "`PORT` to listen on (9090 is where rudder-server looks for the transformer)"},
		&cli.StringFlag{Name: "host", Value: "127.0.0.1", Usage: "`ADDRESS` to listen on (0.0.0.0 for every interface)"},
		&cli.IntFlag{Name: "concurrency", Value: 1, Usage: "`N` execution environments at most, started as concurrent requests need them (Lambda scales out the same way); requests beyond wait"},
		&cli.StringFlag{Name: "prefix", Usage: "secret path `PREFIX`, as a deploy sets RUDDERCTL_PATH_PREFIX (e.g. /k3x9f2); requests without it get 404"},
	)
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the packaged function over HTTP, run locally as Lambda behind API Gateway would",
		Subcommands: []*cli.Command{{
			Name:      "transformer",
			Usage:     "serve the transformer zip on a local port through a local API Gateway and the Lambda Runtime Interface Emulator",
			UsageText: "rudderctl serve transformer --local --zip FILE [--port P] [--prefix /secret] [--env K=V]...",
			Description: `Unpacks the zip, starts one warm execution environment under the official AWS Lambda
Runtime Interface Emulator and answers HTTP on --port like the deployed API Gateway (HTTP
API, payload 2.0): requests over 10 MB get 413 without invoking, events over Lambda's 6 MB
get 413, a function error (crash, timeout, oversized answer) gets 500 and the next request
starts a fresh environment, requests past 30 s get 503. One warm execution environment serves
requests one at a time; --concurrency N lets up to N run side by side, as Lambda would scale
out. Point rudder-server's DEST_TRANSFORM_URL at the printed URL.
Ctrl-C stops it and removes everything it started.

Examples:
   rudderctl serve transformer --local --zip build/transformer.zip
   rudderctl serve transformer --local --zip t.zip --port 9191 --prefix /k3x9f2
   rudderctl serve transformer --local --zip t.zip --concurrency 4
   rudderctl serve transformer --local --zip t.zip --env LOG_LEVEL=debug --timeout 10 --memory 2048`,
			Flags:  flags,
			Action: runServe,
		}},
	}
}

func runServe(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: options go as flags, see rudderctl serve transformer --help", c.Args().First())
	}
	prefix := strings.TrimRight(c.String("prefix"), "/")
	if c.IsSet("prefix") && (prefix == "" || !strings.HasPrefix(prefix, "/") || strings.ContainsAny(prefix, "?# ")) {
		return fmt.Errorf("serve: --prefix %q is not a path prefix: write it as /secret (a leading slash, no query)", c.String("prefix"))
	}
	if n := c.Int("concurrency"); n < 1 || n > 64 {
		return fmt.Errorf("serve: --concurrency %d is out of range: give 1..64 execution environments", n)
	}
	port := c.Int("port")
	if port < 0 || port > 65535 {
		return fmt.Errorf("serve: --port %d is not a TCP port (0..65535)", port)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Take the port first: a busy port fails before anything is unpacked or started.
	addr := net.JoinHostPort(c.String("host"), strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: cannot listen on %s: %v; pick another port with --port or stop what uses it", addr, err)
	}
	defer ln.Close()

	extra := map[string]string{}
	if prefix != "" {
		extra["RUDDERCTL_PATH_PREFIX"] = prefix
	}
	logLine := func(l string) { fmt.Fprintln(os.Stderr, "  | "+l) }
	c.Context = ctx
	lf, err := startLocalFunction(c, extra, os.Stderr, logLine)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer lf.Close()

	gw := &apigwlocal.Gateway{
		Invoke: lf.invoke,
		Log:    func(l string) { fmt.Fprintln(os.Stderr, l) },
	}
	// Warm the environment (init included) through the gateway, so the first real request is
	// warm and a broken zip is reported now.
	health := prefix + lf.manifest.HealthPath
	fmt.Fprintf(os.Stderr, "warming up: GET %s\n", health)
	warm := httptest.NewRequest(http.MethodGet, health, nil)
	warm.RemoteAddr = "127.0.0.1:0"
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, warm.WithContext(ctx))
	if ctx.Err() != nil {
		return nil
	}
	if rec.Code != http.StatusOK {
		return fmt.Errorf("serve: the function did not answer its health check: GET %s gave %d %s; see the function's log above (missing app files, a crash at start, a wrong --env?)",
			health, rec.Code, strings.TrimSpace(rec.Body.String()))
	}

	host := c.String("host")
	if host == "0.0.0.0" || host == "::" || host == "" {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)) + prefix
	srv := &http.Server{Handler: gw, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(c.App.Writer, "serving the transformer at %s (Lambda %s under the Runtime Interface Emulator; Ctrl-C to stop)\n", url, lf.manifest.Runtime)

	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: the HTTP server stopped: %w", err)
		}
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "stopping")
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	return nil
}
