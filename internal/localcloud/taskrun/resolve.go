package taskrun

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/rudderctl/rudderctl/internal/nodedist"
)

// program is what one container runs, resolved from its image.
type program struct {
	path    string   // the executable
	args    []string // its arguments (argv[1:])
	dir     string   // working directory
	env     []string // the image's environment (KEY=VALUE), before the container's
	portEnv string   // loopback mode: the variable that carries the container's port
	binDirs []string // put first on PATH (the resolved Node's bin dir)
}

// ecrPortEnv carries the port of a local ECR image's container in loopback mode.
const ecrPortEnv = "PORT"

// basePath is the PATH a container starts with (after any Node bin dir).
const basePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// resolve finds what a container runs: an image of the local ECR from its layers, else an
// image map entry; neither is ECS's CannotPullContainerError.
func (r *Runner) resolve(ctx context.Context, c Container) (program, error) {
	if r.o.Images != nil {
		img, mine, err := r.o.Images.UnpackImage(c.Image)
		if mine {
			if err != nil {
				return program{}, &StartError{Reason: fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref %s: %v", c.Image, err)}
			}
			return fromECR(c, img.Root, img.Entrypoint, img.Cmd, img.Env, img.WorkingDir)
		}
	}
	e, ok := lookup(r.images, c.Image)
	if !ok {
		return program{}, &StartError{Reason: fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref %s: %s: not found", c.Image, c.Image)}
	}
	return r.fromMap(ctx, c, e)
}

// dockerArgv merges a task definition's entryPoint/command with the image's as Docker does:
// an entryPoint given by the task replaces the image's and drops its command.
func dockerArgv(c Container, imgEntry, imgCmd []string) []string {
	if len(c.EntryPoint) > 0 {
		return append(append([]string{}, c.EntryPoint...), c.Command...)
	}
	cmd := imgCmd
	if len(c.Command) > 0 {
		cmd = c.Command
	}
	return append(append([]string{}, imgEntry...), cmd...)
}

// fromECR runs an unpacked image: its entrypoint's program from the image root (no chroot:
// our images hold one static binary), in its working directory under the root.
func fromECR(c Container, root string, entry, cmd, env []string, workDir string) (program, error) {
	argv := dockerArgv(c, entry, cmd)
	if len(argv) == 0 {
		return program{}, &StartError{Reason: fmt.Sprintf("CannotStartContainerError: image %s has no entrypoint or command, and the container sets none", c.Image)}
	}
	exe, ok := findInImage(root, argv[0], env)
	if !ok {
		return program{}, &StartError{Reason: fmt.Sprintf("CannotStartContainerError: exec: %q: executable file not found in the image %s", argv[0], c.Image)}
	}
	if c.WorkingDir != "" {
		workDir = c.WorkingDir
	}
	dir := filepath.Join(root, filepath.FromSlash(path.Clean("/"+workDir)))
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = root
	}
	// No image map entry says which variable carries the port; PORT is the convention.
	return program{path: exe, args: argv[1:], dir: dir, env: env, portEnv: ecrPortEnv}, nil
}

// findInImage resolves a program name inside an image root: an absolute path as it is,
// a bare name along the image's PATH.
func findInImage(root, name string, env []string) (string, bool) {
	var candidates []string
	if strings.HasPrefix(name, "/") {
		candidates = []string{name}
	} else {
		p := basePath
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				p = v
			}
		}
		for _, d := range filepath.SplitList(p) {
			candidates = append(candidates, path.Join(d, name))
		}
	}
	for _, cand := range candidates {
		full := filepath.Join(root, filepath.FromSlash(path.Clean(cand)))
		if st, err := os.Stat(full); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return full, true
		}
	}
	return "", false
}

// fromMap runs a mapped image: the map's command (or the task definition's) in its dir,
// with "node" being the Node of the entry's major.
func (r *Runner) fromMap(ctx context.Context, c Container, e mapEntry) (program, error) {
	argv := dockerArgv(c, nil, e.Command)
	p := program{dir: e.Dir, portEnv: e.PortEnv, args: argv[1:]}
	for k, v := range e.Env {
		p.env = append(p.env, k+"="+v)
	}
	switch {
	case argv[0] == "node":
		if e.Node <= 0 {
			return program{}, &StartError{Reason: fmt.Sprintf("CannotStartContainerError: the container runs node but the image map entry %q sets no node major", e.Image)}
		}
		node, err := r.nodeBinary(ctx, e.Node)
		if err != nil {
			return program{}, &StartError{Reason: fmt.Sprintf("CannotStartContainerError: Node %d for image %s: %v", e.Node, c.Image, err)}
		}
		p.path, p.binDirs = node, []string{filepath.Dir(node)}
	case strings.Contains(argv[0], "/"):
		p.path = argv[0]
		if !filepath.IsAbs(p.path) {
			p.path = filepath.Join(e.Dir, p.path)
		}
		if st, err := os.Stat(p.path); err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
			return program{}, &StartError{Reason: fmt.Sprintf("CannotStartContainerError: exec: %q: no such executable file (relative paths resolve against the image map's dir %s)", argv[0], e.Dir)}
		}
	default:
		exe, err := exec.LookPath(argv[0])
		if err != nil {
			return program{}, &StartError{Reason: fmt.Sprintf("CannotStartContainerError: exec: %q: executable file not found in $PATH", argv[0])}
		}
		p.path = exe
	}
	return p, nil
}

// nodeBinary is the node of a major (internal/nodedist), looked up once per runner.
func (r *Runner) nodeBinary(ctx context.Context, major int) (string, error) {
	r.mu.Lock()
	node, ok := r.nodes[major]
	r.mu.Unlock()
	if ok {
		return node, nil
	}
	d, err := nodedist.Ensure(ctx, major, nodedist.HostArch(), logWriter(r.o.Logf))
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.nodes[major] = d.Node
	r.mu.Unlock()
	return d.Node, nil
}

// logWriter turns Logf into an io.Writer (one call per write).
type logWriter func(format string, args ...any)

func (w logWriter) Write(b []byte) (int, error) {
	w("%s", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
