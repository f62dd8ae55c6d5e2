// Package localcloud is a single-process stand-in for the slice of AWS that rudderctl uses:
// STS, IAM, Lambda, API Gateway v2 (HTTP APIs) and CloudWatch Logs. It speaks the wire
// protocols that aws-sdk-go-v2 and the AWS CLI use, keeps state on disk, and executes the
// Lambda functions deployed into it (through internal/lambdalocal), serving API stages on
// loopback ports.
package localcloud

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// AccountID is the account every resource lives in.
const AccountID = "000000000000"

// Options configures a Cloud.
type Options struct {
	Addr     string    // "127.0.0.1:4566"; "127.0.0.1:0" for tests
	StateDir string    // persistence; "" = temp dir removed on Close
	Faults   string    // fault SPEC, see SetFaults
	Delays   Delays    // zero fields = defaults
	Log      io.Writer // access log; nil = discard
}

// Delays are the simulated eventual-consistency windows. A zero field takes its default;
// a negative field means "no delay".
type Delays struct {
	Active          time.Duration // CreateFunction: State Pending -> Active (default 300ms)
	Update          time.Duration // Update*: LastUpdateStatus InProgress -> Successful (default 300ms)
	RolePropagation time.Duration // a role this young cannot be used by Lambda (default 2s)
}

func (d Delays) withDefaults() Delays {
	fix := func(v, def time.Duration) time.Duration {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0
		}
		return v
	}
	return Delays{
		Active:          fix(d.Active, 300*time.Millisecond),
		Update:          fix(d.Update, 300*time.Millisecond),
		RolePropagation: fix(d.RolePropagation, 2*time.Second),
	}
}

// Stats counts the API calls the cloud has answered (admin endpoints and API-stage
// traffic excluded). Operation keys are "service:Operation", e.g. "lambda:CreateFunction".
type Stats struct {
	Calls         int            `json:"calls"`
	MutatingCalls int            `json:"mutating_calls"`
	ByOperation   map[string]int `json:"by_operation"`
	// Injected counts the faults the cloud injected, by kind ("throttle", "error"), so a
	// test can require that the fault it set up really fired.
	Injected map[string]int `json:"injected"`
	// InjectedInto counts them by the operation they hit ("s3:DeleteObject").
	InjectedInto map[string]int `json:"injected_into"`
}

// Resource is one resource carrying a tag (see Cloud.Resources).
type Resource struct {
	Service string            `json:"service"` // iam, lambda, apigateway, logs, s3
	Type    string            `json:"type"`    // role, function, api, stage, log-group, bucket
	Name    string            `json:"name"`
	ARN     string            `json:"arn"`
	Tags    map[string]string `json:"tags"`
}

// Cloud is a running local cloud.
type Cloud struct {
	opts     Options
	delays   Delays
	stateDir string
	tempDir  bool
	lock     *stateLock // held from Start to Close
	ln       net.Listener
	srv      *http.Server
	endpoint string

	mu    sync.Mutex
	st    *state
	dirty bool // log groups or events changed since logs.json was written

	statsMu sync.Mutex
	stats   Stats
	calls   callLog // ordered, reset with the stats (calllog.go)

	faultsMu sync.Mutex
	faults   *faults

	logMu sync.Mutex
	log   io.Writer

	exec   *executor
	stages *stageServers

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
}

