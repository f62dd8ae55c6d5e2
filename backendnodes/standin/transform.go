package standin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// transformerEvent is one element of a transform request: rudder-server's
// types.TransformerEvent (processor/types/types.go), uncompacted.
type transformerEvent struct {
	Message     map[string]any `json:"message"`
	Metadata    metadata       `json:"metadata"`
	Destination destination    `json:"destination"`
	Libraries   []library      `json:"libraries,omitempty"`
}

// userTransformerEvent is what /customTransform gets: the destination reduced to its
// transformations' version ids (types.UserTransformerEvent).
type userTransformerEvent struct {
	Message     map[string]any `json:"message"`
	Metadata    metadata       `json:"metadata"`
	Destination struct {
		Transformations []struct{ VersionID string }
	} `json:"destination"`
	Libraries []library `json:"libraries,omitempty"`
}

// metadata is the part of rudder-server's types.Metadata the stand-in fills in.
type metadata struct {
	JobID                   int64  `json:"jobId"`
	WorkspaceID             string `json:"workspaceId"`
	RudderID                string `json:"rudderId,omitempty"`
	ReceivedAt              string `json:"receivedAt,omitempty"`
	MessageID               string `json:"messageId"`
	EventName               string `json:"eventName,omitempty"`
	EventType               string `json:"eventType,omitempty"`
	SourceID                string `json:"sourceId"`
	SourceName              string `json:"sourceName"`
	SourceType              string `json:"sourceType"`
	SourceCategory          string `json:"sourceCategory"`
	InstanceID              string `json:"instanceId,omitempty"`
	DestinationID           string `json:"destinationId"`
	DestinationName         string `json:"destinationName"`
	DestinationType         string `json:"destinationType"`
	DestinationDefinitionID string `json:"destinationDefinitionId,omitempty"`
	TransformationID        string `json:"transformationId,omitempty"`
	TransformationVersionID string `json:"transformationVersionId,omitempty"`
}

// transformerResponse is one element of a transform answer.
type transformerResponse struct {
	Output     map[string]any `json:"output"`
	Metadata   metadata       `json:"metadata"`
	StatusCode int            `json:"statusCode"`
	Error      string         `json:"error,omitempty"`
}

// errFatal marks a failure rudder-server answers with a panic (the process exits and replays
// its pending jobs after a restart): retries exhausted, an incompatible transformer.
var errFatal = errors.New("fatal")

// transformerClient posts transform requests with rudder-server's retry rules
// (processor/internal/transformer/destination_transformer.go: doPost, sendBatch).
type transformerClient struct {
	cfg    Config
	client *http.Client
	log    *slog.Logger
}

// transform posts one chunk. A 200 is decoded; any other final answer (2xx-4xx except 408
// and 429) gives every event of the chunk that status: the caller drops them, as rudder-server
// does — a 413 from API Gateway or Lambda loses the whole chunk. Connection errors, >= 500,
// 408 and 429 are retried with backoff; when retries run out the error is fatal.
func (t *transformerClient) transform(ctx context.Context, url string, chunk any, metas []metadata) ([]transformerResponse, error) {
	body, err := json.Marshal(chunk)
	if err != nil {
		return nil, err
	}
	status, respBody, err := t.postWithRetry(ctx, url, body)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		t.log.Error("transformer answered a final error: the chunk is dropped, as rudder-server drops it",
			"status", status, "events", len(metas))
		out := make([]transformerResponse, len(metas))
		for i, m := range metas {
			out[i] = transformerResponse{Metadata: m, StatusCode: status, Error: string(respBody)}
		}
		return out, nil
	}
	var out []transformerResponse
	if err := json.Unmarshal(respBody, &out); err != nil {
		return nil, fmt.Errorf("%w: the transformer's 200 is not a JSON array of responses: %v", errFatal, err)
	}
	return out, nil
}

func (t *transformerClient) postWithRetry(ctx context.Context, target string, body []byte) (int, []byte, error) {
	wait := 500 * time.Millisecond
	for attempt := 0; ; attempt++ {
		status, respBody, apiVersion, err := t.post(ctx, target, body)
		if err == nil && !retryable(status) {
			if status == http.StatusOK && apiVersion != "2" {
				return 0, nil, fmt.Errorf("%w: incompatible transformer version: expected apiVersion 2, received %q", errFatal, apiVersion)
			}
			return status, respBody, nil
		}
		if err == nil {
			err = fmt.Errorf("transformer returned status code: %d", status)
		}
		if attempt >= t.cfg.TransformMaxRetry {
			return 0, nil, fmt.Errorf("%w: transformer request failed after %d attempts: %v", errFatal, attempt+1, err)
		}
		t.log.Warn("transformer request failed, retrying", "attempt", attempt+1, "error", err)
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, t.cfg.TransformMaxBackoff)
	}
}

// post sends one request; a request in flight finishes even when the node is stopping.
func (t *transformerClient) post(ctx context.Context, target string, body []byte) (int, []byte, string, error) {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, "", redact(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-Feature-Gzip-Support", "?1")
	req.Header.Set("X-Feature-Filter-Code", "?1")
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, nil, "", redact(err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, "", redact(err)
	}
	return resp.StatusCode, respBody, resp.Header.Get("apiVersion"), nil
}

// retryable is the complement of rudder-server's IsJobTerminated: 2xx-4xx are final except
// 408 and 429.
func retryable(status int) bool {
	if status == http.StatusTooManyRequests || status == http.StatusRequestTimeout {
		return true
	}
	return status < 200 || status >= 500
}

// redact keeps URLs out of errors: a transformer URL may carry the API's secret path prefix.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		host := "?"
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
		return fmt.Errorf("%s %s: %v", ue.Op, host, ue.Err)
	}
	return err
}
