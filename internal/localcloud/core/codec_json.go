package core

// The JSON 1.1 protocol (CloudWatch Logs): POST /, X-Amz-Target: Prefix.Operation, JSON in
// and out, errors as {"__type", "message"}.

import (
	"net/http"
	"strings"
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
