package backendnodes

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkNodesDeploy measures `deploy nodes --count N` from no nodes to every node
// serving behind the public ALB (shared resources included), for N = 1, 3 and 10, on one
// topology (1 first and again last: the first deploy also makes the local RDS's
// template); then events/s through the ALB with 1 and 3 nodes (accepted by the gateways and
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
	// The first deploy on a new local cloud also makes its RDS template (one initdb);
	// the last one deploys a node again on the warm cloud, as 3 and 10 did.
	for k, n := range benchCounts(b) {
		waitNodesReaped(b)
		cpu0 := treeCPU()
		stopProfile := cpuProfile(b, n)
		watch := watchEnded(os.Getenv("RUDDERCTL_BENCH_CPUPROFILE") != "")
		start := time.Now()
		progress := timedProgress(b, top, n)
		took := time.Since(start)
		stopProfile()
		cpu, byProgram := treeCPU().since(cpu0)
		for prog, d := range watch(cpu0) {
			byProgram[prog] = d
		}
		metric := "s/deploy-" + itoa(n)
		if k == 0 {
			metric += "-first"
		}
		b.ReportMetric(took.Seconds(), metric)
		b.Logf("deploy --count %d from none: %s; CPU time of the test's process tree: %.1f s (%.1f cores busy on average)\n%s%s",
			n, took.Round(time.Millisecond), cpu.Seconds(), cpu.Seconds()/took.Seconds(), cpuTable(byProgram), progress)
		if n <= 3 && k < 2 {
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

// benchCounts are the node counts deployed in turn: 1, 3, 10, 1, or those of
// RUDDERCTL_BENCH_COUNTS (e.g. "1,10") to profile one.
func benchCounts(b *testing.B) []int {
	env := os.Getenv("RUDDERCTL_BENCH_COUNTS")
	if env == "" {
		return []int{1, 3, 10, 1}
	}
	var counts []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("RUDDERCTL_BENCH_COUNTS=%q: want node counts like 1,3,10", env)
		}
		counts = append(counts, n)
	}
	return counts
}

// cpuProfile writes the test process's CPU profile of one deploy (the local cloud and
// the deploy itself) to $RUDDERCTL_BENCH_CPUPROFILE/deploy-<n>.pprof when that is set.
func cpuProfile(b *testing.B, n int) (stop func()) {
	dir := os.Getenv("RUDDERCTL_BENCH_CPUPROFILE")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("deploy-%d.pprof", n)))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
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
	cpu0 := treeCPU()
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
	cpu, byProgram := treeCPU().since(cpu0)
	events := float64(len(ids))
	b.ReportMetric(events/delivered.Seconds(), fmt.Sprintf("events/s-%dnodes-%dclients", nodes, clients))
	b.Logf("%d nodes, %d clients: %d events accepted in %s (%.0f events/s), all at the sink exactly once after %s (%.0f events/s end to end); CPU time of the test's process tree %.1f s (%.2f cores busy, %.2f ms per event)\n%s",
		nodes, clients, len(ids), accepted.Round(time.Millisecond), events/accepted.Seconds(), delivered.Round(time.Millisecond), events/delivered.Seconds(),
		cpu.Seconds(), cpu.Seconds()/delivered.Seconds(), 1000*cpu.Seconds()/events, cpuTable(byProgram))
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

// waitNodesReaped waits until the processes of the nodes destroyed before (their
// PostgreSQL servers, backends) are gone and reaped, so that their CPU time is not
// counted in the next deploy's.
func waitNodesReaped(b *testing.B) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		left := 0
		for key := range treeCPU() {
			comm := strings.SplitN(key, "\x00", 2)[0]
			if comm == "postgres" || strings.HasPrefix(comm, "rudder-standin") {
				left++
			}
		}
		if left == 0 {
			time.Sleep(500 * time.Millisecond)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.Log("the destroyed nodes' processes are still there after 30 s: the CPU times below include theirs")
}

// watchEnded, when on, samples the process tree every 250 ms until stopped, then returns
// the CPU time of the processes that ended meanwhile (as last seen, since earlier), by
// program: whose the ended children's time was. (The sampling costs CPU of its own.)
func watchEnded(on bool) (stop func(earlier cpuSample) map[string]time.Duration) {
	if !on {
		return func(cpuSample) map[string]time.Duration { return nil }
	}
	last := cpuSample{}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			for k, v := range treeCPU() {
				last[k] = v
			}
			select {
			case <-done:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return func(earlier cpuSample) map[string]time.Duration {
		close(done)
		<-stopped
		now := treeCPU()
		out := map[string]time.Duration{}
		for k, v := range last {
			if _, alive := now[k]; alive || k == selfCPU || k == endedCPU {
				continue
			}
			if d := v - earlier[k]; d > 0 {
				out["  of which ended: "+strings.SplitN(k, "\x00", 2)[0]] += d
			}
		}
		return out
	}
}

// cpuSample is the CPU time spent so far by this process (the local cloud and the
// deploy), its children that ended, and each live descendant (PostgreSQL servers, nodes,
// sidecars, Node.js transformers, with their own ended children), by process.
type cpuSample map[string]time.Duration

const (
	selfCPU  = "the test process (local cloud, deploy, sink)"
	endedCPU = "processes that ended (initdb, Lambda environments, ...)"
)

func treeCPU() cpuSample {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	out := cpuSample{selfCPU: tv(self.Utime) + tv(self.Stime), endedCPU: tv(kids.Utime) + tv(kids.Stime)}
	type proc struct {
		ppid      int
		comm, key string
		ticks     int64
	}
	procs := map[int]proc{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17) ... starttime(22)
		s := string(b)
		open, i := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || i < open {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 20 {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		p := proc{comm: s[open+1 : i]}
		p.ppid, _ = strconv.Atoi(fields[1])
		for _, k := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseInt(fields[k], 10, 64)
			p.ticks += v
		}
		p.key = p.comm + "\x00" + strconv.Itoa(pid) + "\x00" + fields[19] // pid and start time: one process
		procs[pid] = p
	}
	me := os.Getpid()
	for _, p := range procs {
		for q, seen := p.ppid, 0; q > 1 && seen < 64; q, seen = procs[q].ppid, seen+1 {
			if q == me {
				out[p.key] = time.Duration(p.ticks) * time.Second / 100 // USER_HZ
				break
			}
		}
	}
	return out
}

// since is the CPU time spent since earlier, in total and by program. A process that
// was running at earlier and ended since brings its whole life's CPU time into its
// parent's ended children: the part before earlier is taken off again.
func (s cpuSample) since(earlier cpuSample) (total time.Duration, byProgram map[string]time.Duration) {
	byProgram = map[string]time.Duration{}
	for k, v := range s {
		d := v - earlier[k]
		if k == endedCPU {
			for gone, before := range earlier {
				if _, alive := s[gone]; !alive {
					d -= before
				}
			}
		}
		if d <= 0 {
			continue
		}
		total += d
		byProgram[strings.SplitN(k, "\x00", 2)[0]] += d
	}
	return total, byProgram
}

// cpuTable lists the programs' CPU time, most first.
func cpuTable(byProgram map[string]time.Duration) string {
	names := make([]string, 0, len(byProgram))
	for n := range byProgram {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return byProgram[names[i]] > byProgram[names[j]] })
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "  %6.2f s  %s\n", byProgram[n].Seconds(), n)
	}
	return b.String()
}

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

func itoa(n int) string { return strconv.Itoa(n) }
