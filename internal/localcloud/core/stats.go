package core

import "maps"

// Stats counts the API calls the cloud has answered (admin endpoints and API-stage
// traffic excluded). Operation keys are "service:Operation", e.g. "lambda:CreateFunction".
type Stats struct {
	Calls         int            `json:"calls"`
	MutatingCalls int            `json:"mutating_calls"`
	ByOperation   map[string]int `json:"by_operation"`
	// Injected counts the faults the cloud injected, by kind ("throttle", "error"), so a
	// test can require that the fault it set up really fired.
	Injected map[string]int `json:"injected"`
	// InjectedInto counts them by the operation they hit ("s3:DeleteObject").
	InjectedInto map[string]int `json:"injected_into"`
}

func newStats() Stats {
	return Stats{ByOperation: map[string]int{}, Injected: map[string]int{}, InjectedInto: map[string]int{}}
}

// Stats returns a copy of the call counters.
func (c *Cloud) Stats() Stats {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	return Stats{Calls: c.stats.Calls, MutatingCalls: c.stats.MutatingCalls, ByOperation: maps.Clone(c.stats.ByOperation),
		Injected: maps.Clone(c.stats.Injected), InjectedInto: maps.Clone(c.stats.InjectedInto)}
}

// ResetStats zeroes the call counters.
func (c *Cloud) ResetStats() {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	c.stats = newStats()
	c.calls = callLog{}
}

// countInjected records one injected fault.
func (c *Cloud) countInjected(kind faultKind, op string) {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	c.stats.Injected[kind.String()]++
	c.stats.InjectedInto[op]++
}

func (c *Cloud) count(op string, mutating bool) {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	c.stats.Calls++
	if mutating {
		c.stats.MutatingCalls++
	}
	c.stats.ByOperation[op]++
	c.calls.add(Call{Op: op, Mutating: mutating})
}
