package core

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Request is one AWS API call in flight.
type Request struct {
	W         http.ResponseWriter
	R         *http.Request
	Service   string
	Region    string
	RequestID string
	Op        string
	Status    int
	Args      []string // what the room's Route found in the path (function name, bucket, ...)
	c         *Cloud
}

// Cloud is the cloud the request came to.
func (q *Request) Cloud() *Cloud { return q.c }

// ServeHTTP dispatches admin endpoints, the rooms' own hosts and AWS API calls.
func (c *Cloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_localcloud/") {
		c.serveAdmin(w, r)
		return
	}
	for _, room := range c.rooms {
		if hs, ok := room.(HostServer); ok && hs.ServeHost(w, r) {
			return
		}
	}
	start := time.Now()
	svc, region := credentialScope(r)
	if svc == "" {
		// Unsigned requests: the room that recognises the shape of the request.
		svc = c.guessService(r)
	}
	if region == "" {
		region = "us-east-1"
	}
	q := &Request{c: c, W: w, R: r, Service: svc, Region: region, RequestID: NewRequestID()}
	w.Header().Set("X-Amzn-Requestid", q.RequestID)
	if room := c.byName[svc]; room != nil {
		c.dispatch(room, q)
	} else {
		http.Error(w, "localcloud: unknown service (no SigV4 credential scope)", http.StatusBadRequest)
		q.Status = http.StatusBadRequest
	}
	c.AccessLogf("%s %s %s %s -> %d (%s)", svc, q.Op, r.Method, r.URL.Path, q.Status, time.Since(start).Round(time.Microsecond))
}

// dispatch routes a call to its row of the room's table: count, faults, handler.
func (c *Cloud) dispatch(room Room, q *Request) {
	name, ok := room.Route(q)
	if !ok {
		q.Op = "?"
		return
	}
	op, known := c.ops[room][name]
	mutating := op.Mutating
	if !known {
		mutating = MutatingByName(name)
	}
	if !c.begin(room, q, name, mutating) {
		return
	}
	if known {
		op.Handle(q)
		return
	}
	room.Unknown(q)
}

// begin records the call, applies latency and faults. It returns false when a fault
// already answered the call.
func (c *Cloud) begin(room Room, q *Request, op string, mutating bool) bool {
	q.Op = op
	c.count(q.Service+":"+op, mutating)
	kind, lat := c.decideFault(mutating)
	if lat > 0 {
		select {
		case <-time.After(lat):
		case <-q.R.Context().Done():
		}
	}
	if kind != faultNone {
		c.countInjected(kind, q.Service+":"+op)
		// Read the request body first (as a server that answers after the upload): a
		// client still sending a large body (PutObject, a ZipFile) would otherwise see a
		// broken connection instead of the injected error.
		_, _ = io.Copy(io.Discard, io.LimitReader(q.R.Body, 6<<30))
	}
	switch kind {
	case faultThrottle:
		room.Throttle(q)
		return false
	case faultError:
		room.Fail(q)
		return false
	}
	return true
}

func (c *Cloud) guessService(r *http.Request) string {
	for _, room := range c.rooms {
		if g, ok := room.(Guesser); ok && g.Guess(r) {
			return room.Name()
		}
	}
	return ""
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

// WriteJSON answers with a JSON document.
func (q *Request) WriteJSON(status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"message":"localcloud: encode response"}`)
	}
	q.W.Header().Set("Content-Type", contentType)
	q.W.Header().Set("Content-Length", fmt.Sprint(len(b)))
	q.W.WriteHeader(status)
	q.Status = status
	_, _ = q.W.Write(b)
}

// NoContent answers with a status and no body.
func (q *Request) NoContent(status int) {
	q.W.WriteHeader(status)
	q.Status = status
}

// WriteBody answers with a status and a body (headers set by the caller).
func (q *Request) WriteBody(status int, b []byte) {
	q.W.WriteHeader(status)
	q.Status = status
	_, _ = q.W.Write(b)
}
