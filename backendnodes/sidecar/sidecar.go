// Package sidecar is the HTTP proxy that runs in each node's task between rudder-server and
// the transformers, so that no event is lost to Lambda's payload limits.
//
// rudder-server cuts transformer batches by event count, not bytes, and drops a whole batch
// when the transformer answers 413. The sidecar sends a request whose body fits under
// MaxLambdaBytes to the Lambda transformer (API Gateway in front of Lambda: 6 MB per invoke
// payload, request and response), and everything else to the ECS transformer (an internal
// ALB, no such limit). When the Lambda path refuses an answer for size, the same request is
// sent again to ECS; every other answer passes through unchanged, so rudder-server's own
// retry rules apply to it.
package sidecar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	// DefaultMaxLambdaBytes is the largest request body sent to Lambda: 4.5 MiB. Lambda's
	// 6 MiB (6,291,456 B) applies to the whole invoke payload, and API Gateway wraps the body
	// in a payload-2.0 event: the body becomes a JSON string (every `"` and `\` of a JSON body
	// is escaped, control characters grow to \u00XX) next to the headers and request context.
	// 4.5 MiB leaves a third of growth for that envelope; a body that still does not fit is
	// refused by the gateway with 413 and retried on ECS.
	DefaultMaxLambdaBytes = 4608 << 10
	// DefaultMaxBodyBytes is the largest body the sidecar accepts at all: the transformer's
	// own JSON body limit (200 MB). Bigger requests are answered 413 by the sidecar.
	DefaultMaxBodyBytes = 200 << 20
	// DefaultListen is where rudder-server's DEST_TRANSFORM_URL points inside the task.
	DefaultListen = "127.0.0.1:9190"
	// Paths the sidecar answers itself; never forwarded.
	StatsPath  = "/_sidecar/stats"
	HealthPath = "/_sidecar/health"
)

// Config is what a sidecar routes between. At least one of LambdaURL and ECSURL is set; when
// only one is, every request goes there.
type Config struct {
	LambdaURL      string // the Lambda transformer through API Gateway (carries the secret path prefix)
	ECSURL         string // the ECS transformer behind the internal ALB
	MaxLambdaBytes int64  // 0 = DefaultMaxLambdaBytes
	MaxBodyBytes   int64  // 0 = DefaultMaxBodyBytes
	// Transport sends the upstream requests; nil = a pooled http.Transport.
	Transport http.RoundTripper
	// Log receives one line per sidecar-side failure (never a secret); nil = none.
	Log func(line string)
}

// Sidecar is an http.Handler.
type Sidecar struct {
	lambda, ecs    *upstream
	maxLambdaBytes int64
	maxBodyBytes   int64
	transport      http.RoundTripper
	log            func(string)
	stats          *stats
	started        time.Time
}

// upstream is one transformer base URL. The display form never shows the path (the Lambda
// URL's path is the API's secret prefix).
type upstream struct {
	route   string // "lambda" | "ecs"
	base    *url.URL
	display string
	secrets []string // substrings redacted from anything logged or answered
}

// New checks the configuration. Errors say what to fix; they never repeat a URL's path.
func New(cfg Config) (*Sidecar, error) {
	s := &Sidecar{
		maxLambdaBytes: cfg.MaxLambdaBytes,
		maxBodyBytes:   cfg.MaxBodyBytes,
		transport:      cfg.Transport,
		log:            cfg.Log,
		stats:          newStats(),
		started:        time.Now(),
	}
	if s.maxLambdaBytes == 0 {
		s.maxLambdaBytes = DefaultMaxLambdaBytes
	}
	if s.maxBodyBytes == 0 {
		s.maxBodyBytes = DefaultMaxBodyBytes
	}
	if s.maxLambdaBytes < 0 || s.maxBodyBytes < 0 || s.maxLambdaBytes > s.maxBodyBytes {
		return nil, fmt.Errorf("sidecar: size limits refused: max Lambda bytes %d and max body bytes %d must be positive, the first not above the second; fix --max-lambda-bytes", s.maxLambdaBytes, s.maxBodyBytes)
	}
	var err error
	if s.lambda, err = parseUpstream("lambda", "--lambda-url / LAMBDA_TRANSFORM_URL", cfg.LambdaURL); err != nil {
		return nil, err
	}
	if s.ecs, err = parseUpstream("ecs", "--ecs-url / ECS_TRANSFORM_URL", cfg.ECSURL); err != nil {
		return nil, err
	}
	if s.lambda == nil && s.ecs == nil {
		return nil, errors.New("sidecar: no transformer to forward to: neither a Lambda nor an ECS transformer URL is set; pass --lambda-url (LAMBDA_TRANSFORM_URL) and/or --ecs-url (ECS_TRANSFORM_URL)")
	}
	if s.transport == nil {
		s.transport = newTransport()
	}
	if s.log == nil {
		s.log = func(string) {}
	}
	return s, nil
}

