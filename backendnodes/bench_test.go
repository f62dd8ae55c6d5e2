package backendnodes

import (
	"context"
	"io"
	"strconv"
	"testing"
	"time"
)

// BenchmarkNodesDeploy measures `deploy nodes --count N` from no nodes to every node
// serving behind the public ALB (shared resources included), for N = 1, 3 and 10, on one
// topology; then events/s through the ALB with 1 and 3 nodes (accepted by the gateways and
// delivered to the sink). Run: go test ./backendnodes -run '^$' -bench NodesDeploy -benchtime 1x
// (docs/BENCHMARKS.md).
func BenchmarkNodesDeploy(b *testing.B) {
	ctx := context.Background()
	top := startTopology(b, "bench")
	for _, n := range []int{1, 3, 10} {
		start := time.Now()
		top.deploy(b, nodesInput(b, "bench", n, "60s"))
		b.ReportMetric(time.Since(start).Seconds(), "s/deploy-"+itoa(n))
		b.Logf("deploy --count %d from none: %s", n, time.Since(start).Round(time.Millisecond))
		if n <= 3 {
			r, err := GetEndpoints(ctx, top.cl, "bench")
			if err != nil {
				b.Fatal(err)
			}
			snd := newSender(r.URL)
			const batches, size = 200, 10
			start = time.Now()
			for range batches {
				if !snd.send(size) {
					b.Fatal("a batch was refused")
				}
			}
			accepted := time.Since(start)
			top.waitArrived(b, snd.ids(), 5*time.Minute)
			delivered := time.Since(start)
			b.Logf("%d nodes: %d events accepted in %s (%.0f events/s), all at the sink after %s (%.0f events/s end to end)",
				n, batches*size, accepted.Round(time.Millisecond), float64(batches*size)/accepted.Seconds(), delivered.Round(time.Millisecond), float64(batches*size)/delivered.Seconds())
		}
		if _, err := Destroy(ctx, top.cl, "bench", testRegion, false, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
