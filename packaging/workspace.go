package packaging

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rudderctl/rudderctl/internal/srcroot"
)

// WorkspacePackage is the workspace server's main package, relative to the module root.
const WorkspacePackage = "./lambda/workspace"

// The workspace zip's two files (provided.al2023 runs /var/task/bootstrap).
const (
	WorkspaceBootstrap = "bootstrap"
	WorkspaceBundle    = "workspace.json"
)

// WorkspaceOptions say what goes into the workspace server's zip.
type WorkspaceOptions struct {
	Bundle   []byte // the rendered bundle (serve.NewBundle); no secret is ever in it
	Arch     string // x86_64 | arm64
	Out      string // the zip to write
	Binary   string // a prebuilt server binary; "" = go build ./lambda/workspace in the module root
	Progress io.Writer
}

// WorkspaceReport describes the zip written.
type WorkspaceReport struct {
	Zip         string `json:"zip"`
	SHA256      string `json:"sha256"`
	CodeSha256  string `json:"code_sha256"`
	ZippedBytes int64  `json:"zipped_bytes"`
}

// BuildWorkspace writes the workspace server's Lambda zip: `bootstrap` (the static Go server
// for linux/<arch>, built like the adapter) and the bundle. Same bundle and same rudderctl
// give the same bytes, so an unchanged workspace is an unchanged CodeSha256.
func BuildWorkspace(ctx context.Context, o WorkspaceOptions) (*WorkspaceReport, error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Arch != "x86_64" && o.Arch != "arm64" {
		return nil, fmt.Errorf("architecture %q is not one Lambda runs: use x86_64 or arm64", o.Arch)
	}
	if len(o.Bundle) == 0 {
		return nil, fmt.Errorf("no workspace bundle to package: render the workspace first")
	}
	bin := o.Binary
	if bin == "" {
		root, err := srcroot.Find()
		if err != nil {
			return nil, fmt.Errorf("cannot build the workspace server: %v; run rudderctl from its source checkout, or pass --binary with a prebuilt one (GOOS=linux CGO_ENABLED=0 go build -trimpath -o bootstrap ./lambda/workspace)", err)
		}
		work, err := os.MkdirTemp("", "rudderctl-workspace-build-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(work)
		bin = filepath.Join(work, WorkspaceBootstrap)
		fmt.Fprintf(o.Progress, "package: building the workspace server %s for linux/%s\n", WorkspacePackage, goarch(o.Arch))
		if err := buildStatic(ctx, root, WorkspacePackage, "the workspace server", "pass --binary with a prebuilt one (GOOS=linux CGO_ENABLED=0 go build -trimpath -o bootstrap ./lambda/workspace)", o.Arch, bin); err != nil {
			return nil, err
		}
	}
	if err := checkBootstrap(bin, o.Arch); err != nil {
		return nil, err
	}
	st, err := os.Stat(bin)
	if err != nil {
		return nil, err
	}
	files := []*entry{
		{Rel: WorkspaceBootstrap, Src: bin, Size: st.Size(), Exec: true},
		{Rel: WorkspaceBundle, Data: o.Bundle, Size: int64(len(o.Bundle))},
	}
	tmp, err := writeTemp(o.Out, func(f *os.File) error { return writeZip(f, files) })
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, o.Out); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	hexSum, b64, size, err := hashFile(o.Out)
	if err != nil {
		return nil, err
	}
	return &WorkspaceReport{Zip: o.Out, SHA256: hexSum, CodeSha256: b64, ZippedBytes: size}, nil
}
