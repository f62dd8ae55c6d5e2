package lambda

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Transport names for RUDDERCTL_TRANSPORT.
const (
	TransportTCP  = "tcp"
	TransportUnix = "unix"
	// DefaultTransport is the faster of the two for transformer-sized requests as measured in
	// docs/BENCHMARKS.md (BenchmarkTransport): loopback TCP wins by 2-3% from ~200 KB up (its
	// socket buffers autotune past the unix socket's ~208 KB); unix wins by 0.02 ms at 2 KB.
	DefaultTransport = TransportTCP
)

// idleReuseLimit: a pooled connection idle longer than this is not reused. Node's HTTP server
// closes idle keep-alive connections after 5 s (keepAliveTimeout); reusing one the app is just
// closing makes the request fail. Lambda freezes the sandbox between invocations and both sides'
// timers fire together at thaw, so the check is made by us, before sending, on the wall clock.
const idleReuseLimit = 4 * time.Second

// endpoint is where the app listens: a loopback TCP port or a unix socket path.
type endpoint struct {
	kind string // TransportTCP or TransportUnix
	addr string // "127.0.0.1:PORT" or the socket path
	port string // the app's PORT value
}

func newEndpoint(kind string) (endpoint, error) {
	switch kind {
	case TransportTCP:
		port, err := freePort()
		if err != nil {
			return endpoint{}, fmt.Errorf("finding a free loopback port for the app: %v", err)
		}
		return endpoint{kind: kind, addr: "127.0.0.1:" + port, port: port}, nil
	case TransportUnix:
		path, err := socketPath()
		if err != nil {
			return endpoint{}, err
		}
		return endpoint{kind: kind, addr: path, port: path}, nil
	}
	return endpoint{}, fmt.Errorf("RUDDERCTL_TRANSPORT=%q is not a transport: use %q or %q", kind, TransportTCP, TransportUnix)
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// socketPath picks a fresh socket path; unix socket paths are limited to 107 bytes, so a long
// TMPDIR falls back to /tmp (always writable on Lambda).
func socketPath() (string, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := fmt.Sprintf("rudderctl-%d-%s.sock", os.Getpid(), hex.EncodeToString(b[:]))
	dir := os.TempDir()
	if len(filepath.Join(dir, name)) > 100 {
		dir = "/tmp"
	}
	removeStaleSockets(dir)
	return filepath.Join(dir, name), nil
}

// removeStaleSockets deletes sockets left by bootstraps that were killed (Lambda and the RIE
// SIGKILL them; /tmp outlives a re-init in the same sandbox). The name carries the bootstrap's
// pid, and its app dies with it (Pdeathsig), so a socket whose bootstrap is gone is unused.
func removeStaleSockets(dir string) {
	paths, _ := filepath.Glob(filepath.Join(dir, "rudderctl-*-*.sock"))
	for _, p := range paths {
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(p), "rudderctl-"), "-")
		if pid, err := strconv.Atoi(pidStr); err == nil && pid != os.Getpid() && !processAlive(pid) {
			_ = os.Remove(p)
		}
	}
}

// newHTTPTransport returns the one keep-alive pool used for every request to the app.
func newHTTPTransport(ep endpoint) *http.Transport {
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	t := &http.Transport{
		Proxy:               nil, // never proxy loopback traffic, whatever HTTP_PROXY says
		DisableCompression:  true,
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     idleReuseLimit,
		ForceAttemptHTTP2:   false,
		// The payload is capped by Lambda at 6 MB, so large buffers save syscalls.
		WriteBufferSize: 64 << 10,
		ReadBufferSize:  64 << 10,
	}
	if ep.kind == TransportUnix {
		t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", ep.addr)
		}
	} else {
		t.DialContext = dialer.DialContext
	}
	return t
}

// baseURL is the scheme and host used in request URLs; for a unix socket the host is nominal.
func (ep endpoint) baseHost() string {
	if ep.kind == TransportUnix {
		return "app.sock"
	}
	return ep.addr
}
