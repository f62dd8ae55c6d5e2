package lambdalocal

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rudderctl/rudderctl/internal/nodedist"
	"github.com/rudderctl/rudderctl/internal/srcroot"
)

// rieModule and rieVersion are the emulator pinned in our go.mod (a test keeps them equal), for
// a rudderctl binary run outside its source tree.
const (
	rieModule  = "github.com/aws/aws-lambda-runtime-interface-emulator"
	rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// installRIE builds the pinned emulator into <cache>/rie/<version>/ once (file-locked).
func installRIE(ctx context.Context, goBin string) (string, error) {
	cache, err := nodedist.CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "rie", rieVersion)
	bin := filepath.Join(dir, "aws-lambda-rie")
	if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
		return bin, nil
	}
	unlock, err := nodedist.Lock(ctx, filepath.Join(cache, "rie", ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tmp, err := os.MkdirTemp(filepath.Join(cache, "rie"), ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, goBin, "install", rieModule+"/cmd/aws-lambda-rie@"+rieVersion)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %v: %s", rieModule, rieVersion, err, strings.TrimSpace(string(out)))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(tmp, "aws-lambda-rie"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

var (
	rieMu     sync.Mutex
	rieCached string
)

// ResolveRIE finds the AWS Lambda Runtime Interface Emulator binary: $RUDDERCTL_RIE when set,
// else `go tool -n aws-lambda-rie` run in the rudderctl module root (found by walking up from
// the working directory, then from the executable), which builds the pinned emulator if needed
// and prints its path. A successful answer is cached for the life of the process.
func ResolveRIE(ctx context.Context) (string, error) {
	if p := os.Getenv("RUDDERCTL_RIE"); p != "" {
		st, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("RUDDERCTL_RIE=%s: %w; point it at an aws-lambda-rie binary or unset it", p, err)
		}
		if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("RUDDERCTL_RIE=%s is not an executable file; point it at an aws-lambda-rie binary or unset it", p)
		}
		return p, nil
	}
	rieMu.Lock()
	defer rieMu.Unlock()
	if rieCached != "" {
		return rieCached, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("cannot build the Lambda Runtime Interface Emulator: the go command is not on PATH; install Go or set RUDDERCTL_RIE to an aws-lambda-rie binary")
	}
	root, err := moduleRoot()
	if err != nil {
		// Outside the source tree: build the pinned version into the cache.
		p, ierr := installRIE(ctx, goBin)
		if ierr != nil {
			return "", fmt.Errorf("%v; building it into the cache failed too: %w", err, ierr)
		}
		rieCached = p
		return p, nil
	}
	cmd := exec.CommandContext(ctx, goBin, "tool", "-n", "aws-lambda-rie")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot build the Lambda Runtime Interface Emulator: `go tool -n aws-lambda-rie` in %s failed: %v: %s; check that the Go module proxy is reachable or set RUDDERCTL_RIE", root, err, strings.TrimSpace(stderr.String()))
	}
	p := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(p, '\n'); i >= 0 {
		p = strings.TrimSpace(p[i+1:])
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("cannot find the Lambda Runtime Interface Emulator: `go tool -n aws-lambda-rie` printed %q which does not exist; set RUDDERCTL_RIE", p)
	}
	rieCached = p
	return p, nil
}

// moduleRoot is the rudderctl checkout whose go.mod pins the emulator (srcroot.Find).
func moduleRoot() (string, error) {
	root, err := srcroot.Find()
	if err != nil {
		return "", fmt.Errorf("cannot find the Lambda Runtime Interface Emulator: not running inside the rudderctl source tree "+
			"(%v); set RUDDERCTL_RIE to an aws-lambda-rie binary "+
			"(go build -o aws-lambda-rie github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie)", err)
	}
	return root, nil
}
