package lambdalocal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ManifestName is the manifest at the root of a rudderctl zip (CONTRACTS §1).
const ManifestName = "rudderctl-lambda.json"

// Manifest is what a local run needs from rudderctl-lambda.json.
type Manifest struct {
	Schema     int               `json:"schema"`
	Runtime    string            `json:"runtime"`
	Arch       string            `json:"arch"`
	Entry      string            `json:"entry"`
	HealthPath string            `json:"health_path"`
	Env        map[string]string `json:"env"`
}

// ReadManifest reads the manifest of an unpacked zip; HealthPath defaults to /health.
func ReadManifest(taskRoot string) (Manifest, error) {
	p := filepath.Join(taskRoot, ManifestName)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, fmt.Errorf("the zip has no %s: it was not built by `rudderctl package`; build it with rudderctl package transformer --src DIR --out FILE", ManifestName)
	}
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("the zip's %s is not valid JSON (%v): rebuild it with rudderctl package", ManifestName, err)
	}
	if m.Schema != 1 {
		return Manifest{}, fmt.Errorf("the zip's %s has schema %d; this rudderctl reads schema 1: rebuild the zip with this rudderctl", ManifestName, m.Schema)
	}
	if m.Runtime == "" {
		return Manifest{}, fmt.Errorf("the zip's %s names no runtime: rebuild it with rudderctl package", ManifestName)
	}
	if m.Arch == "" {
		m.Arch = "x86_64"
	}
	if m.HealthPath == "" {
		m.HealthPath = "/health"
	}
	return m, nil
}
