package lambdalocal

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/rudderctl/rudderctl/internal/nodedist"
)

// Launch says how StartPool gets what a local run needs besides the unpacked code.
type Launch struct {
	// Node is the node binary to run the app with; "" = Node of the function's runtime,
	// from this machine or npm (nodedist, cached).
	Node string
	// NoNode, when set, makes a missing Node of the runtime not an error: it is told why and
	// the function runs with node from PATH (the local cloud, which runs whatever is deployed).
	NoNode func(major int, err error)
	// Progress gets the progress of fetching Node (nil = discard).
	Progress io.Writer
	// NodeReady is told the node binary picked (version "" when it was not fetched by version).
	NodeReady func(node, version string)
	// Log gets every line the function prints (Options.Log).
	Log func(line string)
	// Concurrency is how many environments the pool may start (at least 1).
	Concurrency int
}

// StartPool is the one local-run path (rudderctl invoke/serve and the local cloud's Lambda):
// f.TaskRoot is an unpacked zip; it picks Node for f.Runtime and f.Arch, resolves the Runtime
// Interface Emulator and starts a pool with its first environment running.
func StartPool(ctx context.Context, f Function, l Launch) (*Pool, error) {
	node, version, err := nodeFor(ctx, f.Runtime, f.Arch, l)
	if err != nil {
		return nil, err
	}
	if l.NodeReady != nil {
		l.NodeReady(node, version)
	}
	rie, err := ResolveRIE(ctx)
	if err != nil {
		return nil, err
	}
	return NewPool(ctx, f, Options{Node: node, RIE: rie, Log: l.Log}, l.Concurrency)
}

// nodeFor is the node binary for a runtime: l.Node when given, else the runtime's Node.
func nodeFor(ctx context.Context, runtime, arch string, l Launch) (node, version string, err error) {
	if l.Node != "" {
		return l.Node, "", nil
	}
	progress := l.Progress
	if progress == nil {
		progress = io.Discard
	}
	if l.NoNode != nil && !strings.HasPrefix(runtime, "nodejs") {
		return "", "", nil
	}
	major, err := nodedist.MajorForRuntime(runtime)
	if err != nil {
		if l.NoNode != nil {
			return "", "", nil
		}
		return "", "", err
	}
	dist, err := nodedist.Ensure(ctx, major, arch, progress)
	if err != nil {
		if l.NoNode != nil {
			l.NoNode(major, err)
			return "", "", nil
		}
		return "", "", fmt.Errorf("cannot get Node %d for the zip's runtime %s: %w", major, runtime, err)
	}
	return dist.Node, dist.Version, nil
}
