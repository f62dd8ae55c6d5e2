package standin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// maxRequestBytes is rudder-server's Gateway.maxReqSizeInKB (4000 KB).
const maxRequestBytes = 4000 * 1024

// gateway is rudder-server's HTTP intake: Basic auth with a source's write key, every event
// one job in gw_jobs_1, a request's jobs committed in one transaction (all or nothing).
type gateway struct {
	cfg    Config
	db     *pgxpool.Pool
	ws     *workspaceSource
	log    *slog.Logger
	wakeup func() // tells the processor there is work

	// commitMu makes job ids commit in order: the processor reads gateway jobs past the last
	// id it finished, so a lower id committed after a higher one would be skipped.
	commitMu sync.Mutex
}

func (g *gateway) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", g.health)
	mux.HandleFunc("GET /{$}", g.health)
	mux.HandleFunc("POST /v1/batch", g.intake(""))
	mux.HandleFunc("POST /v1/track", g.intake("track"))
	mux.HandleFunc("POST /v1/identify", g.intake("identify"))
	return mux
}

// health answers like rudder-server's /health: 503 when the database does not answer.
func (g *gateway) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	db, code := "UP", http.StatusOK
	if err := g.db.Ping(ctx); err != nil {
		db, code = "DOWN", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"appType": "EMBEDDED", "server": "UP", "db": db,
		"acceptingEvents": "TRUE", "routingEvents": "TRUE", "mode": "NORMAL", "backendConfigMode": "API",
		"implementation": "rudder-standin", "instanceId": g.cfg.InstanceID})
}

// intake handles /v1/batch (eventType "") and the single-event routes.
func (g *gateway) intake(eventType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeKey, _, ok := r.BasicAuth()
		if !ok || writeKey == "" {
			http.Error(w, "Failed to read writeKey from header", http.StatusUnauthorized)
			return
		}
		src := g.ws.current().byWriteKey[writeKey]
		if src == nil {
			http.Error(w, "Invalid Write Key", http.StatusUnauthorized)
			return
		}
		if !src.Enabled {
			http.Error(w, "Source is disabled", http.StatusNotFound)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "Request size exceeds max limit", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "Failed to read body from request", http.StatusBadRequest)
			return
		}
		events, msg := parseEvents(body, eventType)
		if msg != "" {
			http.Error(w, msg, http.StatusBadRequest)
			return
		}
		jobs := g.jobsFor(r, src, writeKey, events)
		g.commitMu.Lock()
		err = pgx.BeginFunc(r.Context(), g.db, func(tx pgx.Tx) error { return insertJobs(r.Context(), tx, gwJobs, jobs) })
		g.commitMu.Unlock()
		if err != nil {
			g.log.Error("storing gateway jobs", "error", err)
			http.Error(w, "Internal server error", http.StatusInternalServerError)
			return
		}
		g.wakeup()
		_, _ = io.WriteString(w, "OK")
	}
}

// parseEvents returns the request's events, or a 400 message.
func parseEvents(body []byte, eventType string) ([]map[string]any, string) {
	if eventType == "" {
		var req struct {
			Batch []map[string]any `json:"batch"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, "Invalid JSON"
		}
		if len(req.Batch) == 0 {
			return nil, "Empty batch payload"
		}
		for _, ev := range req.Batch {
			if t, _ := ev["type"].(string); t == "" {
				return nil, "Invalid payload: every event of a batch needs a type"
			}
		}
		return req.Batch, ""
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil || ev == nil {
		return nil, "Invalid JSON"
	}
	ev["type"] = eventType
	return []map[string]any{ev}, ""
}

// jobsFor makes one gateway job per event, enriched as rudder-server's gateway does
// (messageId when missing, receivedAt, request_ip, rudderId), keyed by the user.
func (g *gateway) jobsFor(r *http.Request, src *source, writeKey string, events []map[string]any) []newJob {
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	anonHeader := r.Header.Get("AnonymousId")
	jobs := make([]newJob, 0, len(events))
	for _, ev := range events {
		if id, _ := ev["messageId"].(string); id == "" {
			ev["messageId"] = newUUID()
		}
		ev["receivedAt"], ev["request_ip"], ev["rudderId"] = now, ip, newUUID()
		if _, ok := ev["originalTimestamp"]; !ok {
			ev["originalTimestamp"] = now
		}
		userID, _ := ev["userId"].(string)
		anonID, _ := ev["anonymousId"].(string)
		if anonID == "" {
			anonID = userID
		}
		payload, _ := json.Marshal(gatewayPayload{Batch: []map[string]any{ev}, RequestIP: ip, WriteKey: writeKey, ReceivedAt: now})
		jobs = append(jobs, newJob{
			UserID:      anonHeader + "<<>>" + anonID + "<<>>" + userID,
			WorkspaceID: src.WorkspaceID, CustomVal: "GW", Payload: payload,
			Parameters: map[string]any{"source_id": src.ID, "source_category": src.SourceDefinition.Category},
		})
	}
	return jobs
}
