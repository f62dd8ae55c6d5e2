package packaging

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/nodedist"
)

// hasDependencies reports whether package.json lists production dependencies.
func hasDependencies(src string) bool {
	b, err := os.ReadFile(filepath.Join(src, "package.json"))
	if err != nil {
		return false
	}
	var p struct {
		Dependencies         map[string]string `json:"dependencies"`
		OptionalDependencies map[string]string `json:"optionalDependencies"`
		BundleDependencies   json.RawMessage   `json:"bundleDependencies"`
	}
	_ = json.Unmarshal(b, &p)
	return len(p.Dependencies)+len(p.OptionalDependencies) > 0
}

// npmFiles are copied next to package.json for an install.
var npmFiles = []string{"package.json", "package-lock.json", "npm-shrinkwrap.json", ".npmrc"}

// sameArch reports whether this machine can run the target's binaries.
func sameArch(arch string) bool {
	na, _ := nodedist.NpmArch(arch)
	return na == nodedist.HostArch()
}

// npmEnv is the environment for npm with the target's Node first on PATH (same arch) and
// its headers for node-gyp.
func npmEnv(dist nodedist.Dist, arch string) []string {
	env := os.Environ()
	na, _ := nodedist.NpmArch(arch)
	if sameArch(arch) {
		env = setEnv(env, "PATH", filepath.Dir(dist.Node)+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	if dist.Dir != "" {
		env = setEnv(env, "npm_config_nodedir", dist.Dir)
	}
	env = setEnv(env, "npm_config_arch", na)
	env = setEnv(env, "npm_config_target_arch", na)
	env = setEnv(env, "npm_config_update_notifier", "false")
	env = setEnv(env, "npm_config_fund", "false")
	env = setEnv(env, "npm_config_audit", "false")
	return env
}

func setEnv(env []string, k, v string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, k+"=") {
			out = append(out, e)
		}
	}
	return append(out, k+"="+v)
}

// runNpm runs npm in dir; on failure the error carries npm's last lines of output.
func runNpm(ctx context.Context, dir string, env []string, progress io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	stop := heartbeat(progress, "npm "+strings.Join(args, " "), start)
	err := cmd.Run()
	stop()
	if err != nil {
		return fmt.Errorf("npm %s in %s failed (%v):\n%s", strings.Join(args, " "), dir, err, tail(out.String(), 25))
	}
	fmt.Fprintf(progress, "package: npm %s done in %s\n", args[0], time.Since(start).Round(100*time.Millisecond))
	return nil
}

// heartbeatEvery is how often a long npm step says it is still running.
const heartbeatEvery = 30 * time.Second

// heartbeat prints the elapsed time of a long step every heartbeatEvery until stopped:
// compile times vary too much (seconds to minutes per package) to promise one.
func heartbeat(progress io.Writer, what string, start time.Time) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(heartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(progress, "package: %s: still running, %s elapsed\n", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(done); <-finished }
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// installDeps installs production dependencies for the target into the cache (keyed by
// package.json, the lockfile, .npmrc, runtime and arch) and returns that node_modules.
// A file lock keeps concurrent packagers from running npm twice; a finished install is
// reused.
func installDeps(ctx context.Context, src, runtime, arch string, dist nodedist.Dist, progress io.Writer) (string, error) {
	cache, err := nodedist.CacheDir()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	// v2: native modules built reproducibly and pinned to symbol versions AL2023 has.
	fmt.Fprintf(h, "rudderctl-deps v2\n%s\n%s\n", runtime, arch)
	hasLock := false
	for _, n := range npmFiles {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			continue
		}
		if n == "package-lock.json" || n == "npm-shrinkwrap.json" {
			hasLock = true
		}
		fmt.Fprintf(h, "%s %d\n", n, len(b))
		h.Write(b)
	}
	key := hex.EncodeToString(h.Sum(nil))[:20]
	root := filepath.Join(cache, "deps")
	dir := filepath.Join(root, key)
	unlock, err := nodedist.Lock(ctx, dir+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	nm := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		fmt.Fprintf(progress, "package: production node_modules from the cache (%s)\n", dir)
		return nm, nil
	}
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, n := range npmFiles {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			return "", err
		}
	}
	env := npmEnv(dist, arch)
	na, _ := nodedist.NpmArch(arch)
	// Scripts are off during the install (the app's own prepare/postinstall would need
	// its sources and dev tools); dependencies' build scripts run in `npm rebuild`.
	args := []string{"ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"}
	how := "npm ci"
	if !hasLock {
		args[0], how = "install", "npm install (no lockfile)"
	}
	if !sameArch(arch) {
		args = append(args, "--cpu="+na, "--os=linux")
	}
	with := "Node " + dist.Version
	if dist.Version == "" {
		with = "this machine's Node (no build scripts)"
	}
	fmt.Fprintf(progress, "package: no node_modules in %s: %s --omit=dev with %s for linux/%s into %s\n", src, how, with, arch, dir)
	if err := runNpm(ctx, dir, env, progress, args...); err != nil {
		return "", fmt.Errorf("installing production dependencies: %w\ncheck the lockfile and the registry, or run npm ci --omit=dev in %s yourself", err, src)
	}
	if sameArch(arch) {
		if err := buildNativeModules(ctx, dir, dist, arch, progress); err != nil {
			return "", fmt.Errorf("building native modules: %w\ninstall a C++ toolchain (g++, make, python3), or build node_modules on Amazon Linux 2023", err)
		}
	} else {
		fmt.Fprintf(progress, "package: %s is not this machine's architecture: native modules are not built here (only prebuilt binaries can be used)\n", arch)
	}
	if _, err := os.Stat(nm); err != nil {
		if err := os.MkdirAll(nm, 0o755); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".complete"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return "", err
	}
	return nm, nil
}

// rebuildNative copies node_modules into a staging dir and runs `npm rebuild` there with
// the target Node, leaving the original untouched. It returns the staged node_modules.
func rebuildNative(ctx context.Context, src, nodeModules, stage, arch string, dist nodedist.Dist, progress io.Writer) (string, error) {
	if !sameArch(arch) {
		return "", fmt.Errorf("--rebuild-native: cannot build %s native modules on this %s machine (node-gyp compiles for the host); run rudderctl package on an %s machine (Amazon Linux 2023), or use packages with prebuilt linux-%s binaries", arch, hostLambdaArch(), arch, arch)
	}
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return "", err
	}
	for _, n := range npmFiles {
		if b, err := os.ReadFile(filepath.Join(src, n)); err == nil {
			if err := os.WriteFile(filepath.Join(stage, n), b, 0o644); err != nil {
				return "", err
			}
		}
	}
	fmt.Fprintf(progress, "package: --rebuild-native: copying node_modules to %s\n", stage)
	cp := exec.CommandContext(ctx, "cp", "-a", nodeModules, filepath.Join(stage, "node_modules"))
	if out, err := cp.CombinedOutput(); err != nil {
		return "", fmt.Errorf("copying node_modules for the rebuild: %v: %s", err, strings.TrimSpace(string(out)))
	}
	fmt.Fprintf(progress, "package: --rebuild-native: with Node %s (headers %s)\n", dist.Version, dist.Dir)
	if err := buildNativeModules(ctx, stage, dist, arch, progress); err != nil {
		return "", fmt.Errorf("--rebuild-native: %w\ninstall a C++ toolchain (g++, make, python3), or build node_modules on Amazon Linux 2023", err)
	}
	return filepath.Join(stage, "node_modules"), nil
}

func hostLambdaArch() string {
	if nodedist.HostArch() == "x64" {
		return "x86_64"
	}
	return nodedist.HostArch()
}