func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil, // the transformers are reached directly, never through HTTP_PROXY
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       60 * time.Second,
		ExpectContinueTimeout: time.Second,
		// The body is passed through as received: no transparent gzip on our side.
		DisableCompression: true,
		// Bodies are megabytes: 64 KiB writes and reads instead of the default 4 KiB.
		WriteBufferSize: 64 << 10,
		ReadBufferSize:  64 << 10,
	}
}

func parseUpstream(route, what, raw string) (*upstream, error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		// The value itself may carry a secret: only its shape is described.
		return nil, fmt.Errorf("sidecar: %s is not a transformer base URL: it must be http(s)://host[:port][/prefix] with no query; fix it", what)
	}
	up := &upstream{route: route, base: u, display: u.Scheme + "://" + u.Host}
	path := strings.TrimRight(u.EscapedPath(), "/")
	if path == "" && u.User == nil {
		return up, nil // nothing secret in it
	}
	// Longest first: the whole URL, then its path, then the path's bare form (it may show up
	// without its slash, e.g. in an escaped or joined form).
	up.secrets = append(up.secrets, raw)
	if path != "" {
		up.display += "/…"
		up.secrets = append(up.secrets, path)
		if bare := strings.TrimPrefix(path, "/"); len(bare) >= 6 {
			up.secrets = append(up.secrets, bare)
		}
	}
	if u.User != nil {
		up.secrets = append(up.secrets, u.User.String())
	}
	return up, nil
}

// target is the upstream URL of an incoming request: the base path, then the request's path
// and query as received.
func (u *upstream) target(r *http.Request) *url.URL {
	t := *u.base
	t.User = u.base.User
	t.Path = strings.TrimRight(u.base.Path, "/") + r.URL.Path
	if u.base.RawPath != "" || r.URL.RawPath != "" {
		t.RawPath = strings.TrimRight(u.base.EscapedPath(), "/") + r.URL.EscapedPath()
	} else {
		t.RawPath = ""
	}
	t.RawQuery = r.URL.RawQuery
	return &t
}

// redact removes every secret of every upstream from s.
func (s *Sidecar) redact(msg string) string {
	for _, u := range []*upstream{s.lambda, s.ecs} {
		if u == nil {
			continue
		}
		for _, sec := range u.secrets {
			if sec != "" && sec != "/" {
				msg = strings.ReplaceAll(msg, sec, "…")
			}
		}
	}
	return msg
}

// Routes tells where requests go, for the start-up line (no secrets).
func (s *Sidecar) Routes() string {
	switch {
	case s.lambda != nil && s.ecs != nil:
		return fmt.Sprintf("bodies up to %d bytes -> lambda %s, larger or refused for size -> ecs %s", s.maxLambdaBytes, s.lambda.display, s.ecs.display)
	case s.lambda != nil:
		return "everything -> lambda " + s.lambda.display + " (no ECS transformer: oversized batches cannot be rerouted)"
	default:
		return "everything -> ecs " + s.ecs.display
	}
}

// ServeHTTP routes one request.
func (s *Sidecar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case StatsPath:
		s.serveStats(w, r)
		return
	case HealthPath:
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "routes": s.Routes()})
		return
	}
	if r.ContentLength > s.maxBodyBytes {
		s.refuseTooLarge(w, r.ContentLength)
		return
	}
	only := s.only()
	switch {
	case only != nil:
		s.stream(w, r, only, r.Body, r.ContentLength, only.route)
	case r.ContentLength > s.maxLambdaBytes:
		s.stream(w, r, s.ecs, r.Body, r.ContentLength, "ecs")
	default:
		s.bySize(w, r)
	}
}

// only is the single upstream when just one is configured.
func (s *Sidecar) only() *upstream {
	if s.ecs == nil {
		return s.lambda
	}
	if s.lambda == nil {
		return s.ecs
	}
	return nil
}

// bySize buffers up to MaxLambdaBytes+1 of the body (needed both to know the size of a body
// without Content-Length and to send it again to ECS), then picks the route.
func (s *Sidecar) bySize(w http.ResponseWriter, r *http.Request) {
	head, err := s.readHead(r)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return
	}
	if int64(len(head)) > s.maxLambdaBytes {
		// A body of unknown length turned out too big for Lambda: stream it on to ECS.
		s.stream(w, r, s.ecs, io.MultiReader(bytes.NewReader(head), r.Body), -1, "ecs")
		return
	}
	resp, err := s.send(r, s.lambda, bytes.NewReader(head), int64(len(head)))
	if err != nil {
		s.upstreamFailed(w, s.lambda, err)
		return
	}
	reason, prefix, err := tooBigForLambda(resp)
	if err != nil {
		resp.Body.Close()
		s.upstreamFailed(w, s.lambda, err)
		return
	}
	if reason == "" {
		s.relay(w, resp, prefix, "lambda", int64(len(head)))
		return
	}
	resp.Body.Close()
	s.stats.refused(reason)
	resp, err = s.send(r, s.ecs, bytes.NewReader(head), int64(len(head)))
	if err != nil {
		s.upstreamFailed(w, s.ecs, err)
		return
	}
	s.relay(w, resp, nil, routeECSAfterTooBig, int64(len(head)))
}

