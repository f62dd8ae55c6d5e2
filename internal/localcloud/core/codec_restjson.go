package core

// The restJson protocol (Lambda, API Gateway v2): the operation is the method and path,
// JSON in and out, the error code in X-Amzn-Errortype.

import "net/http"

// RestJSON answers with a JSON document.
func (q *Request) RestJSON(status int, v any) { q.WriteJSON(status, "application/json", v) }

// RestJSONError answers with an error: the code in X-Amzn-Errortype, body the service's
// error document.
func (q *Request) RestJSONError(status int, code string, body any) {
	q.W.Header().Set("X-Amzn-Errortype", code)
	q.WriteJSON(status, "application/json", body)
}

// RestJSONService gives a restJson room (embedding it) Route, Unknown, Throttle and Fail.
type RestJSONService struct {
	// Routes names the operation of a method and path, and its path arguments ("" = none).
	Routes func(method, path string) (string, []string)
	// Error answers an error in the service's error document.
	Error func(q *Request, status int, code, msg string)
	// The codes of an unknown operation and of an injected fault; the message of a throttle.
	UnknownCode, FailCode, ThrottleMsg string
}

// Route names the operation; q.Args is the path's arguments.
func (s RestJSONService) Route(q *Request) (string, bool) {
	op, args := s.Routes(q.R.Method, q.R.URL.Path)
	if op == "" {
		s.Error(q, http.StatusNotFound, s.UnknownCode, "Unknown operation "+q.R.Method+" "+q.R.URL.Path)
		return "", false
	}
	q.Args = args
	return op, true
}

func (s RestJSONService) Unknown(q *Request) {
	s.Error(q, http.StatusNotFound, s.UnknownCode, "Unknown operation "+q.Op)
}

func (s RestJSONService) Throttle(q *Request) {
	q.W.Header().Set("Retry-After", "1")
	s.Error(q, http.StatusTooManyRequests, "TooManyRequestsException", s.ThrottleMsg)
}

func (s RestJSONService) Fail(q *Request) {
	s.Error(q, http.StatusInternalServerError, s.FailCode, "localcloud: injected fault")
}
