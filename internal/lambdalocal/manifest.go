package lambdalocal

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// ReadManifest reads and checks the manifest of an unpacked zip (manifest.Load: arch
// defaults to x86_64, the health path to /health).
func ReadManifest(taskRoot string) (manifest.Manifest, error) {
	m, err := manifest.Load(filepath.Join(taskRoot, manifest.FileName))
	var bad *manifest.Error
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return manifest.Manifest{}, fmt.Errorf("the zip has no %s: it was not built by `rudderctl package`; build it with rudderctl package transformer --src DIR --out FILE", manifest.FileName)
	case errors.As(err, &bad):
		return manifest.Manifest{}, fmt.Errorf("the zip's %w: rebuild it with this rudderctl (rudderctl package transformer --src DIR --out FILE)", err)
	}
	return m, err
}
