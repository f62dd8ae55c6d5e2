package transformer

import (
	"fmt"
	"testing"

	"github.com/rudderctl/rudderctl/internal/localcloud"
)

// BenchmarkNoopRedeploy: a deploy of a stack already in the desired state, against the
// local cloud with its default delays. Reports AWS calls per deploy (all read-only).
func BenchmarkNoopRedeploy(b *testing.B) {
	cloud := startCloud(b, localcloud.Delays{})
	cl := testClients(b)
	zipA := testZip(b, "A")
	mustDeploy(b, cl, "bench-noop", zipA, nil)
	cloud.ResetStats()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := mustDeploy(b, cl, "bench-noop", zipA, nil); r.Changes != 0 {
			b.Fatalf("changes: %v", r.ChangeList)
		}
	}
	b.StopTimer()
	st := cloud.Stats()
	if st.MutatingCalls != 0 {
		b.Fatalf("mutating calls: %v", st.ByOperation)
	}
	b.ReportMetric(float64(st.Calls)/float64(b.N), "calls/op")
}

// BenchmarkFirstDeploy: a fresh stack from nothing, with the local cloud's default
// delays (function Active after 300 ms, a new role usable after 2 s).
func BenchmarkFirstDeploy(b *testing.B) {
	cloud := startCloud(b, localcloud.Delays{})
	cl := testClients(b)
	zipA := testZip(b, "A")
	cloud.ResetStats()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mustDeploy(b, cl, fmt.Sprintf("bench-first-%d", i), zipA, nil)
	}
	b.StopTimer()
	st := cloud.Stats()
	b.ReportMetric(float64(st.Calls)/float64(b.N), "calls/op")
	b.ReportMetric(float64(st.MutatingCalls)/float64(b.N), "mutating/op")
}
