package core

// The REST-XML protocol (S3): the operation is the method, path and sub-resource query,
// XML out, errors as <Error><Code>...</Error>.

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
)

// RestXMLError writes the error document; extra are more element name, value pairs.
func (q *Request) RestXMLError(status int, code, msg string, extra ...string) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error>")
	el := func(k, v string) {
		b.WriteString("<" + k + ">")
		_ = xml.EscapeText(&b, []byte(v))
		b.WriteString("</" + k + ">")
	}
	el("Code", code)
	el("Message", msg)
	for i := 0; i+1 < len(extra); i += 2 {
		el(extra[i], extra[i+1])
	}
	el("RequestId", q.RequestID)
	el("HostId", q.RequestID)
	b.WriteString("</Error>")
	q.W.Header().Set("Content-Type", "application/xml")
	q.W.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	q.WriteBody(status, b.Bytes())
}

// RestXML answers with v marshalled as XML.
func (q *Request) RestXML(status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		q.RestXMLError(http.StatusInternalServerError, "InternalError", "localcloud: encode response")
		return
	}
	b = append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), b...)
	q.W.Header().Set("Content-Type", "application/xml")
	q.W.Header().Set("Content-Length", strconv.Itoa(len(b)))
	q.WriteBody(status, b)
}