// Start listens on o.Addr, loads state from o.StateDir and serves until Close.
func Start(ctx context.Context, o Options) (*Cloud, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:4566"
	}
	c := &Cloud{opts: o, delays: o.Delays.withDefaults(), log: o.Log, done: make(chan struct{})}
	if c.log == nil {
		c.log = io.Discard
	}
	c.stats.ByOperation = map[string]int{}
	c.stats.Injected = map[string]int{}
	c.stats.InjectedInto = map[string]int{}
	if o.StateDir == "" {
		d, err := os.MkdirTemp("", "rudderctl-localcloud-")
		if err != nil {
			return nil, err
		}
		c.stateDir, c.tempDir = d, true
	} else {
		if err := os.MkdirAll(o.StateDir, 0o755); err != nil {
			return nil, fmt.Errorf("localcloud: state dir: %w", err)
		}
		c.stateDir = o.StateDir
	}
	fail := func(err error) (*Cloud, error) {
		c.lock.release()
		c.cleanupTemp()
		return nil, err
	}
	// One cloud per state dir: a second would overwrite the first one's state.
	lock, err := lockStateDir(c.stateDir)
	if err != nil {
		return fail(err)
	}
	c.lock = lock
	st, err := loadState(c.stateDir)
	if err != nil {
		return fail(err)
	}
	c.st = st
	if err := c.SetFaults(o.Faults); err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fail(fmt.Errorf("localcloud: listen %s: %w", o.Addr, err))
	}
	c.ln = ln
	c.endpoint = "http://" + ln.Addr().String()
	c.exec = newExecutor(c)
	c.stages = newStageServers(c)
	c.srv = &http.Server{Handler: c, ReadHeaderTimeout: 30 * time.Second}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		_ = c.srv.Serve(ln)
	}()
	// Bring up the API stage listeners of persisted APIs.
	c.mu.Lock()
	apis := make([]*apiRec, 0, len(c.st.APIs))
	for _, a := range c.st.APIs {
		apis = append(apis, a)
	}
	c.mu.Unlock()
	for _, a := range apis {
		if err := c.stages.ensure(a.ID); err != nil {
			c.logf("api %s: %v", a.ID, err)
		}
	}
	c.wg.Add(1)
	go c.flusher()
	_ = ctx
	return c, nil
}

// Endpoint is the base URL of the cloud, e.g. "http://127.0.0.1:4566".
func (c *Cloud) Endpoint() string { return c.endpoint }

// StateDir is the directory the cloud persists to.
func (c *Cloud) StateDir() string { return c.stateDir }

// Close stops the listeners and the function environments and saves state.
func (c *Cloud) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.done)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = c.srv.Shutdown(ctx)
		if err != nil {
			_ = c.srv.Close()
		}
		c.stages.closeAll()
		c.exec.closeAll()
		c.exec.tasks.close()
		c.wg.Wait()
		c.mu.Lock()
		if serr := c.saveLocked(); serr != nil && err == nil {
			err = serr
		}
		c.mu.Unlock()
		c.lock.release()
		c.cleanupTemp()
	})
	return err
}

func (c *Cloud) cleanupTemp() {
	if c.tempDir {
		_ = os.RemoveAll(c.stateDir)
	}
}

func (c *Cloud) flusher() {
	defer c.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.mu.Lock()
			if err := c.saveLogsLocked(); err != nil {
				c.logf("save logs: %v", err)
			}
			c.mu.Unlock()
		}
	}
}

