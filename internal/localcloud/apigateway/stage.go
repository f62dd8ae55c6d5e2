package apigateway

import (
	"context"
	"errors"
	"fmt"
	"github.com/rudderctl/rudderctl/internal/apigwlocal"
	"github.com/rudderctl/rudderctl/internal/localcloud/core"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// stageServers owns one loopback listener per API; each serves the API's $default stage.
type stageServers struct {
	room    *Room
	mu      sync.Mutex
	servers map[string]*http.Server
	wg      sync.WaitGroup
}

func newStageServers(r *Room) *stageServers {
	return &stageServers{room: r, servers: map[string]*http.Server{}}
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
	r := s.room
	r.mu.Lock()
	want := r.st.Ports[apiID]
	r.mu.Unlock()
	port, err := s.listen(apiID, want)
	if err != nil {
		return err
	}
	if port != want {
		r.cloud.Logf("api %s: port %d is taken; the API now listens on %d", apiID, want, port)
		r.mu.Lock()
		r.st.Ports[apiID] = port
		r.commitLocked()
		r.mu.Unlock()
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
	room := s.room
	start := time.Now()
	status := 0
	var plan stagePlan
	defer func() {
		room.cloud.AccessLogf("execute-api %s %s %s -> %d (%s)", apiID, r.Method, loggedPath(plan), status, time.Since(start).Round(time.Microsecond))
	}()
	fail := func(code int) {
		status = code
		gwWriteError(w, code)
	}
	body, err := core.ReadSized(r.Body, r.ContentLength, gwMaxRequestBytes)
	if err != nil {
		if errors.Is(err, core.ErrTooLarge) {
			fail(http.StatusRequestEntityTooLarge)
		} else {
			fail(http.StatusBadRequest)
		}
		return
	}
	plan, code := room.planStage(apiID, r)
	if code != 0 {
		fail(code)
		return
	}
	requestID := core.NewRequestID()
	event, err := gwBuildEvent(r, body, gwEventContext{
		RouteKey: plan.routeKey, Stage: "$default", APIID: apiID, RequestID: requestID,
		AccountID: core.AccountID, PathParameters: plan.params,
	})
	if err != nil {
		fail(http.StatusInternalServerError)
		return
	}
	if len(event) > gwLambdaMaxPayload {
		fail(http.StatusRequestEntityTooLarge)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), plan.timeout)
	defer cancel()
	payload, fnErr, err := room.functions.InvokeFunction(ctx, plan.fn, plan.qual, event)
	if err != nil {
		room.cloud.Logf("api %s: integration target %s:%s: %v", apiID, plan.fn, plan.qual, err)
		fail(http.StatusInternalServerError)
		return
	}
	if ctx.Err() == context.DeadlineExceeded {
		fail(http.StatusServiceUnavailable)
		return
	}
	if fnErr != "" {
		fail(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Apigw-Requestid", requestID)
	rec := &statusRecorder{ResponseWriter: w}
	if err := gwWriteResponse(rec, payload); err != nil && rec.status == 0 {
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
func (room *Room) planStage(apiID string, r *http.Request) (stagePlan, int) {
	room.mu.Lock()
	defer room.mu.Unlock()
	a := room.st.APIs[apiID]
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
		room.cloud.Logf("api %s: integration %s (%s, payload %s) is not supported by localcloud; only AWS_PROXY with payload 2.0", apiID, integ.ID, integ.Type, integ.PayloadFormatVersion)
		return stagePlan{}, http.StatusInternalServerError
	}
	fn, qual, ok := lambdaFromIntegrationURI(integ.URI)
	if !ok {
		return stagePlan{}, http.StatusInternalServerError
	}
	sourceArn := fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/$default/%s%s", a.Region, core.AccountID, a.ID, r.Method, r.URL.Path)
	exists, allowed, fnARN := room.functions.GatewayGrant(fn, qual, sourceArn)
	if !exists {
		return stagePlan{}, http.StatusInternalServerError
	}
	if !allowed {
		room.cloud.Logf("api %s: no resource-based policy on %s lets apigateway.amazonaws.com invoke it (source %s); API Gateway answers 500", apiID, fnARN, sourceArn)
		return stagePlan{}, http.StatusInternalServerError
	}
	timeout := gwIntegrationTimeout
	if integ.TimeoutMillis > 0 && time.Duration(integ.TimeoutMillis)*time.Millisecond < timeout {
		timeout = time.Duration(integ.TimeoutMillis) * time.Millisecond
	}
	return stagePlan{routeKey: key, params: params, fn: fn, qual: qual, timeout: timeout, region: a.Region}, 0
}

// The gateway's data-plane helpers come from internal/apigwlocal (CONTRACTS §4); these thin
// wrappers are the one place the local cloud touches them.

const (
	gwMaxRequestBytes    = apigwlocal.MaxRequestBytes
	gwLambdaMaxPayload   = apigwlocal.LambdaMaxPayload
	gwIntegrationTimeout = apigwlocal.IntegrationTimeout
)

type gwEventContext = apigwlocal.EventContext

func gwMatchRoute(keys []string, method, path string) (string, map[string]string, bool) {
	return apigwlocal.MatchRoute(keys, method, path)
}

func gwBuildEvent(r *http.Request, body []byte, ev gwEventContext) ([]byte, error) {
	return apigwlocal.BuildEvent(r, body, ev)
}

func gwWriteResponse(w http.ResponseWriter, payload []byte) error {
	return apigwlocal.WriteResponse(w, payload)
}

func gwWriteError(w http.ResponseWriter, status int) { apigwlocal.WriteGatewayError(w, status) }
