package standin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// processor turns gateway jobs into router jobs: user transform (when the destination has
// one), destination transform, and both tables written in one transaction, so a crash at any
// point replays the gateway jobs and nothing is doubled in the router table.
type processor struct {
	cfg     Config
	db      *pgxpool.Pool
	ws      *workspaceSource
	tr      *transformerClient
	log     *slog.Logger
	afterID int64 // highest gateway job finished by this process
}

const processorLoopJobs = 1000

// gatewayPayload is a gateway job's event_payload (one event per job, as rudder-server's
// gateway writes it for /v1/batch).
type gatewayPayload struct {
	Batch      []map[string]any `json:"batch"`
	RequestIP  string           `json:"requestIP"`
	WriteKey   string           `json:"writeKey"`
	ReceivedAt string           `json:"receivedAt"`
}

// round processes the next pending gateway jobs; it returns how many it finished.
func (p *processor) round(ctx context.Context) (int, error) {
	jobs, err := pendingJobs(ctx, p.db, gwJobs, gwStatus, p.afterID, processorLoopJobs)
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	ws := p.ws.current()
	perDest := map[string][]transformerEvent{} // destination id -> events, in job order
	var destOrder []string
	userIDs := map[int64]string{}
	for _, j := range jobs {
		userIDs[j.ID] = j.UserID
		for _, ev := range p.eventsOf(ws, j) {
			if _, seen := perDest[ev.Destination.ID]; !seen {
				destOrder = append(destOrder, ev.Destination.ID)
			}
			perDest[ev.Destination.ID] = append(perDest[ev.Destination.ID], ev)
		}
	}
	var routerJobs []newJob
	for _, id := range destOrder {
		out, err := p.transformDestination(ctx, perDest[id])
		if err != nil {
			return 0, err
		}
		for _, r := range out {
			routerJobs = append(routerJobs, routerJob(r, userIDs[r.Metadata.JobID]))
		}
	}
	done := make([]status, len(jobs))
	for i, j := range jobs {
		done[i] = status{JobID: j.ID, State: "succeeded", Attempt: 1, ErrorCode: "200"}
	}
	err = pgx.BeginFunc(ctx, p.db, func(tx pgx.Tx) error {
		if err := insertJobs(ctx, tx, rtJobs, routerJobs); err != nil {
			return err
		}
		return insertStatuses(ctx, tx, gwStatus, done)
	})
	if err != nil {
		return 0, fmt.Errorf("storing processed jobs: %w", err)
	}
	p.afterID = jobs[len(jobs)-1].ID
	return len(jobs), nil
}

// eventsOf pairs a gateway job's event with each enabled destination of its source that
// accepts the event's type.
func (p *processor) eventsOf(ws *workspace, j job) []transformerEvent {
	var payload gatewayPayload
	if err := json.Unmarshal(j.Payload, &payload); err != nil || len(payload.Batch) == 0 {
		p.log.Error("gateway job without an event: dropped", "job", j.ID)
		return nil
	}
	sourceID, _ := j.Parameters["source_id"].(string)
	src := ws.byID[sourceID]
	if src == nil || !src.Enabled {
		p.log.Warn("gateway job of an unknown or disabled source: dropped", "job", j.ID, "source", sourceID)
		return nil
	}
	var out []transformerEvent
	for _, msg := range payload.Batch {
		eventType, _ := msg["type"].(string)
		eventName, _ := msg["event"].(string)
		messageID, _ := msg["messageId"].(string)
		rudderID, _ := msg["rudderId"].(string)
		for _, d := range src.Destinations {
			if !d.Enabled || !d.IsProcessorEnabled || !supportsType(d, eventType) {
				continue
			}
			out = append(out, transformerEvent{
				Message: msg,
				Metadata: metadata{
					JobID: j.ID, WorkspaceID: src.WorkspaceID, RudderID: rudderID, ReceivedAt: payload.ReceivedAt,
					MessageID: messageID, EventName: eventName, EventType: eventType,
					SourceID: src.ID, SourceName: src.Name, SourceType: src.SourceDefinition.Name,
					SourceCategory: src.SourceDefinition.Category, InstanceID: p.cfg.InstanceID,
					DestinationID: d.ID, DestinationName: d.Name, DestinationType: d.DestinationDefinition.Name,
					DestinationDefinitionID: d.DestinationDefinition.ID,
				},
				Destination: d,
				Libraries:   ws.Libraries,
			})
		}
	}
	return out
}

