package core

// The EC2 protocol (ec2query): form-encoded Action=...&Version=2016-11-15 like the query
// protocol, but lists are flat (Filter.1.Value.1, GroupId.1) and the answer has no
// <ActionResult> wrapper: <ActionResponse xmlns=...><requestId>..</requestId>...; errors
// are <Response><Errors><Error><Code>..</Code><Message>..</Message></Error></Errors>.

import "net/http"

// EC2Namespace is the xmlns of EC2's answers.
const EC2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// EC2Response answers an EC2 call: <ActionResponse><requestId/>body...</ActionResponse>.
func (q *Request) EC2Response(action string, body func(b *XMLBuf)) {
	var b XMLBuf
	b.WriteString(`<` + action + `Response xmlns="` + EC2Namespace + `">`)
	b.El("requestId", q.RequestID)
	if body != nil {
		body(&b)
	}
	b.End(action + "Response")
	q.W.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	q.WriteBody(http.StatusOK, []byte(b.String()))
}

// EC2Error answers an EC2 call with EC2's error document.
func (q *Request) EC2Error(status int, code, msg string) {
	var b XMLBuf
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>`)
	b.El("Code", code)
	b.El("Message", msg)
	b.WriteString("</Error></Errors>")
	b.El("RequestID", q.RequestID)
	b.WriteString("</Response>")
	q.W.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	q.WriteBody(status, []byte(b.String()))
}

// EC2Action parses the form and names its Action; false = answered (malformed, no Action),
// in EC2's error shape.
func (q *Request) EC2Action() (string, bool) {
	if err := q.R.ParseForm(); err != nil {
		q.EC2Error(http.StatusBadRequest, "MalformedQueryString", err.Error())
		return "", false
	}
	action := q.R.Form.Get("Action")
	if action == "" {
		q.EC2Error(http.StatusBadRequest, "MissingAction", "The request must contain the parameter Action")
		return "", false
	}
	return action, true
}