func (c *Cloud) logf(format string, args ...any) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	fmt.Fprintf(c.log, "%s localcloud: %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// Stats returns a copy of the call counters.
func (c *Cloud) Stats() Stats {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	s := Stats{Calls: c.stats.Calls, MutatingCalls: c.stats.MutatingCalls, ByOperation: maps.Clone(c.stats.ByOperation),
		Injected: maps.Clone(c.stats.Injected), InjectedInto: maps.Clone(c.stats.InjectedInto)}
	return s
}

// ResetStats zeroes the call counters.
func (c *Cloud) ResetStats() {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	c.stats = Stats{ByOperation: map[string]int{}, Injected: map[string]int{}, InjectedInto: map[string]int{}}
	c.calls = callLog{}
}

// countInjected records one injected fault.
func (c *Cloud) countInjected(kind faultKind, op string) {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	c.stats.Injected[kind.String()]++
	c.stats.InjectedInto[op]++
}

func (c *Cloud) count(op string, mutating bool) {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	c.stats.Calls++
	if mutating {
		c.stats.MutatingCalls++
	}
	c.stats.ByOperation[op]++
	c.calls.add(Call{Op: op, Mutating: mutating})
}

// isMutating reports whether an operation changes state (everything that is not a read).
func isMutating(op string) bool {
	for _, p := range []string{"Get", "List", "Describe", "Invoke", "Filter", "Head"} {
		if strings.HasPrefix(op, p) {
			return false
		}
	}
	return true
}

// Resources lists everything carrying the tag tagKey=tagValue (tagValue "" = any value).
func (c *Cloud) Resources(tagKey, tagValue string) []Resource {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Resource
	match := func(tags map[string]string) bool {
		v, ok := tags[tagKey]
		return ok && (tagValue == "" || v == tagValue)
	}
	for _, r := range c.st.Roles {
		if match(r.Tags) {
			out = append(out, Resource{"iam", "role", r.Name, r.ARN, copyMap(r.Tags)})
		}
	}
	for _, f := range c.st.Functions {
		if match(f.Tags) {
			out = append(out, Resource{"lambda", "function", f.Name, f.arn(), copyMap(f.Tags)})
		}
	}
	for _, a := range c.st.APIs {
		if match(a.Tags) {
			out = append(out, Resource{"apigateway", "api", a.Name, a.arn(), copyMap(a.Tags)})
		}
		for _, s := range a.Stages {
			if match(s.Tags) {
				out = append(out, Resource{"apigateway", "stage", a.ID + "/" + s.Name, a.stageARN(s.Name), copyMap(s.Tags)})
			}
		}
	}
	for _, g := range c.st.LogGroups {
		if match(g.Tags) {
			out = append(out, Resource{"logs", "log-group", g.Name, g.arn(), copyMap(g.Tags)})
		}
	}
	for _, b := range c.s3Sorted() {
		if match(b.Tags) {
			out = append(out, Resource{"s3", "bucket", b.Name, b.arn(), copyMap(b.Tags)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ServeHTTP dispatches admin endpoints, execute-api hosts and AWS API calls.
func (c *Cloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_localcloud/") {
		c.serveAdmin(w, r)
		return
	}
	if apiID, ok := executeAPIHost(r.Host); ok {
		c.stages.serveAPI(apiID, w, r)
		return
	}
	start := time.Now()
	svc, region := credentialScope(r)
	if svc == "" {
		// Unsigned requests: guess from the shape of the request.
		svc = guessService(r)
	}
	if region == "" {
		region = "us-east-1"
	}
	req := &request{c: c, w: w, r: r, service: svc, region: region, requestID: newRequestID()}
	w.Header().Set("X-Amzn-Requestid", req.requestID)
	switch svc {
	case "sts", "iam":
		c.serveQuery(req)
	case "lambda":
		c.serveLambda(req)
	case "apigateway":
		c.serveAPIGateway(req)
	case "logs":
		c.serveLogs(req)
	case "s3":
		c.serveS3(req)
	default:
		http.Error(w, "localcloud: unknown service (no SigV4 credential scope)", http.StatusBadRequest)
		req.status = http.StatusBadRequest
	}
	c.logMu.Lock()
	fmt.Fprintf(c.log, "%s %s %s %s %s -> %d (%s)\n", time.Now().UTC().Format("15:04:05.000"), svc, req.op, r.Method, r.URL.Path, req.status, time.Since(start).Round(time.Microsecond))
	c.logMu.Unlock()
}

// request is one AWS API call in flight.
type request struct {
	c         *Cloud
	w         http.ResponseWriter
	r         *http.Request
	service   string
	region    string
	requestID string
	op        string
	status    int
}

// begin records the call, applies latency and faults. It returns false when a fault
// already answered the call.
func (q *request) begin(op string) bool {
	q.op = op
	mut := isMutating(op) && op != "GetCallerIdentity"
	q.c.count(q.service+":"+op, mut)
	kind, lat := q.c.decideFault(mut)
	if lat > 0 {
		select {
		case <-time.After(lat):
		case <-q.r.Context().Done():
		}
	}
	if kind != faultNone {
		q.c.countInjected(kind, q.service+":"+op)
		// Read the request body first (as a server that answers after the upload): a
		// client still sending a large body (PutObject, a ZipFile) would otherwise see a
		// broken connection instead of the injected error.
		_, _ = io.Copy(io.Discard, io.LimitReader(q.r.Body, 6<<30))
	}
	switch kind {
	case faultThrottle:
		q.throttle()
		return false
	case faultError:
		q.internalError()
		return false
	}
	return true
}

func (q *request) throttle() {
	switch q.service {
	case "lambda":
		q.w.Header().Set("Retry-After", "1")
		q.lambdaError(http.StatusTooManyRequests, "TooManyRequestsException", "Rate exceeded")
	case "apigateway":
		q.w.Header().Set("Retry-After", "1")
		q.apigwError(http.StatusTooManyRequests, "TooManyRequestsException", "Too Many Requests")
	case "logs":
		q.jsonError(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	case "s3":
		q.s3Error(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	default:
		q.queryError(http.StatusBadRequest, "Throttling", "Rate exceeded")
	}
}

func (q *request) internalError() {
	const msg = "localcloud: injected fault"
	switch q.service {
	case "lambda":
		q.lambdaErrorType(http.StatusInternalServerError, "ServiceException", "Service", msg)
	case "apigateway":
		q.apigwError(http.StatusInternalServerError, "InternalFailure", msg)
	case "logs":
		q.jsonError(http.StatusInternalServerError, "ServiceUnavailableException", msg)
	case "s3":
		q.s3Error(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again. ("+msg+")")
	case "iam":
		q.queryErrorType(http.StatusInternalServerError, "ServiceFailure", "Receiver", msg)
	default:
		q.queryErrorType(http.StatusInternalServerError, "InternalFailure", "Receiver", msg)
	}
}

func (q *request) writeJSON(status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"message":"localcloud: encode response"}`)
	}
	q.w.Header().Set("Content-Type", contentType)
	q.w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	q.w.WriteHeader(status)
	q.status = status
	_, _ = q.w.Write(b)
}

func (q *request) noContent(status int) {
	q.w.WriteHeader(status)
	q.status = status
}

// credentialScope reads service and region from the SigV4 Authorization header
// ("... Credential=AKID/20240101/us-east-1/lambda/aws4_request, ...") or from the
// presigned-URL query parameter.
func credentialScope(r *http.Request) (service, region string) {
	cred := ""
	if a := r.Header.Get("Authorization"); a != "" {
		if i := strings.Index(a, "Credential="); i >= 0 {
			cred = a[i+len("Credential="):]
			if j := strings.IndexAny(cred, ", "); j >= 0 {
				cred = cred[:j]
			}
		}
	} else if v := r.URL.Query().Get("X-Amz-Credential"); v != "" {
		cred = v
	}
	parts := strings.Split(cred, "/")
	if len(parts) >= 5 {
		return parts[3], parts[2]
	}
	return "", ""
}

func guessService(r *http.Request) string {
	if _, ok := s3VirtualHost(r.Host); ok {
		return "s3"
	}
	switch {
	case strings.HasPrefix(r.Header.Get("X-Amz-Target"), "Logs_"):
		return "logs"
	case strings.HasPrefix(r.URL.Path, "/2015-03-31/") || strings.HasPrefix(r.URL.Path, "/2017-03-31/"):
		return "lambda"
	case strings.HasPrefix(r.URL.Path, "/v2/"):
		return "apigateway"
	}
	return ""
}

// executeAPIHost recognises "<apiId>.execute-api.localhost[:port]".
func executeAPIHost(host string) (string, bool) {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	id, rest, ok := strings.Cut(strings.ToLower(h), ".")
	if !ok || id == "" {
		return "", false
	}
	if rest == "execute-api.localhost" || strings.HasPrefix(rest, "execute-api.") && strings.HasSuffix(rest, ".localhost") {
		return id, true
	}
	return "", false
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// serveAdmin answers /_localcloud/... (never faulted, never counted).
func (c *Cloud) serveAdmin(w http.ResponseWriter, r *http.Request) {
	writeJSON := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
	}
	switch {
	case r.URL.Path == "/_localcloud/faults" && r.Method == http.MethodPost:
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err := c.SetFaults(strings.TrimSpace(string(b))); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(map[string]string{"faults": strings.TrimSpace(string(b))})
	case r.URL.Path == "/_localcloud/faults" && r.Method == http.MethodGet:
		c.faultsMu.Lock()
		spec := c.faults.spec
		c.faultsMu.Unlock()
		writeJSON(map[string]string{"faults": spec})
	case r.URL.Path == "/_localcloud/stats" && r.Method == http.MethodGet:
		writeJSON(c.Stats())
	case r.URL.Path == "/_localcloud/calls" && r.Method == http.MethodGet:
		writeJSON(c.Calls())
	case r.URL.Path == "/_localcloud/stats/reset" && r.Method == http.MethodPost:
		c.ResetStats()
		writeJSON(c.Stats())
	case r.URL.Path == "/_localcloud/resources" && r.Method == http.MethodGet:
		tag := r.URL.Query().Get("tag")
		k, v, _ := strings.Cut(tag, "=")
		if k == "" {
			http.Error(w, "tag=KEY=VALUE required", http.StatusBadRequest)
			return
		}
		res := c.Resources(k, v)
		if res == nil {
			res = []Resource{}
		}
		writeJSON(res)
	case strings.HasPrefix(r.URL.Path, "/_localcloud/code/") && r.Method == http.MethodGet:
		name := strings.TrimPrefix(r.URL.Path, "/_localcloud/code/")
		h := strings.TrimSuffix(name, ".zip")
		if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/zip")
		http.ServeFile(w, r, c.zipPath(h))
	case r.URL.Path == "/_localcloud/health":
		writeJSON(map[string]string{"status": "ok"})
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

var errNotFound = errors.New("not found")
