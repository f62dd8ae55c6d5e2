package core

// The JSON 1.1 protocol (CloudWatch Logs): POST /, X-Amz-Target: Prefix.Operation, JSON in
// and out, errors as {"__type", "message"}.

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
)

const json11 = "application/x-amz-json-1.1"

// JSON11Target names the operation of X-Amz-Target "<prefix>.<Operation>"; false = answered
// (another target).
func (q *Request) JSON11Target(prefix string) (string, bool) {
	target := q.R.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, prefix+".")
	if !ok {
		q.JSON11Error(http.StatusBadRequest, "UnknownOperationException", "Unknown target "+target)
	}
	return op, ok
}

// JSON11Error answers with a JSON 1.1 error.
func (q *Request) JSON11Error(status int, code, msg string) {
	q.WriteJSON(status, json11, map[string]string{"__type": code, "message": msg})
}

// JSON11 answers 200 with a JSON 1.1 document.
func (q *Request) JSON11(v any) { q.WriteJSON(http.StatusOK, json11, v) }

// APIError is a JSON 1.1 service's client error: answered 400 with its code.
type APIError struct{ Code, Msg string }

func (e *APIError) Error() string { return e.Code + ": " + e.Msg }

// JSON11Codes are a JSON 1.1 service's codes for a request body over 1 MiB (TooLarge) and
// for an error that is not an *APIError (Server, answered 500, as an injected fault is).
type JSON11Codes struct{ TooLarge, Server string }

// JSON11Service gives a JSON 1.1 room (embedding it) Guess, Route, Unknown, Throttle and
// Fail: its operations are X-Amz-Target "<Prefix>.<Operation>"; Title names the service in
// the answer to an operation it lacks.
type JSON11Service struct {
	Prefix, Title string
	Codes         JSON11Codes
}

func (s JSON11Service) Guess(req *http.Request) bool {
	return strings.HasPrefix(req.Header.Get("X-Amz-Target"), s.Prefix+".")
}

func (s JSON11Service) Route(q *Request) (string, bool) { return q.JSON11Target(s.Prefix) }

func (s JSON11Service) Unknown(q *Request) {
	q.JSON11Error(http.StatusBadRequest, "UnknownOperationException", "localcloud does not implement "+s.Title+" "+q.Op)
}

func (s JSON11Service) Throttle(q *Request) {
	q.JSON11Error(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
}

func (s JSON11Service) Fail(q *Request) {
	q.JSON11Error(http.StatusInternalServerError, s.Codes.Server, "localcloud: injected fault")
}

// JSON11Op decodes the request into a fresh In and runs h under mu; h's answer is encoded
// under mu too (it may share records with the room's background work). An *APIError is
// answered 400 with its code, another error 500.
func JSON11Op[In any](mu *sync.Mutex, codes JSON11Codes, h func(q *Request, in *In) (any, error)) func(*Request) {
	return func(q *Request) {
		in := new(In)
		b, err := ReadLimited(q.R.Body, 1<<20)
		if err != nil {
			q.JSON11Error(http.StatusBadRequest, codes.TooLarge, "request too large")
			return
		}
		if len(strings.TrimSpace(string(b))) > 0 {
			if err := json.Unmarshal(b, in); err != nil {
				q.JSON11Error(http.StatusBadRequest, "SerializationException", err.Error())
				return
			}
		}
		out, err := func() (any, error) {
			mu.Lock()
			defer mu.Unlock()
			out, err := h(q, in)
			if err != nil {
				return nil, err
			}
			b, err := json.Marshal(out)
			return json.RawMessage(b), err
		}()
		var ae *APIError
		switch {
		case errors.As(err, &ae):
			q.JSON11Error(http.StatusBadRequest, ae.Code, ae.Msg)
		case err != nil:
			q.JSON11Error(http.StatusInternalServerError, codes.Server, err.Error())
		default:
			q.JSON11(out)
		}
	}
}
