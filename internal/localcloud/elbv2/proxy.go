package elbv2

// Each listener is a real HTTP reverse proxy on DNSName:port: round robin over the healthy
// targets of its target group, X-Forwarded-For/Proto/Port, 503 when no target is healthy,
// 502/504 as ALB answers. A request is tried on another target only when the connection to
// the first was refused before any byte of the request was sent (a task that just died);
// like ALB, nothing else is retried.

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"syscall"
	"time"
)

type listenerProxy struct {
	srv  *http.Server
	addr string
}

func (p *listenerProxy) close() { _ = p.srv.Close() }

// transport dials targets afresh for every request (no keep-alive): a target that died
// then shows as a refused connection, which is safe to try elsewhere, rather than as a
// broken reused connection, which is not.
var transport = &http.Transport{
	Proxy:               nil,
	DialContext:         dialer.DialContext,
	DisableKeepAlives:   true,
	MaxIdleConnsPerHost: -1,
}

// startProxyLocked binds the listener's proxy (once the cloud listens; before that Start
// binds it). The error says why a port cannot be bound and what to do.
func (r *Room) startProxyLocked(l *listenerRec) error {
	if !r.started {
		return nil
	}
	lb := r.st.LoadBalancers[l.LB]
	if lb == nil {
		return fmt.Errorf("listener %s has no load balancer", l.ARN)
	}
	addr := net.JoinHostPort(lb.DNSName, strconv.Itoa(l.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return bindError(addr, err)
	}
	arn := l.ARN
	p := &listenerProxy{addr: addr}
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { r.serveListener(arn, w, req) }),
		ReadHeaderTimeout: 60 * time.Second,
	}
	go func() { _ = p.srv.Serve(ln) }()
	r.proxies[arn] = p
	r.cloud.Logf("elbv2: listener %s:%d of %s serves on http://%s", l.Protocol, l.Port, lb.Name, addr)
	return nil
}

// bindError says why a listener's address cannot be bound, and what to do.
func bindError(addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("localcloud cannot listen on %s for this listener: ports below 1024 need root (or CAP_NET_BIND_SERVICE); run the local cloud as root or use a listener port of 1024 or more", addr)
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("localcloud cannot listen on %s for this listener: the address is in use (another local cloud's load balancer?); use another port, or re-create the load balancer for another address", addr)
	}
	return fmt.Errorf("localcloud cannot listen on %s for this listener: %v", addr, err)
}

func (r *Room) stopProxyLocked(arn string) {
	if p := r.proxies[arn]; p != nil {
		p.close()
		delete(r.proxies, arn)
	}
}

// plan is what one request through a listener does, decided under the room's lock.
type plan struct {
	lbName     string
	port       int
	fixed      *actionRec
	candidates []string // target addresses, the round robin's pick first
	idle       time.Duration
}

func (r *Room) planRequest(arn string) (plan, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.st.Listeners[arn]
	if l == nil || len(l.Actions) == 0 {
		return plan{}, false
	}
	lb := r.st.LoadBalancers[l.LB]
	p := plan{lbName: lb.Name, port: l.Port}
	idle, _ := strconv.Atoi(lb.Attributes["idle_timeout.timeout_seconds"])
	p.idle = time.Duration(max(idle, 1)) * time.Second
	a := l.Actions[0]
	if a.Type != "forward" {
		p.fixed = &a
		return p, true
	}
	tg := r.st.TargetGroups[pickWeighted(a.Forward)]
	if tg == nil {
		return p, true
	}
	var routable []string
	for _, t := range tg.Targets {
		if t.State == "healthy" || (!tg.HealthCheck.Enabled && t.State != "draining") {
			routable = append(routable, t.addr())
		}
	}
	if n := len(routable); n > 0 {
		first := int(r.rr[tg.ARN] % uint64(n))
		r.rr[tg.ARN]++
		p.candidates = append(routable[first:], routable[:first]...)
	}
	return p, true
}

// pickWeighted chooses a target group of a weighted forward action.
func pickWeighted(ws []tgWeight) string {
	total := 0
	for _, w := range ws {
		total += w.Weight
	}
	if total == 0 {
		return ws[0].ARN
	}
	n := rand.IntN(total)
	for _, w := range ws {
		if n < w.Weight {
			return w.ARN
		}
		n -= w.Weight
	}
	return ws[len(ws)-1].ARN
}

