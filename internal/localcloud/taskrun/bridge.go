package taskrun

import (
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// The loopback bridge: a task in a namespace has no route to the host's loopback, where the
// local cloud, API stages and load balancers listen. Every loopback host:port a container's
// environment names is listened on inside the namespace, at the same host:port, and each
// connection is forwarded to that host:port on the host.

// loopbackRef finds loopback endpoints in env values: URLs (port optional) and host:port.
var loopbackRef = regexp.MustCompile(`(?i)(?:\b(https?)://)?\b(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3})(?::(\d{1,5}))?`)

// loopbackAddrs lists the loopback host:port values named in s ("localhost" is 127.0.0.1).
func loopbackAddrs(s string) []string {
	var out []string
	for _, m := range loopbackRef.FindAllStringSubmatch(s, -1) {
		scheme, host, port := strings.ToLower(m[1]), strings.ToLower(m[2]), m[3]
		if port == "" {
			switch scheme {
			case "http":
				port = "80"
			case "https":
				port = "443"
			default:
				continue
			}
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			continue
		}
		if host == "localhost" {
			host = "127.0.0.1"
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			continue
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	return out
}

// hostPortPairs lists the loopback endpoints an environment names as a pair of variables,
// X_HOST=127.0.0.1 with X_PORT=5432 (a database: JOBS_DB_HOST + JOBS_DB_PORT, PGHOST +
// PGPORT), which no single value spells as host:port.
func hostPortPairs(env map[string]string) []string {
	var out []string
	for k, host := range env {
		prefix, ok := strings.CutSuffix(k, "HOST")
		if !ok {
			continue
		}
		port, ok := env[prefix+"PORT"]
		if !ok {
			continue
		}
		host = strings.ToLower(strings.TrimSpace(host))
		if host == "localhost" {
			host = "127.0.0.1"
		}
		p, err := strconv.Atoi(strings.TrimSpace(port))
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() || ip.To4() == nil || err != nil || p < 1 || p > 65535 {
			continue
		}
		out = append(out, net.JoinHostPort(host, strconv.Itoa(p)))
	}
	return out
}

// bridgeAddrs is every loopback endpoint in the task's container environments (in a value,
// or as a HOST/PORT pair of variables), except the task's own container ports (those are
// its containers' to listen on).
func bridgeAddrs(spec Spec) []string {
	own := map[string]bool{}
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			own[strconv.Itoa(p)] = true
		}
	}
	set := map[string]bool{}
	for _, c := range spec.Containers {
		var found []string
		for _, v := range c.Env {
			found = append(found, loopbackAddrs(v)...)
		}
		for _, a := range append(found, hostPortPairs(c.Env)...) {
			if _, port, _ := net.SplitHostPort(a); !own[port] {
				set[a] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

type bridge struct {
	ls []net.Listener
	wg sync.WaitGroup
}

// startBridge listens on every addr inside the namespace at nsPath and forwards to the host.
func startBridge(nsPath string, addrs []string) (*bridge, error) {
	b := &bridge{}
	for _, a := range addrs {
		l, err := listenInNamespace(nsPath, a)
		if err != nil {
			b.close()
			return nil, fmt.Errorf("loopback bridge to %s: %v", a, err)
		}
		b.ls = append(b.ls, l)
		if strings.HasPrefix(a, "127.0.0.1:") {
			// "localhost" may resolve to ::1 first; answer there too (best effort).
			_, port, _ := net.SplitHostPort(a)
			if l6, err := listenInNamespace(nsPath, "[::1]:"+port); err == nil {
				b.serve(l6, a)
				b.ls = append(b.ls, l6)
			}
		}
		b.serve(l, a)
	}
	return b, nil
}

func (b *bridge) serve(l net.Listener, target string) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go forward(c, target)
		}
	}()
}

// forward copies a connection both ways to target, dialled from the host's namespace.
func forward(c net.Conn, target string) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}

func (b *bridge) close() {
	for _, l := range b.ls {
		l.Close()
	}
	b.wg.Wait()
}

// listenInNamespace opens a TCP listener inside the network namespace at nsPath (the
// socket stays there).
func listenInNamespace(nsPath, addr string) (net.Listener, error) {
	var l net.Listener
	err := InNetNamespace(nsPath, func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	})
	return l, err
}

// InNetNamespace runs fn on a thread that entered the network namespace at nsPath, then
// comes back: sockets fn makes stay in that namespace. A thread that cannot come back is
// not unlocked, so the Go runtime ends it.
func InNetNamespace(nsPath string, fn func() error) error {
	res := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			res <- err
			return
		}
		defer home.Close()
		target, err := os.Open(nsPath)
		if err != nil {
			runtime.UnlockOSThread()
			res <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			res <- fmt.Errorf("entering the network namespace %s: %v", nsPath, err)
			return
		}
		err = fn()
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		res <- err
	}()
	return <-res
}
