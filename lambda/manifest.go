package lambda

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ManifestName is the manifest's file name at the task root (docs/CONTRACTS.md §1).
const ManifestName = "rudderctl-lambda.json"

// Manifest describes the app inside the Lambda zip; packaging writes it, the bootstrap reads it.
type Manifest struct {
	Schema     int               `json:"schema"`
	Runtime    string            `json:"runtime"`
	Arch       string            `json:"arch"`
	Entry      string            `json:"entry"`       // relative to the task root
	HealthPath string            `json:"health_path"` // "" = /health
	Env        map[string]string `json:"env"`         // added to the app's environment; the function's env wins
}

// DefaultManifestPath is $RUDDERCTL_MANIFEST, else the manifest beside the running executable.
func DefaultManifestPath() string {
	if p := os.Getenv("RUDDERCTL_MANIFEST"); p != "" {
		return p
	}
	exe, err := os.Executable()
	if err != nil {
		return ManifestName
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	return filepath.Join(filepath.Dir(exe), ManifestName)
}

// LoadManifest reads and checks a manifest.
func LoadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("manifest %s not found: the zip was not built by `rudderctl package`; "+
			"rebuild it, or set RUDDERCTL_MANIFEST to the manifest's path", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s is not valid JSON: %v; rebuild the zip with `rudderctl package`", path, err)
	}
	if m.Schema != 1 {
		return nil, fmt.Errorf("manifest %s has schema %d, this adapter reads schema 1: "+
			"rebuild the zip with the same rudderctl version as its bootstrap", path, m.Schema)
	}
	if m.Entry == "" {
		return nil, fmt.Errorf("manifest %s has no entry: set \"entry\" to the app's start file (e.g. dist/src/index.js)", path)
	}
	if m.HealthPath == "" {
		m.HealthPath = "/health"
	}
	if m.HealthPath[0] != '/' {
		m.HealthPath = "/" + m.HealthPath
	}
	return &m, nil
}
