package lambdalocal

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"
)

// How Max Memory Used is measured (docs/LOCALCLOUD.md, "REPORT lines"): at the start of an
// invocation the peak-RSS counter (VmHWM) of every known process of the environment (the
// emulator and what was below it after the previous invocation) is reset to its current RSS
// (writing 5 to /proc/PID/clear_refs); at the end each one's VmHWM is its peak during the
// invocation. The figure is the sum of those peaks: exact when one process grows (the app), an
// upper bound of the tree's true peak when several peak at different moments. The tree is walked
// again after the answer (off the request's path) to know the processes for the next
// invocation, and at the end of an invocation that started the runtime or lost a process, so a
// runtime born during the invocation counts with its whole life. A process started during a
// warm invocation counts only through the sampler (every memSampleEvery, from memSampleEvery
// on), as do processes that exit before the end.

// memSampleEvery is how often a running invocation's tree is read, so processes that exit before
// the end still count. Short invocations (the common case) are never sampled.
const memSampleEvery = 100 * time.Millisecond

// childPIDs lists the direct children of pid from /proc/PID/task/*/children: one small read per
// thread instead of a scan of every process on the machine. ok is false where the kernel has no
// such files (CONFIG_PROC_CHILDREN off).
func childPIDs(pid int) (kids []int, ok bool) {
	base := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, err := os.ReadDir(base)
	if err != nil {
		return nil, true // gone: no children
	}
	for _, t := range tasks {
		b, err := os.ReadFile(base + t.Name() + "/children")
		if err != nil {
			if os.IsNotExist(err) {
				if _, serr := os.Stat(base + t.Name()); serr == nil {
					return nil, false // the task exists, the file does not: unsupported
				}
			}
			continue // the thread exited meanwhile
		}
		for _, f := range bytes.Fields(b) {
			if n, err := strconv.Atoi(string(f)); err == nil {
				kids = append(kids, n)
			}
		}
	}
	return kids, true
}

// treePIDs is every live process below root (not root itself).
func treePIDs(root int) ([]int, bool) {
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		kids, ok := childPIDs(queue[0])
		if !ok {
			return nil, false
		}
		queue = append(queue[1:], kids...)
		out = append(out, kids...)
	}
	return out, true
}

// resetPeakRSS sets a process's VmHWM back to its current RSS.
func resetPeakRSS(pid int) error {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
}

// peakRSSKiB reads VmHWM (kB) from /proc/PID/status.
func peakRSSKiB(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	_, rest, ok := bytes.Cut(b, []byte("\nVmHWM:"))
	if !ok {
		return 0, false // a zombie, or a kernel thread
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(f[0]), 10, 64)
	return n, err == nil
}

// memWatch measures the peak RSS of a process tree over one invocation.
type memWatch struct {
	root  int
	known []int // the processes below root at the last look
	ok    bool  // peaks could be reset: the figure means something

	mu    sync.Mutex
	peaks map[int]int64 // KiB, the highest VmHWM seen per pid

	stop chan struct{}
	done chan struct{}
}

// watchMemory resets the peak RSS of root and of the known processes below it and starts
// sampling.
func watchMemory(root int, known []int) *memWatch {
	w := &memWatch{root: root, known: known, peaks: map[int]int64{}, stop: make(chan struct{}), done: make(chan struct{})}
	w.ok = resetPeakRSS(root) == nil
	for _, p := range known {
		_ = resetPeakRSS(p) // a process that exited meanwhile is noticed at the end
	}
	go w.sample()
	return w
}

// walkTree lists the processes below root.
func walkTree(root int) []int {
	if pids, ok := treePIDs(root); ok {
		return pids
	}
	return pidsOf(descendants(root))
}

func pidsOf(ps []procInfo) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.pid
	}
	return out
}

func (w *memWatch) sample() {
	defer close(w.done)
	t := time.NewTicker(memSampleEvery)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.read(walkTree(w.root))
		}
	}
}

// read records the current VmHWM of root and pids; false if one of pids is gone.
func (w *memWatch) read(pids []int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	all := true
	for _, p := range append(pids, w.root) {
		kib, ok := peakRSSKiB(p)
		if !ok {
			all = false
			continue
		}
		w.peaks[p] = max(w.peaks[p], kib)
	}
	return all
}

// finish stops sampling, reads the known processes once more (and walks the tree when asked
// to, or when one of them is gone) and returns the sum of the peaks in KiB; ok is false when
// the figure cannot be trusted (peaks could not be reset).
func (w *memWatch) finish(walk bool) (int64, bool) {
	close(w.stop)
	<-w.done
	if !w.read(w.known) || walk || len(w.known) == 0 {
		w.read(walkTree(w.root))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var sum int64
	for _, kib := range w.peaks {
		sum += kib
	}
	return sum, w.ok && sum > 0
}
