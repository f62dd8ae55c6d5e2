package localcloud

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// stageServers owns one loopback listener per API; each serves the API's $default stage.
type stageServers struct {
	c       *Cloud
	mu      sync.Mutex
	servers map[string]*http.Server
	wg      sync.WaitGroup
}

func newStageServers(c *Cloud) *stageServers {
	return &stageServers{c: c, servers: map[string]*http.Server{}}
}

// listen opens (or reuses) the listener of an API. want is the persisted port (0 = any);
// when it is taken, another port is used and returned.
func (s *stageServers) listen(apiID string, want int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if srv := s.servers[apiID]; srv != nil {
		_, p, _ := net.SplitHostPort(srv.Addr)
		var port int
		fmt.Sscan(p, &port)
		return port, nil
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", want))
	if err != nil && want != 0 {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return 0, err
	}
	srv := &http.Server{
		Addr:              ln.Addr().String(),
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serveAPI(apiID, w, r) }),
		ReadHeaderTimeout: 30 * time.Second,
	}
	s.servers[apiID] = srv
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = srv.Serve(ln)
	}()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ensure brings up the listener of a persisted API on its remembered port.
func (s *stageServers) ensure(apiID string) error {
	s.c.mu.Lock()
	want := s.c.st.Ports[apiID]
	s.c.mu.Unlock()
	port, err := s.listen(apiID, want)
	if err != nil {
		return err
	}
	if port != want {
		s.c.logf("api %s: port %d is taken; the API now listens on %d", apiID, want, port)
		s.c.mu.Lock()
		s.c.st.Ports[apiID] = port
		s.c.commitLocked()
		s.c.mu.Unlock()
	}
	return nil
}

func (s *stageServers) stop(apiID string) {
	s.mu.Lock()
	srv := s.servers[apiID]
	delete(s.servers, apiID)
	s.mu.Unlock()
	if srv != nil {
		go srv.Close()
	}
}

func (s *stageServers) closeAll() {
	s.mu.Lock()
	srvs := s.servers
	s.servers = map[string]*http.Server{}
	s.mu.Unlock()
	for _, srv := range srvs {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if srv.Shutdown(ctx) != nil {
			_ = srv.Close()
		}
		cancel()
	}
	s.wg.Wait()
}

// stagePlan is what a stage request resolved to under the lock.
type stagePlan struct {
	routeKey string
	params   map[string]string
	fn, qual string
	timeout  time.Duration
	region   string
}

