package lambda

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// Config is what the bootstrap reads from the manifest and its environment (docs/CONTRACTS.md §2).
type Config struct {
	ManifestPath string
	Manifest     *manifest.Manifest
	App          AppConfig
	PathPrefix   string
}

// LoadConfig reads the manifest and the RUDDERCTL_* variables.
func LoadConfig() (*Config, error) {
	path := DefaultManifestPath()
	m, err := LoadManifest(path)
	if err != nil {
		return nil, err
	}
	node, err := resolveNode()
	if err != nil {
		return nil, err
	}
	timeout := 9 * time.Second
	if v := os.Getenv("RUDDERCTL_READY_TIMEOUT"); v != "" {
		if timeout, err = parseDuration(v); err != nil {
			return nil, fmt.Errorf("RUDDERCTL_READY_TIMEOUT=%q is not a duration: use e.g. 9s or 2500ms", v)
		}
	}
	transport := DefaultTransport
	if v := os.Getenv("RUDDERCTL_TRANSPORT"); v != "" {
		if v != TransportTCP && v != TransportUnix {
			return nil, fmt.Errorf("RUDDERCTL_TRANSPORT=%q is not a transport: use %q or %q", v, TransportTCP, TransportUnix)
		}
		transport = v
	}
	root, _ := filepath.Abs(filepath.Dir(path))
	return &Config{
		ManifestPath: path,
		Manifest:     m,
		PathPrefix:   NormalizePrefix(os.Getenv("RUDDERCTL_PATH_PREFIX")),
		App: AppConfig{
			Node:         node,
			Entry:        m.Entry,
			Dir:          root,
			Env:          os.Environ(),
			ExtraEnv:     m.Env,
			HealthPath:   m.HealthPath,
			Transport:    transport,
			ReadyTimeout: timeout,
		},
	}, nil
}

// resolveNode: $RUDDERCTL_NODE, else Lambda's /var/lang/bin/node, else node on PATH.
func resolveNode() (string, error) {
	if v := os.Getenv("RUDDERCTL_NODE"); v != "" {
		return v, nil
	}
	const lambdaNode = "/var/lang/bin/node"
	if _, err := os.Stat(lambdaNode); err == nil {
		return lambdaNode, nil
	}
	p, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("no Node binary: %s does not exist and node is not on PATH; "+
			"deploy on a nodejs22.x/nodejs24.x runtime, or set RUDDERCTL_NODE", lambdaNode)
	}
	return p, nil
}

func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil // a bare number means seconds
	}
	return time.ParseDuration(v)
}
