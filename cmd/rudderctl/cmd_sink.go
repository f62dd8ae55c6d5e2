package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/urfave/cli/v2"
)

// sinkCommand is `rudderctl sink`: a webhook destination for trying the topology locally.
func sinkCommand() *cli.Command {
	return &cli.Command{
		Name:      "sink",
		Usage:     "a local webhook destination: prints one line per event delivered to it",
		UsageText: "rudderctl sink [--listen 127.0.0.1:8099] [--status 200]",
		Description: `Answers every POST with --status and prints one line per event on stdout: its messageId,
event name and the node that delivered it (rudder-server's X-Rudder-Instance header, sent by
the stand-in; "-" when absent). GET /_sink/stats: JSON counts (events, distinct messageIds,
duplicates, by node). scripts/up.sh points the workspace's webhook destination at it.

Examples:
   rudderctl sink --listen 127.0.0.1:8099
   curl -s 127.0.0.1:8099/_sink/stats`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8099", Usage: "`ADDRESS` to listen on"},
			&cli.IntFlag{Name: "status", Value: 200, Usage: "HTTP `STATUS` to answer (500 makes the nodes keep retrying)"},
		},
		Action: runSink,
	}
}

type sinkStats struct {
	mu       sync.Mutex
	Events   int            `json:"events"`
	Distinct int            `json:"distinct"`
	Repeats  int            `json:"duplicates"`
	ByNode   map[string]int `json:"by_node"`
	seen     map[string]bool
}

func runSink(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	status := c.Int("status")
	if status < 200 || status > 599 {
		return fmt.Errorf("sink: --status %d refused: give an HTTP status (200..599)", status)
	}
	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return fmt.Errorf("sink: cannot listen on %s: %v; pick another --listen", c.String("listen"), err)
	}
	st := &sinkStats{ByNode: map[string]int{}, seen: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sink/stats", func(w http.ResponseWriter, _ *http.Request) {
		st.mu.Lock()
		defer st.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(st)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			MessageID string `json:"messageId"`
			Event     string `json:"event"`
			Type      string `json:"type"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		node := r.Header.Get("X-Rudder-Instance")
		if node == "" {
			node = "-"
		}
		if status < 300 {
			st.mu.Lock()
			st.Events++
			st.ByNode[node]++
			if st.seen[ev.MessageID] {
				st.Repeats++
			} else {
				st.seen[ev.MessageID] = true
				st.Distinct++
			}
			n := st.Events
			st.mu.Unlock()
			fmt.Fprintf(c.App.Writer, "sink: event %d: %s %q messageId=%s from node %s\n", n, ev.Type, ev.Event, ev.MessageID, node)
		}
		w.WriteHeader(status)
	})
	fmt.Fprintf(os.Stderr, "sink: listening on http://%s (answering %d)\n", ln.Addr(), status)
	srv := &http.Server{Handler: mux}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
