package core

// The query protocol (IAM, STS): form-encoded Action=...&..., answered with XML.

import (
	"net/http"
	"net/url"
	"strings"
)

// XMLBuf builds small XML documents.
type XMLBuf struct{ strings.Builder }

// El writes <name>value</name>, value escaped.
func (b *XMLBuf) El(name, value string) {
	b.WriteString("<" + name + ">")
	b.Esc(value)
	b.WriteString("</" + name + ">")
}

// Open and End write an element's start and end tags.
func (b *XMLBuf) Open(name string) { b.WriteString("<" + name + ">") }
func (b *XMLBuf) End(name string)  { b.WriteString("</" + name + ">") }

// Esc writes s escaped as XML text.
func (b *XMLBuf) Esc(s string) {
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteRune(r)
		}
	}
}

// AWSURLEncode encodes a document the way the query services return policies.
func AWSURLEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// QueryResponse answers a query call: <ActionResponse xmlns=ns><ActionResult>body...
// (no Result element when body is nil) and the request id.
func (q *Request) QueryResponse(ns, action string, body func(b *XMLBuf)) {
	var b XMLBuf
	b.WriteString(`<` + action + `Response xmlns="` + ns + `">`)
	if body != nil {
		b.Open(action + "Result")
		body(&b)
		b.End(action + "Result")
	}
	b.WriteString("<ResponseMetadata><RequestId>" + q.RequestID + "</RequestId></ResponseMetadata>")
	b.End(action + "Response")
	q.W.Header().Set("Content-Type", "text/xml")
	q.WriteBody(http.StatusOK, []byte(b.String()))
}

// QueryError answers a query call with an ErrorResponse; typ is Sender or Receiver.
func (q *Request) QueryError(ns string, status int, code, typ, msg string) {
	var b XMLBuf
	b.WriteString(`<ErrorResponse xmlns="` + ns + `"><Error>`)
	b.El("Type", typ)
	b.El("Code", code)
	b.El("Message", msg)
	b.WriteString("</Error>")
	b.El("RequestId", q.RequestID)
	b.WriteString("</ErrorResponse>")
	q.W.Header().Set("Content-Type", "text/xml")
	q.WriteBody(status, []byte(b.String()))
}

// QueryAction parses the form and names its Action; false = answered (malformed, no Action).
func (q *Request) QueryAction(ns string) (string, bool) {
	if err := q.R.ParseForm(); err != nil {
		q.QueryError(ns, http.StatusBadRequest, "MalformedQueryString", "Sender", err.Error())
		return "", false
	}
	action := q.R.Form.Get("Action")
	if action == "" {
		q.QueryError(ns, http.StatusBadRequest, "MissingAction", "Sender", "Missing Action")
		return "", false
	}
	return action, true
}
