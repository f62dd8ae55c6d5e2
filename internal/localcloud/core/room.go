package core

import (
	"net/http"
	"strings"
)

// Room is one AWS service of the local cloud. The core counts, logs and faults every call
// and hands it to the room's operation table; the room owns its state, under its own lock.
type Room interface {
	// Name is the service name of the SigV4 credential scope ("lambda").
	Name() string
	// Ops is the operation table.
	Ops() []Op
	// Route names the operation of a request (and may put what it found in q.Args). false:
	// the request was malformed and is answered already; it is neither counted nor faulted.
	Route(q *Request) (op string, ok bool)
	// Unknown answers an operation Route named that the table does not have (after it was
	// counted and faulted, as AWS answers any well-formed call).
	Unknown(q *Request)
	// Throttle and Fail write the service's throttling error and internal error, for the
	// faults the core injects.
	Throttle(q *Request)
	Fail(q *Request)
	// Open loads the room's state and finds its peers (Peer), before the cloud listens.
	Open(c *Cloud) error
	// Save writes the room's state (Close calls it once more after every room closed).
	Save() error
	// Close stops the room's background work.
	Close()
	// Resources lists the room's resources whose tags match.
	Resources(match func(tags map[string]string) bool) []Resource
}

// Op is one row of a room's operation table.
type Op struct {
	Name     string // "CreateFunction"; counted as "service:Name"
	Mutating bool   // counted in Stats.MutatingCalls; fail-mutating can hit it
	Handle   func(q *Request)
}

// Read is a row for an operation that changes nothing.
func Read(name string, h func(q *Request)) Op { return Op{Name: name, Handle: h} }

// Write is a row for an operation that changes state.
func Write(name string, h func(q *Request)) Op { return Op{Name: name, Mutating: true, Handle: h} }

// MutatingByName is the rule for an operation no table lists: everything that is not a read
// by its name's verb.
func MutatingByName(op string) bool {
	for _, p := range []string{"Get", "BatchGet", "List", "Describe", "Invoke", "Filter", "Head"} {
		if strings.HasPrefix(op, p) {
			return false
		}
	}
	return true
}

// Starter is a room with work to start once the cloud listens (API stage listeners).
type Starter interface{ Start() }

// Guesser is a room that recognises its unsigned requests (no SigV4 credential scope).
type Guesser interface{ Guess(r *http.Request) bool }

// HostServer is a room that serves requests by Host before any API dispatch (an API
// stage's <apiId>.execute-api.localhost). It returns false for hosts that are not its own.
type HostServer interface {
	ServeHost(w http.ResponseWriter, r *http.Request) bool
}

// AdminServer is a room with admin endpoints under /_localcloud/ (never counted, never
// faulted). It returns false for paths that are not its own.
type AdminServer interface {
	ServeAdmin(w http.ResponseWriter, r *http.Request) bool
}

// Stateless gives a room without state the state methods of Room.
type Stateless struct{}

func (Stateless) Open(*Cloud) error                                 { return nil }
func (Stateless) Save() error                                       { return nil }
func (Stateless) Close()                                            {}
func (Stateless) Resources(func(map[string]string) bool) []Resource { return nil }
