package workspace

// Mirror structs of rudder-server's workspace config (backend-config/types.go at v1.83:
// ConfigT, SourceT, DestinationT, TransformationT, LibraryT, SourceDefinitionT,
// DestinationDefinitionT). Field names and JSON tags are rudder-server's: fields without a
// tag are matched by name, case-insensitively, exactly as encoding/json does for it. Only
// what a rendered config may contain is mirrored; decoding with DisallowUnknownFields then
// refuses any field rudder-server would not read.

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

type rsConfig struct {
	EnableMetrics   bool           `json:"enableMetrics"`
	WorkspaceID     string         `json:"workspaceId"`
	Sources         []rsSource     `json:"sources"`
	EventReplays    map[string]any `json:"eventReplays"`
	Libraries       []rsLibrary    `json:"libraries"`
	ConnectionFlags map[string]any `json:"flags"`
	Settings        map[string]any `json:"settings"`
	UpdatedAt       time.Time      `json:"updatedAt"`
	Credentials     map[string]any `json:"credentials"`
	Connections     map[string]any `json:"connections"`
	Accounts        map[string]any `json:"accounts"`
	AccountDefs     map[string]any `json:"accountDefinitions"`
}

type rsSource struct {
	ID                         string
	OriginalID                 string
	Name                       string
	SourceDefinition           rsSourceDefinition
	Config                     json.RawMessage
	Enabled                    bool
	WorkspaceID                string
	Destinations               []rsDestination
	WriteKey                   string
	DgSourceTrackingPlanConfig map[string]any
	Transient                  bool
	GeoEnrichment              struct{ Enabled bool }
	InternalSecret             json.RawMessage
}

type rsSourceDefinition struct {
	ID       string
	Name     string
	Category string
	Type     string
	Options  struct{ Hydration struct{ Enabled bool } }
}

type rsDestination struct {
	ID                    string
	OriginalID            string `json:"originalId,omitempty"`
	Name                  string
	DestinationDefinition rsDestinationDefinition
	Config                map[string]any
	Enabled               bool
	WorkspaceID           string
	Transformations       []rsTransformation
	IsProcessorEnabled    bool
	RevisionID            string
	DeliveryAccount       map[string]any `json:"deliveryAccount,omitempty"`
	DeleteAccount         map[string]any `json:"deleteAccount,omitempty"`
	HasDynamicConfig      bool           `json:"hasDynamicConfig"`
	Version               int            `json:"version,omitempty"`
}

type rsDestinationDefinition struct {
	ID          string
	Name        string
	DisplayName string
	Config      map[string]any
}

type rsTransformation struct {
	VersionID string
	ID        string
	Config    map[string]any
	Language  string
}

type rsLibrary struct {
	VersionID string
}

// decodeAsRudderServer decodes rendered bytes the strict way and checks the fields
// rudder-server needs to route an event through a user function to a destination.
func decodeAsRudderServer(t *testing.T, data []byte) rsConfig {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var cfg rsConfig
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("rendered config does not decode into rudder-server's ConfigT: %v", err)
	}
	if dec.More() {
		t.Fatal("rendered config has data after the JSON object")
	}
	if cfg.WorkspaceID == "" {
		t.Error("workspaceId is empty")
	}
	if len(cfg.Sources) == 0 {
		t.Error("no sources")
	}
	for _, s := range cfg.Sources {
		for field, v := range map[string]string{"id": s.ID, "name": s.Name, "writeKey": s.WriteKey, "sourceDefinition.id": s.SourceDefinition.ID, "sourceDefinition.name": s.SourceDefinition.Name} {
			if v == "" {
				t.Errorf("source %q: %s is empty", s.Name, field)
			}
		}
		if s.WorkspaceID != cfg.WorkspaceID {
			t.Errorf("source %q: workspaceId %q, want %q", s.Name, s.WorkspaceID, cfg.WorkspaceID)
		}
		if !s.Enabled {
			t.Errorf("source %q is not enabled", s.Name)
		}
		for _, d := range s.Destinations {
			checkDestination(t, cfg, d)
		}
	}
	for _, l := range cfg.Libraries {
		if l.VersionID == "" {
			t.Error("a library has an empty versionId")
		}
	}
	return cfg
}

func checkDestination(t *testing.T, cfg rsConfig, d rsDestination) {
	t.Helper()
	for field, v := range map[string]string{"id": d.ID, "name": d.Name, "revisionId": d.RevisionID, "destinationDefinition.id": d.DestinationDefinition.ID, "destinationDefinition.name": d.DestinationDefinition.Name} {
		if v == "" {
			t.Errorf("destination %q: %s is empty", d.Name, field)
		}
	}
	if d.WorkspaceID != cfg.WorkspaceID {
		t.Errorf("destination %q: workspaceId %q, want %q", d.Name, d.WorkspaceID, cfg.WorkspaceID)
	}
	// Without isProcessorEnabled rudder-server drops the destination's events silently.
	if !d.Enabled || !d.IsProcessorEnabled {
		t.Errorf("destination %q: enabled=%v isProcessorEnabled=%v, want both true", d.Name, d.Enabled, d.IsProcessorEnabled)
	}
	if d.DestinationDefinition.Config["transformAtV1"] != "processor" || d.DestinationDefinition.Config["transformAt"] != "processor" {
		t.Errorf("destination %q: destinationDefinition.config transformAt/transformAtV1 = %v/%v, want processor", d.Name,
			d.DestinationDefinition.Config["transformAt"], d.DestinationDefinition.Config["transformAtV1"])
	}
	for _, tr := range d.Transformations {
		if tr.VersionID == "" || tr.ID == "" || tr.Language != "javascript" {
			t.Errorf("destination %q: transformation %+v lacks versionId, id or language javascript", d.Name, tr)
		}
	}
}
