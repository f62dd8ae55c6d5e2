package lambda

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

func (s *statementRec) doc() map[string]any {
	var principal any = map[string]string{"Service": s.Principal}
	switch {
	case s.Principal == "*":
		principal = "*"
	case regexp.MustCompile(`^\d{12}$`).MatchString(s.Principal):
		principal = map[string]string{"AWS": "arn:aws:iam::" + s.Principal + ":root"}
	case strings.HasPrefix(s.Principal, "arn:"):
		principal = map[string]string{"AWS": s.Principal}
	}
	d := map[string]any{"Sid": s.Sid, "Effect": "Allow", "Principal": principal, "Action": s.Action, "Resource": s.Resource}
	cond := map[string]any{}
	if s.SourceArn != "" {
		cond["ArnLike"] = map[string]string{"AWS:SourceArn": s.SourceArn}
	}
	if s.SourceAccount != "" {
		cond["StringEquals"] = map[string]string{"AWS:SourceAccount": s.SourceAccount}
	}
	if len(cond) > 0 {
		d["Condition"] = cond
	}
	return d
}

func (r *Room) addPermission(q *core.Request, f *functionRec, qual string) {
	var in struct {
		StatementId, Action, Principal, SourceArn, SourceAccount, RevisionId string
	}
	if !decode(q, &in) {
		return
	}
	if !regexp.MustCompile(`^[a-zA-Z0-9-_.]{1,100}$`).MatchString(in.StatementId) {
		invalidParam(q, "1 validation error detected: Value '"+in.StatementId+"' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)")
		return
	}
	if in.Action == "" || in.Principal == "" {
		invalidParam(q, "Action and Principal are required")
		return
	}
	if !checkRevision(q, in.RevisionId, f.PolicyRevs[qual]) {
		return
	}
	for _, s := range f.Policies[qual] {
		if s.Sid == in.StatementId {
			lambdaError(q, http.StatusConflict, "ResourceConflictException", "The statement id ("+in.StatementId+") provided already exists. Please provide a new statement id, or remove the existing statement.")
			return
		}
	}
	s := &statementRec{Sid: in.StatementId, Action: in.Action, Principal: in.Principal, SourceArn: in.SourceArn, SourceAccount: in.SourceAccount, Resource: f.qualifiedARN(qual)}
	f.Policies[qual] = append(f.Policies[qual], s)
	f.PolicyRevs[qual] = core.NewRequestID()
	r.commitLocked()
	b, _ := json.Marshal(s.doc())
	q.RestJSON(http.StatusCreated, map[string]string{"Statement": string(b)})
}

func getPolicy(q *core.Request, f *functionRec, qual string) {
	stmts := f.Policies[qual]
	if len(stmts) == 0 {
		lambdaError(q, http.StatusNotFound, "ResourceNotFoundException", "The resource you requested does not exist.")
		return
	}
	docs := make([]any, 0, len(stmts))
	for _, s := range stmts {
		docs = append(docs, s.doc())
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": docs})
	q.RestJSON(http.StatusOK, map[string]string{"Policy": string(b), "RevisionId": f.PolicyRevs[qual]})
}

func (r *Room) removePermission(q *core.Request, f *functionRec, qual string) {
	sid := pathArg(q)
	if !checkRevision(q, q.R.URL.Query().Get("RevisionId"), f.PolicyRevs[qual]) {
		return
	}
	stmts := f.Policies[qual]
	for i, s := range stmts {
		if s.Sid == sid {
			f.Policies[qual] = append(stmts[:i:i], stmts[i+1:]...)
			if len(f.Policies[qual]) == 0 {
				delete(f.Policies, qual)
			}
			f.PolicyRevs[qual] = core.NewRequestID()
			r.commitLocked()
			q.NoContent(http.StatusNoContent)
			return
		}
	}
	lambdaError(q, http.StatusNotFound, "ResourceNotFoundException", "Statement "+sid+" is not found in resource policy.")
}
