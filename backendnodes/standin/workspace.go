package standin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// The workspace config as rudder-server decodes it (backend-config/types.go). Field names
// without tags decode case-insensitively and encode as rudder-server's Go names, so a
// destination goes to the transformer in the shape rudder-server sends (Config.webhookUrl,
// Transformations[0].VersionID).
type workspace struct {
	WorkspaceID string    `json:"workspaceId"`
	Sources     []source  `json:"sources"`
	Libraries   []library `json:"libraries"`
	byWriteKey  map[string]*source
	byID        map[string]*source
}

type source struct {
	ID               string
	Name             string
	WriteKey         string
	Enabled          bool
	WorkspaceID      string
	SourceDefinition struct{ ID, Name, Category string }
	Destinations     []destination
}

type destination struct {
	ID                    string
	Name                  string
	DestinationDefinition struct {
		ID, Name, DisplayName string
		Config                map[string]any
	}
	Config             map[string]any
	Enabled            bool
	WorkspaceID        string
	Transformations    []transformation
	IsProcessorEnabled bool
	RevisionID         string
}

type transformation struct {
	VersionID, ID string
	Config        map[string]any
	Language      string
}

type library struct{ VersionID string }

func (w *workspace) index() {
	w.byWriteKey, w.byID = map[string]*source{}, map[string]*source{}
	for i := range w.Sources {
		s := &w.Sources[i]
		w.byWriteKey[s.WriteKey] = s
		w.byID[s.ID] = s
	}
}

// workspaceSource fetches the workspace from the config backend as rudder-server's single
// workspace mode does (backend-config/single_workspace.go), and keeps the latest good copy.
type workspaceSource struct {
	cfg    Config
	client *http.Client
	log    *slog.Logger
	latest atomic.Pointer[workspace]
}

func (s *workspaceSource) current() *workspace { return s.latest.Load() }

// fetch gets GET {CONFIG_BACKEND_URL}/workspaceConfig?fetchAll=true, Basic auth user = token.
func (s *workspaceSource) fetch(ctx context.Context) (*workspace, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.ConfigBackendURL+"/workspaceConfig?fetchAll=true", nil)
	if err != nil {
		return nil, fmt.Errorf("CONFIG_BACKEND_URL is not a URL: %v", redact(err))
	}
	req.SetBasicAuth(s.cfg.WorkspaceToken, "")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the workspace config: %v", redact(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the workspace config: %v", redact(err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the config backend answered %d to GET /workspaceConfig", resp.StatusCode)
	}
	if s.cfg.EnterpriseToken != "" {
		if body, err = replaceEnvPlaceholders(body, os.Getenv, s.log); err != nil {
			return nil, err
		}
	}
	w := &workspace{}
	if err := json.Unmarshal(body, w); err != nil {
		return nil, fmt.Errorf("the workspace config is not valid JSON: %v", err)
	}
	w.index()
	return w, nil
}

// waitFirst fetches until one answer is good (rudder-server retries with backoff too).
func (s *workspaceSource) waitFirst(ctx context.Context) error {
	return retryUntil(ctx, s.log, "workspace config", func() error {
		w, err := s.fetch(ctx)
		if err == nil {
			s.latest.Store(w)
		}
		return err
	})
}

// poll re-fetches every ConfigPollInterval; a failed fetch keeps the previous config.
func (s *workspaceSource) poll(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.cfg.ConfigPollInterval):
		}
		w, err := s.fetch(ctx)
		if err != nil {
			s.log.Warn("workspace config not refreshed", "error", err)
			continue
		}
		s.latest.Store(w)
	}
}

// replaceEnvPlaceholders resolves every string value of the config that starts with "env."
// from the environment, as rudder-server's enterprise config-env does
// (enterprise/config-env/configEnv.go): whole values only; an unset or empty variable leaves
// the placeholder in place (logged by name, never by value).
func replaceEnvPlaceholders(body []byte, getenv func(string) string, log *slog.Logger) ([]byte, error) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("the workspace config is not valid JSON: %v", err)
	}
	var walk func(any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case map[string]any:
			for k, e := range t {
				t[k] = walk(e)
			}
		case []any:
			for i, e := range t {
				t[i] = walk(e)
			}
		case string:
			if name, ok := strings.CutPrefix(strings.TrimSpace(t), "env."); ok {
				if val := getenv(name); val != "" {
					return val
				}
				log.Error("env placeholder not resolved: the variable is unset or empty", "variable", name)
			}
		}
		return x
	}
	return json.Marshal(walk(v))
}

// waitFeatures waits until the destination transformer answers GET /features with 200, as
// rudder-server does before it opens the gateway.
func waitFeatures(ctx context.Context, cfg Config, client *http.Client, log *slog.Logger) error {
	return retryUntil(ctx, log, "transformer /features", func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.DestTransformURL+"/features", nil)
		if err != nil {
			return fmt.Errorf("DEST_TRANSFORM_URL is not a URL: %v", redact(err))
		}
		resp, err := client.Do(req)
		if err != nil {
			return redact(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /features answered %d", resp.StatusCode)
		}
		return nil
	})
}

// retryUntil calls f with backoff (0.5 s doubling to 10 s) until it succeeds or ctx ends.
func retryUntil(ctx context.Context, log *slog.Logger, what string, f func() error) error {
	wait := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		log.Warn("waiting for "+what, "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped while waiting for %s: %v", what, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}
