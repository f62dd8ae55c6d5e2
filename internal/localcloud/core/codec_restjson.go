package core

// The restJson protocol (Lambda, API Gateway v2): the operation is the method and path,
// JSON in and out, the error code in X-Amzn-Errortype.

// RestJSON answers with a JSON document.
func (q *Request) RestJSON(status int, v any) { q.WriteJSON(status, "application/json", v) }

// RestJSONError answers with an error: the code in X-Amzn-Errortype, body the service's
// error document.
func (q *Request) RestJSONError(status int, code string, body any) {
	q.W.Header().Set("X-Amzn-Errortype", code)
	q.WriteJSON(status, "application/json", body)
}
