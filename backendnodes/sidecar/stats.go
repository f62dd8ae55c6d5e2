package sidecar

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"time"
)

// routeECSAfterTooBig counts requests the Lambda path refused for size and ECS answered.
const routeECSAfterTooBig = "ecs_after_too_big"

// RouteStats is what went one way.
type RouteStats struct {
	Requests      int64 `json:"requests"`
	RequestBytes  int64 `json:"request_bytes"`
	ResponseBytes int64 `json:"response_bytes"`
	Unreachable   int64 `json:"unreachable"` // the upstream did not answer (the sidecar said 502)
}

// Stats is GET /_sidecar/stats.
type Stats struct {
	UptimeSeconds int64 `json:"uptime_seconds"`
	// Routes: "lambda", "ecs" (too big for Lambda by size, or ECS only), "ecs_after_too_big".
	Routes map[string]RouteStats `json:"routes"`
	// LambdaRefusals counts the Lambda path's size refusals by reason (ReasonRequestTooLarge, ...).
	LambdaRefusals map[string]int64 `json:"lambda_refusals"`
	// RejectedTooLarge counts bodies over the sidecar's own limit (answered 413).
	RejectedTooLarge int64 `json:"rejected_too_large"`
}

type stats struct {
	mu       sync.Mutex
	routes   map[string]*RouteStats
	refusals map[string]int64
	tooLarge int64
}

func newStats() *stats {
	st := &stats{routes: map[string]*RouteStats{}, refusals: map[string]int64{}}
	for _, r := range []string{"lambda", "ecs", routeECSAfterTooBig} {
		st.routes[r] = &RouteStats{}
	}
	return st
}

func (st *stats) add(route string, in, out int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r := st.routes[route]
	r.Requests++
	r.RequestBytes += in
	r.ResponseBytes += out
}

func (st *stats) failed(route string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.routes[route].Unreachable++
}

func (st *stats) refused(reason string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.refusals[reason]++
}

func (st *stats) rejected() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.tooLarge++
}

// Stats is a copy of the counters.
func (s *Sidecar) Stats() Stats {
	st := s.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	out := Stats{
		UptimeSeconds:    int64(time.Since(s.started).Seconds()),
		Routes:           map[string]RouteStats{},
		LambdaRefusals:   map[string]int64{},
		RejectedTooLarge: st.tooLarge,
	}
	for k, v := range st.routes {
		out.Routes[k] = *v
	}
	for k, v := range st.refusals {
		out.LambdaRefusals[k] = v
	}
	return out
}

func (s *Sidecar) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "stats are read with GET", "source": ErrorSource})
		return
	}
	writeJSON(w, http.StatusOK, s.Stats())
}

// StatsLine is the periodic log line: one JSON object, no URLs.
func (s *Sidecar) StatsLine() string {
	b, _ := json.Marshal(s.Stats())
	return "sidecar stats: " + string(b)
}

// LogStats logs StatsLine every interval while the counters change, until ctx ends, and once
// more then.
func (s *Sidecar) LogStats(ctx context.Context, interval time.Duration, logf func(string)) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var last Stats
	for {
		select {
		case <-ctx.Done():
			logf(s.StatsLine())
			return
		case <-t.C:
			now := s.Stats()
			now.UptimeSeconds = 0
			if !reflect.DeepEqual(now, last) {
				last = now
				logf(s.StatsLine())
			}
		}
	}
}

// String describes the limits (for --help and the start-up line).
func (s *Sidecar) String() string {
	return fmt.Sprintf("sidecar (max Lambda body %d bytes, max body %d bytes)", s.maxLambdaBytes, s.maxBodyBytes)
}
