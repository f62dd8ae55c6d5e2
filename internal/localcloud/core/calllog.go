package core

// Call is one AWS API call the cloud answered, in arrival order (see Cloud.Calls).
type Call struct {
	Op       string `json:"op"` // "service:Operation", as in Stats.ByOperation
	Mutating bool   `json:"mutating"`
}

// maxCallLog bounds the ordered log of a long-running cloud; the counters in Stats
// keep counting past it.
const maxCallLog = 100_000

// callLog is the ordered record of calls since the last ResetStats. Guarded by statsMu.
type callLog struct {
	calls   []Call
	dropped int
}

func (l *callLog) add(c Call) {
	if len(l.calls) >= maxCallLog {
		l.dropped++
		return
	}
	l.calls = append(l.calls, c)
}

// CallLog is the ordered call record returned by Cloud.Calls and GET /_localcloud/calls.
type CallLog struct {
	Calls []Call `json:"calls"`
	// Dropped counts the calls past the log's bound (maxCallLog), which are not listed.
	Dropped int `json:"dropped"`
}

// Calls returns the API calls answered since Start or the last ResetStats, in the order
// they arrived (admin endpoints and API-stage traffic excluded, as in Stats). Tests use it
// to check that a deploy makes the same calls in the same order.
func (c *Cloud) Calls() CallLog {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	return CallLog{Calls: append([]Call{}, c.calls.calls...), Dropped: c.calls.dropped}
}
