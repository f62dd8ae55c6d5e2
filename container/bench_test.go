package container

import (
	"context"
	"net/url"
	"sort"
	"testing"
	"time"
)

// BenchmarkUserFunctions measures, on one deployed stack, the time from deploy start to
// the steady state, and the latency of one /customTransform (the example function) through
// the internal ALB and straight to a task (same request, alternating, same run).
// docs/BENCHMARKS.md: go test ./container -run '^$' -bench UserFunctions -benchtime 1x
func BenchmarkUserFunctions(b *testing.B) {
	for range b.N {
		benchOnce(b)
	}
}

func benchOnce(b *testing.B) {
	ctx := context.Background()
	startCloud(b)
	cl := session(b)
	const stack = "ufbench"
	compiled := workspaceStack(b, cl, stack)
	start := time.Now()
	r, err := Deploy(ctx, cl, testInput(b, stack, goodTag), false, nil)
	if err != nil {
		b.Fatal(err)
	}
	steady := time.Since(start)
	n := NamesFor(stack)
	s, err := cl.ECS().FindService(ctx, n.Cluster, n.Service)
	if err != nil {
		b.Fatal(err)
	}
	ts, err := cl.ELBv2().TargetHealth(ctx, s.TargetGroup)
	if err != nil || len(ts) == 0 {
		b.Fatalf("targets %v, %v", ts, err)
	}
	direct := "http://" + ts[0].ID + ":9090"
	viaALB, viaTask := newUserFunction(r.URL, compiled), newUserFunction(direct, compiled)
	for range 20 { // warm: code fetched and cached in both tasks, connections open
		if _, err := viaALB.call(); err != nil {
			b.Fatal(err)
		}
		if _, err := viaTask.call(); err != nil {
			b.Fatal(err)
		}
	}
	const rounds = 500
	var alb, task []time.Duration
	for range rounds {
		for _, u := range []*userFunction{viaALB, viaTask} {
			t0 := time.Now()
			if _, err := u.call(); err != nil {
				b.Fatal(err)
			}
			if u == viaALB {
				alb = append(alb, time.Since(t0))
			} else {
				task = append(task, time.Since(t0))
			}
		}
	}
	host, _ := url.Parse(r.URL)
	b.Logf("deploy to steady state %s; ALB %s p50 %s p99 %s; task %s p50 %s p99 %s (%d requests each)", steady.Round(time.Millisecond),
		host.Host, pct(alb, 50), pct(alb, 99), direct, pct(task, 50), pct(task, 99), rounds)
	b.ReportMetric(steady.Seconds(), "s-to-steady")
	b.ReportMetric(float64(pct(alb, 50).Microseconds())/1000, "alb-p50-ms")
	b.ReportMetric(float64(pct(alb, 99).Microseconds())/1000, "alb-p99-ms")
	b.ReportMetric(float64(pct(task, 50).Microseconds())/1000, "task-p50-ms")
	b.ReportMetric(float64(pct(task, 99).Microseconds())/1000, "task-p99-ms")
	if _, err := Destroy(ctx, cl, stack, testRegion, false, nil); err != nil {
		b.Fatal(err)
	}
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, len(s)*p/100)]
}
