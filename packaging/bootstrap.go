package packaging

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rudderctl/rudderctl/internal/srcroot"
)

// ModulePath is this repository's Go module.
const ModulePath = srcroot.ModulePath

// BootstrapPackage is the adapter's main package, relative to the module root.
const BootstrapPackage = "./lambda/bootstrap"

// FindModuleRoot finds the rudderctl checkout to build the adapter in (srcroot.Find).
func FindModuleRoot() (string, error) {
	root, err := srcroot.Find()
	if err != nil {
		return "", fmt.Errorf("cannot build the adapter: %v; run rudderctl from its source checkout, or pass --bootstrap with a prebuilt adapter (GOOS=linux go build -o bootstrap ./lambda/bootstrap)", err)
	}
	return root, nil
}

// BuildBootstrap cross-compiles the adapter for linux/<arch> into out, reproducibly:
// CGO off, -trimpath, no VCS stamp, -s -w, empty build id.
func BuildBootstrap(ctx context.Context, moduleRoot, arch, out string) error {
	return buildStatic(ctx, moduleRoot, BootstrapPackage, "the adapter", "pass --bootstrap with a prebuilt adapter", arch, out)
}

// buildStatic cross-compiles the Go main package pkg (relative to the module root) for
// linux/<arch> into out, reproducibly (see BuildBootstrap); what names it in errors, and
// orElse says how to do without building.
func buildStatic(ctx context.Context, moduleRoot, pkg, what, orElse, arch, out string) error {
	if _, err := os.Stat(filepath.Join(moduleRoot, filepath.FromSlash(pkg))); err != nil {
		return fmt.Errorf("cannot build %s: %s is missing in %s; update the checkout, or %s", what, pkg, moduleRoot, orElse)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("cannot build %s: the go tool is not on PATH; install Go 1.26, or %s", what, orElse)
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid=", "-o", out, pkg)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch(arch))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s (%s for linux/%s) failed: %v\n%s\nfix the build, or %s", what, pkg, goarch(arch), err, strings.TrimSpace(stderr.String()), orElse)
	}
	return nil
}

// checkBootstrap verifies a bootstrap is a Linux ELF executable for the target arch.
func checkBootstrap(p, arch string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("bootstrap %s is not a Linux executable (%v); build it with GOOS=linux GOARCH=%s go build ./lambda/bootstrap", p, err, goarch(arch))
	}
	defer f.Close()
	if f.Machine != wantMachine(arch) {
		return fmt.Errorf("bootstrap %s is built for %s, the function runs on %s; build it with GOOS=linux GOARCH=%s", p, machineName(f.Machine), arch, goarch(arch))
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("bootstrap %s is not an executable", p)
	}
	return nil
}