func (r *Room) serveListener(arn string, w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	p, ok := r.planRequest(arn)
	switch {
	case !ok:
		albError(w, http.StatusServiceUnavailable)
		return
	case p.fixed != nil:
		if p.fixed.ContentType != "" {
			w.Header().Set("Content-Type", p.fixed.ContentType)
		}
		code, _ := strconv.Atoi(p.fixed.StatusCode)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, p.fixed.MessageBody)
		r.cloud.AccessLogf("alb %s %s %s -> fixed-response %d", p.lbName, req.Method, req.URL.Path, code)
		return
	case len(p.candidates) == 0:
		albError(w, http.StatusServiceUnavailable)
		r.cloud.AccessLogf("alb %s %s %s -> 503 (no healthy target)", p.lbName, req.Method, req.URL.Path)
		return
	}
	var timedOut bool
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	// The idle timeout: no answer from the target for that long is a 504.
	timer := time.AfterFunc(p.idle, func() { mu.Lock(); timedOut = true; mu.Unlock(); cancel() })
	rp := &httputil.ReverseProxy{
		Director: func(out *http.Request) {
			out.URL.Scheme = "http"
			out.URL.Host = p.candidates[0]
			out.Header.Set("X-Forwarded-Proto", "http")
			out.Header.Set("X-Forwarded-Port", strconv.Itoa(p.port))
			if out.Header.Get("X-Amzn-Trace-Id") == "" {
				out.Header.Set("X-Amzn-Trace-Id", traceID())
			}
		},
		Transport: &retryTransport{candidates: p.candidates, stopTimer: timer},
		ModifyResponse: func(resp *http.Response) error {
			r.cloud.AccessLogf("alb %s %s %s -> %s %d (%s)", p.lbName, req.Method, req.URL.Path, resp.Request.URL.Host, resp.StatusCode, time.Since(start).Round(time.Microsecond))
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, out *http.Request, err error) {
			mu.Lock()
			code := http.StatusBadGateway
			if timedOut {
				code = http.StatusGatewayTimeout
			}
			mu.Unlock()
			if req.Context().Err() != nil {
				return // the client went away
			}
			albError(w, code)
			r.cloud.AccessLogf("alb %s %s %s -> %d (%v)", p.lbName, req.Method, req.URL.Path, code, err)
		},
		FlushInterval: -1,
	}
	rp.ServeHTTP(w, req.WithContext(ctx))
}

// retryTransport sends a request to the first candidate, and to the next one only when
// the connection could not be made (refused: a task that just died; unreachable; not
// dialled) so no byte of the request was sent.
type retryTransport struct {
	candidates []string
	stopTimer  *time.Timer
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body := &onceBody{rc: req.Body}
	for i, addr := range t.candidates {
		out := req.Clone(req.Context())
		out.URL.Host = addr
		if req.Body != nil && req.Body != http.NoBody {
			out.Body = body
		}
		resp, err := transport.RoundTrip(out)
		if err == nil {
			t.stopTimer.Stop()
			return resp, nil
		}
		if !dialFailed(err) || body.read || i == len(t.candidates)-1 {
			return nil, err
		}
	}
	return nil, errors.New("no target")
}

// dialFailed: the error happened while connecting, before any byte was sent.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// onceBody passes the client's body through, records whether any of it was read, and
// ignores Close (the transport closes a request body even when it never sent it).
type onceBody struct {
	rc   io.ReadCloser
	read bool
}

func (b *onceBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.read = true
	}
	return n, err
}

func (b *onceBody) Close() error { return nil }

// albError writes ALB's own error page.
func albError(w http.ResponseWriter, code int) {
	text := http.StatusText(code)
	w.Header().Set("Server", "awselb/2.0")
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(code)
	fmt.Fprintf(w, "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n</body>\r\n</html>\r\n", code, text, code, text)
}

// traceID is an X-Amzn-Trace-Id root: Root=1-<epoch hex>-<24 hex>.
func traceID() string {
	var b [12]byte
	_, _ = cryptoRead(b[:])
	return fmt.Sprintf("Root=1-%08x-%s", time.Now().Unix(), hex.EncodeToString(b[:]))
}

var cryptoRead = crand.Read
