package backendnodes

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkNodesDeploy measures `deploy nodes --count N` from no nodes to every node
// serving behind the public ALB (shared resources included), for N = 1, 3 and 10, on one
// topology; then events/s through the ALB with 1 and 3 nodes (accepted by the gateways and
// delivered to the sink, each exactly once), from one client sending batches one after
// another and from parallelClients clients at once. Run:
//
//	go test ./backendnodes -run '^$' -bench NodesDeploy -benchtime 1x -v
//
// The log holds each deploy's progress with the seconds since its start (the profile of
// where the time goes) and the CPU time the test's process tree spent on it
// (docs/BENCHMARKS.md).
func BenchmarkNodesDeploy(b *testing.B) {
	ctx := context.Background()
	top := startTopology(b, "bench")
	for _, n := range []int{1, 3, 10} {
		cpu0 := treeCPU()
		start := time.Now()
		progress := timedProgress(b, top, n)
		took := time.Since(start)
		cpu := treeCPU() - cpu0
		b.ReportMetric(took.Seconds(), "s/deploy-"+itoa(n))
		b.Logf("deploy --count %d from none: %s; CPU time of the test's process tree: %.1f s (%.1f cores busy on average)\n%s",
			n, took.Round(time.Millisecond), cpu.Seconds(), cpu.Seconds()/took.Seconds(), progress)
		if n <= 3 {
			r, err := GetEndpoints(ctx, top.cl, "bench")
			if err != nil {
				b.Fatal(err)
			}
			measureEvents(b, top, r.URL, n, 1, 200)
			measureEvents(b, top, r.URL, n, parallelClients, 50)
		}
		if _, err := Destroy(ctx, top.cl, "bench", testRegion, false, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// parallelClients is the parallel load generator's number of clients.
const parallelClients = 16

// measureEvents sends batches of 10 events through the public ALB from clients at once,
// each perClient batches one after another, then waits until all of them reached the
// sink (each exactly once) and logs both rates.
func measureEvents(b *testing.B, top *topology, url string, nodes, clients, perClient int) {
	b.Helper()
	const size = 10
	snd := newSender(url)
	start := time.Now()
	var wg sync.WaitGroup
	refused := 0
	var mu sync.Mutex
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perClient {
				if !snd.send(size) {
					mu.Lock()
					refused++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if refused > 0 {
		b.Fatalf("%d nodes, %d clients: %d batches refused by the ALB", nodes, clients, refused)
	}
	accepted := time.Since(start)
	ids := snd.ids()
	top.waitArrived(b, ids, 5*time.Minute)
	delivered := time.Since(start)
	events := float64(len(ids))
	b.ReportMetric(events/delivered.Seconds(), fmt.Sprintf("events/s-%dnodes-%dclients", nodes, clients))
	b.Logf("%d nodes, %d clients: %d events accepted in %s (%.0f events/s), all at the sink exactly once after %s (%.0f events/s end to end)",
		nodes, clients, len(ids), accepted.Round(time.Millisecond), events/accepted.Seconds(), delivered.Round(time.Millisecond), events/delivered.Seconds())
}

// timedProgress deploys n nodes and returns the progress, each line prefixed with the
// seconds since the deploy began.
func timedProgress(b *testing.B, top *topology, n int) string {
	b.Helper()
	w := &stampWriter{start: time.Now()}
	if _, err := Deploy(context.Background(), top.cl, nodesInput(b, "bench", n, "60s"), false, w); err != nil {
		b.Fatalf("deploy nodes --count %d: %v\n%s", n, err, w.String())
	}
	return w.String()
}

// stampWriter keeps what is written, each line prefixed with the time since start.
type stampWriter struct {
	start time.Time
	mu    sync.Mutex
	buf   bytes.Buffer
	mid   bool // the last write did not end its line
}

func (w *stampWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		if !w.mid {
			fmt.Fprintf(&w.buf, "%6.2fs ", time.Since(w.start).Seconds())
		}
		w.buf.WriteString(line)
		w.mid = !strings.HasSuffix(line, "\n")
	}
	return len(p), nil
}

func (w *stampWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// treeCPU is the CPU time (user + system) spent so far by this process, its children
// that ended, and every live descendant (PostgreSQL servers, nodes, sidecars, Node.js
// transformers, with their ended children).
func treeCPU() time.Duration {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	total := tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
	parent := map[int]int{}
	ticks := map[int]int64{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17)
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 15 {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		parent[pid], _ = strconv.Atoi(fields[1])
		var t int64
		for _, k := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseInt(fields[k], 10, 64)
			t += v
		}
		ticks[pid] = t
	}
	me := os.Getpid()
	for pid := range ticks {
		if pid != me && descends(pid, me, parent) {
			total += time.Duration(ticks[pid]) * time.Second / 100 // USER_HZ
		}
	}
	return total
}

func descends(pid, root int, parent map[int]int) bool {
	for seen := 0; pid > 1 && seen < 64; seen++ {
		pid = parent[pid]
		if pid == root {
			return true
		}
	}
	return false
}

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

func itoa(n int) string { return strconv.Itoa(n) }
