// Package sts is the local cloud's STS (query protocol): GetCallerIdentity.
package sts

import (
	"net/http"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

const ns = "https://sts.amazonaws.com/doc/2011-06-15/"

// Room is STS. It has no state.
type Room struct{ core.Stateless }

// New returns the STS room.
func New() *Room { return &Room{} }

func (*Room) Name() string { return "sts" }

func (r *Room) Ops() []core.Op {
	return []core.Op{core.Read("GetCallerIdentity", getCallerIdentity)}
}

func (*Room) Route(q *core.Request) (string, bool) { return q.QueryAction(ns) }

func (*Room) Unknown(q *core.Request) {
	q.QueryError(ns, http.StatusBadRequest, "InvalidAction", "Sender", "Could not find operation "+q.Op+" for version 2011-06-15")
}

func (*Room) Throttle(q *core.Request) {
	q.QueryError(ns, http.StatusBadRequest, "Throttling", "Sender", "Rate exceeded")
}

func (*Room) Fail(q *core.Request) {
	q.QueryError(ns, http.StatusInternalServerError, "InternalFailure", "Receiver", "localcloud: injected fault")
}

func getCallerIdentity(q *core.Request) {
	q.QueryResponse(ns, "GetCallerIdentity", func(b *core.XMLBuf) {
		b.El("Arn", "arn:aws:iam::"+core.AccountID+":root")
		b.El("UserId", core.AccountID)
		b.El("Account", core.AccountID)
	})
}