// readHead reads the body up to MaxLambdaBytes+1 bytes: in one allocation when its length is
// known (growing a buffer for a multi-megabyte body costs more than the forwarding itself).
func (s *Sidecar) readHead(r *http.Request) ([]byte, error) {
	if r.ContentLength >= 0 && r.ContentLength <= s.maxLambdaBytes {
		head := make([]byte, r.ContentLength)
		_, err := io.ReadFull(r.Body, head)
		return head, err
	}
	return io.ReadAll(io.LimitReader(r.Body, s.maxLambdaBytes+1))
}

// stream forwards a body without holding it, capped at MaxBodyBytes.
func (s *Sidecar) stream(w http.ResponseWriter, r *http.Request, up *upstream, body io.Reader, length int64, route string) {
	capped := &cappedReader{r: body, left: s.maxBodyBytes}
	counted := &countingReader{r: capped}
	resp, err := s.send(r, up, counted, length)
	if capped.over {
		if resp != nil {
			resp.Body.Close()
		}
		s.refuseTooLarge(w, -1)
		return
	}
	if err != nil {
		s.upstreamFailed(w, up, err)
		return
	}
	n := length
	if n < 0 {
		n = counted.n
	}
	s.relay(w, resp, nil, route, n)
}

// send makes the upstream request: the same method, path, query, headers and body.
func (s *Sidecar) send(r *http.Request, up *upstream, body io.Reader, length int64) (*http.Response, error) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, "http://placeholder/", body)
	if err != nil {
		return nil, err
	}
	out.URL = up.target(r)
	out.Host = up.base.Host
	out.Header = forwardHeaders(r.Header)
	out.ContentLength = length
	if length == 0 {
		out.Body = http.NoBody
	}
	return s.transport.RoundTrip(out)
}

// relay writes the upstream's answer: status, headers (apiVersion among them: rudder-server
// needs it), prefix (bytes already read from the body), then the rest of the body.
func (s *Sidecar) relay(w http.ResponseWriter, resp *http.Response, prefix []byte, route string, reqBytes int64) {
	defer resp.Body.Close()
	h := w.Header()
	for k, vs := range resp.Header {
		if !hopByHop[http.CanonicalHeaderKey(k)] {
			h[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	n, _ := w.Write(prefix)
	m, err := io.Copy(w, resp.Body)
	s.stats.add(route, reqBytes, int64(n)+m)
	if err != nil {
		s.log(s.redact(fmt.Sprintf("sidecar: copying the %s answer to rudder-server stopped after %d bytes: %v", route, int64(n)+m, err)))
		// Break rudder-server's connection too: ending the handler would close a chunked
		// answer cleanly, and the cut answer would pass for a complete one. A broken
		// answer is retried.
		panic(http.ErrAbortHandler)
	}
}

// upstreamFailed answers 502 when an upstream cannot be reached: rudder-server retries it.
func (s *Sidecar) upstreamFailed(w http.ResponseWriter, up *upstream, err error) {
	s.stats.failed(up.route)
	s.fail(w, http.StatusBadGateway, fmt.Sprintf("the %s transformer (%s) did not answer: %v; rudder-server will retry", up.route, up.display, err))
}

func (s *Sidecar) refuseTooLarge(w http.ResponseWriter, length int64) {
	s.stats.rejected()
	size := "over"
	if length >= 0 {
		size = fmt.Sprintf("%d bytes,", length)
	}
	s.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body %s above the sidecar's limit of %d bytes (the transformer's own limit): no transformer accepts it; make rudder-server send smaller batches (RSERVER_PROCESSOR_TRANSFORM_BATCH_SIZE)", size, s.maxBodyBytes))
}

// fail answers a sidecar-made error as JSON {"error", "source":"rudderctl-sidecar"}.
func (s *Sidecar) fail(w http.ResponseWriter, status int, msg string) {
	msg = s.redact(msg)
	s.log(fmt.Sprintf("sidecar: answered %d: %s", status, msg))
	writeJSON(w, status, map[string]string{"error": msg, "source": ErrorSource})
}

// ErrorSource marks the sidecar's own error bodies.
const ErrorSource = "rudderctl-sidecar"

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// hopByHop headers belong to one connection and are not forwarded (RFC 9110 7.6.1).
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

func forwardHeaders(in http.Header) http.Header {
	out := make(http.Header, len(in))
	for k, vs := range in {
		if !hopByHop[k] {
			out[k] = vs
		}
	}
	for _, name := range strings.Split(in.Get("Connection"), ",") {
		out.Del(strings.TrimSpace(name))
	}
	// The body is already read (or being streamed): no 100-continue round on the next hop.
	out.Del("Expect")
	return out
}

// cappedReader stops with an error once more than left bytes were read.
type cappedReader struct {
	r    io.Reader
	left int64
	over bool
}

var errBodyTooLarge = errors.New("request body over the sidecar's limit")

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		c.over = true
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		c.over = true
		return 0, errBodyTooLarge
	}
	return n, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