// serveAPI is the data plane of one API: HTTP in, payload 2.0 to Lambda, HTTP out.
// It is never faulted and never counted in Stats.
func (s *stageServers) serveAPI(apiID string, w http.ResponseWriter, r *http.Request) {
	c := s.c
	start := time.Now()
	status := 0
	var plan stagePlan
	defer func() {
		c.logMu.Lock()
		fmt.Fprintf(c.log, "%s execute-api %s %s %s -> %d (%s)\n", time.Now().UTC().Format("15:04:05.000"), apiID, r.Method, loggedPath(plan), status, time.Since(start).Round(time.Microsecond))
		c.logMu.Unlock()
	}()
	fail := func(code int) {
		status = code
		gwWriteError(w, code)
	}
	body, err := readSized(r.Body, r.ContentLength, gwMaxRequestBytes)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			fail(http.StatusRequestEntityTooLarge)
		} else {
			fail(http.StatusBadRequest)
		}
		return
	}
	plan, code := c.planStage(apiID, r)
	if code != 0 {
		fail(code)
		return
	}
	requestID := newRequestID()
	event, err := gwBuildEvent(r, body, gwEventContext{
		RouteKey: plan.routeKey, Stage: "$default", APIID: apiID, RequestID: requestID,
		AccountID: AccountID, PathParameters: plan.params,
	})
	if err != nil {
		fail(http.StatusInternalServerError)
		return
	}
	if len(event) > gwLambdaMaxPayload {
		fail(http.StatusRequestEntityTooLarge)
		return
	}
	t, err := c.target(plan.fn, plan.qual)
	if err != nil {
		c.logf("api %s: integration target %s:%s: %v", apiID, plan.fn, plan.qual, err)
		fail(http.StatusInternalServerError)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), plan.timeout)
	defer cancel()
	res := c.run(ctx, t, event)
	if ctx.Err() == context.DeadlineExceeded {
		fail(http.StatusServiceUnavailable)
		return
	}
	if res.FunctionError != "" {
		fail(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Apigw-Requestid", requestID)
	rec := &statusRecorder{ResponseWriter: w}
	if err := gwWriteResponse(rec, res.Payload); err != nil && rec.status == 0 {
		fail(http.StatusInternalServerError)
		return
	}
	status = rec.status
}

// loggedPath is what the access log shows of a stage request. Route paths may carry a secret
// prefix (rudderctl's deploy puts one there), so only the greedy tail a route matched is shown.
func loggedPath(p stagePlan) string {
	if p.routeKey == "" {
		return "(no route)"
	}
	for name, v := range p.params {
		if strings.Contains(p.routeKey, "{"+name+"+}") {
			return "…/" + v
		}
	}
	return "…"
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// planStage matches the route and checks the integration under the lock.
// It returns a gateway status code on failure.
func (c *Cloud) planStage(apiID string, r *http.Request) (stagePlan, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.st.APIs[apiID]
	if a == nil || a.Stages["$default"] == nil {
		return stagePlan{}, http.StatusNotFound
	}
	keys := make([]string, 0, len(a.Routes))
	byKey := map[string]*routeRec{}
	for _, rt := range a.Routes {
		keys = append(keys, rt.RouteKey)
		byKey[rt.RouteKey] = rt
	}
	key, params, ok := gwMatchRoute(keys, r.Method, r.URL.Path)
	if !ok {
		return stagePlan{}, http.StatusNotFound
	}
	rt := byKey[key]
	id, found := strings.CutPrefix(rt.Target, "integrations/")
	integ := a.Integrations[id]
	if !found || integ == nil {
		return stagePlan{}, http.StatusNotFound
	}
	if integ.Type != "AWS_PROXY" || integ.PayloadFormatVersion != "2.0" {
		c.logf("api %s: integration %s (%s, payload %s) is not supported by localcloud; only AWS_PROXY with payload 2.0", apiID, integ.ID, integ.Type, integ.PayloadFormatVersion)
		return stagePlan{}, http.StatusInternalServerError
	}
	fn, qual, ok := lambdaFromIntegrationURI(integ.URI)
	if !ok {
		return stagePlan{}, http.StatusInternalServerError
	}
	f := c.st.Functions[fn]
	if f == nil {
		return stagePlan{}, http.StatusInternalServerError
	}
	sourceArn := fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/$default/%s%s", a.Region, AccountID, a.ID, r.Method, r.URL.Path)
	if !f.allowsAPIGateway(qual, sourceArn) {
		c.logf("api %s: no resource-based policy on %s lets apigateway.amazonaws.com invoke it (source %s); API Gateway answers 500", apiID, f.qualifiedARN(qual), sourceArn)
		return stagePlan{}, http.StatusInternalServerError
	}
	timeout := gwIntegrationTimeout
	if integ.TimeoutMillis > 0 && time.Duration(integ.TimeoutMillis)*time.Millisecond < timeout {
		timeout = time.Duration(integ.TimeoutMillis) * time.Millisecond
	}
	return stagePlan{routeKey: key, params: params, fn: fn, qual: qual, timeout: timeout, region: a.Region}, 0
}

// allowsAPIGateway checks the resource policy of the invoked qualifier for an invoke grant
// to apigateway.amazonaws.com whose SourceArn (if any) matches.
func (f *functionRec) allowsAPIGateway(qual, sourceArn string) bool {
	if qual == "$LATEST" {
		qual = ""
	}
	for _, s := range f.Policies[qual] {
		if s.Principal != "apigateway.amazonaws.com" && s.Principal != "*" {
			continue
		}
		if s.Action != "lambda:InvokeFunction" && s.Action != "lambda:*" {
			continue
		}
		if s.SourceAccount != "" && s.SourceAccount != AccountID {
			continue
		}
		if s.SourceArn != "" && !arnLike(s.SourceArn, sourceArn) {
			continue
		}
		return true
	}
	return false
}

// arnLike matches IAM's ArnLike: * matches any run of characters (including '/'),
// ? matches one.
func arnLike(pattern, s string) bool {
	return wildcard(pattern, s)
}

func wildcard(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if wildcard(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
		default:
			if len(s) == 0 || s[0] != p[0] {
				return false
			}
		}
		p, s = p[1:], s[1:]
	}
	return len(s) == 0
}
