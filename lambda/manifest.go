package lambda

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// DefaultManifestPath is $RUDDERCTL_MANIFEST, else the manifest beside the running executable.
func DefaultManifestPath() string {
	if p := os.Getenv("RUDDERCTL_MANIFEST"); p != "" {
		return p
	}
	exe, err := os.Executable()
	if err != nil {
		return manifest.FileName
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	return filepath.Join(filepath.Dir(exe), manifest.FileName)
}

// LoadManifest reads and checks the manifest (manifest.Load), saying what to do when it cannot.
func LoadManifest(path string) (*manifest.Manifest, error) {
	m, err := manifest.Load(path)
	var bad *manifest.Error
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("manifest %s not found: the zip was not built by `rudderctl package`; "+
			"rebuild it, or set RUDDERCTL_MANIFEST to the manifest's path", path)
	case errors.As(err, &bad):
		return nil, fmt.Errorf("%w; rebuild the zip with `rudderctl package`, the same rudderctl version as its bootstrap", err)
	case err != nil:
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	return &m, nil
}