// supportsType is rudder-server's filter on destinationDefinition.config.supportedMessageTypes
// (no list: every type).
func supportsType(d destination, eventType string) bool {
	list, ok := d.DestinationDefinition.Config["supportedMessageTypes"].([]any)
	if !ok {
		return true
	}
	return slices.ContainsFunc(list, func(v any) bool { s, _ := v.(string); return strings.EqualFold(s, eventType) })
}

// transformDestination runs one destination's events through its user transform (if any)
// and its destination transform, in chunks cut by count only; it returns the 200 answers.
func (p *processor) transformDestination(ctx context.Context, events []transformerEvent) ([]transformerResponse, error) {
	dest := events[0].Destination
	if len(dest.Transformations) > 0 {
		var err error
		if events, err = p.userTransform(ctx, dest, events); err != nil || len(events) == 0 {
			return nil, err
		}
	}
	url := p.cfg.DestTransformURL + "/v0/destinations/" + strings.ToLower(dest.DestinationDefinition.Name)
	var ok []transformerResponse
	for chunk := range slices.Chunk(events, p.cfg.TransformBatchSize) {
		resp, err := p.tr.transform(ctx, url, chunk, metadataOf(chunk))
		if err != nil {
			return nil, err
		}
		ok = append(ok, p.keepOK(resp, "destination")...)
	}
	return ok, nil
}

// userTransform posts {message, metadata, destination{Transformations[{VersionID}]}, libraries}
// to USER_TRANSFORM_URL/customTransform and returns the surviving events.
func (p *processor) userTransform(ctx context.Context, dest destination, events []transformerEvent) ([]transformerEvent, error) {
	url := p.cfg.UserTransformURL + "/customTransform"
	t := dest.Transformations[0]
	var out []transformerEvent
	for chunk := range slices.Chunk(events, p.cfg.UserTransformBatchSize) {
		req := make([]userTransformerEvent, len(chunk))
		for i, ev := range chunk {
			ev.Metadata.TransformationID, ev.Metadata.TransformationVersionID = t.ID, t.VersionID
			req[i] = userTransformerEvent{Message: ev.Message, Metadata: ev.Metadata, Libraries: ev.Libraries}
			req[i].Destination.Transformations = []struct{ VersionID string }{{t.VersionID}}
		}
		resp, err := p.tr.transform(ctx, url, req, metadataOf(chunk))
		if err != nil {
			return nil, err
		}
		for _, r := range p.keepOK(resp, "user") {
			out = append(out, transformerEvent{Message: r.Output, Metadata: r.Metadata, Destination: dest, Libraries: chunk[0].Libraries})
		}
	}
	return out, nil
}

// keepOK keeps the 200 answers with an output; the others are dropped (rudder-server
// records them as failed or filtered in its error tables; the event is not delivered).
func (p *processor) keepOK(resp []transformerResponse, stage string) []transformerResponse {
	var ok []transformerResponse
	var dropped []transformerResponse
	for _, r := range resp {
		if r.StatusCode == 200 && r.Output != nil {
			ok = append(ok, r)
		} else {
			dropped = append(dropped, r)
		}
	}
	if len(dropped) > 0 {
		first := dropped[0]
		p.log.Warn(stage+" transform dropped events", "events", len(dropped), "first_status", first.StatusCode,
			"first_job", first.Metadata.JobID, "first_error", truncate(first.Error, 200))
	}
	return ok
}

func metadataOf(events []transformerEvent) []metadata {
	out := make([]metadata, len(events))
	for i, ev := range events {
		out[i] = ev.Metadata
	}
	return out
}

// routerJob is the router's job for one transformed event: the payload is the transformer's
// output (a REST request), custom_val the destination type, as rudder-server writes them.
func routerJob(r transformerResponse, userID string) newJob {
	payload, _ := json.Marshal(r.Output)
	m := r.Metadata
	return newJob{
		UserID: userID, WorkspaceID: m.WorkspaceID, CustomVal: m.DestinationType, Payload: payload,
		Parameters: map[string]any{
			"source_id": m.SourceID, "destination_id": m.DestinationID, "gateway_job_id": m.JobID,
			"message_id": m.MessageID, "event_name": m.EventName, "event_type": m.EventType,
			"received_at": m.ReceivedAt, "workspaceId": m.WorkspaceID, "transform_at": "processor",
			"source_name": m.SourceName, "destination_definition_id": m.DestinationDefinitionID,
		},
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
