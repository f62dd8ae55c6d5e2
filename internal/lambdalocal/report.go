package lambdalocal

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Report is an invocation's REPORT line as Lambda writes it, from measurements. The emulator's
// own REPORT line is dropped: it states the configured memory as Max Memory Used and the time
// to start the runtime process (not to its first /next) as Init Duration.
type Report struct {
	RequestID string
	// Duration runs from sending the event to the emulator to reading the whole answer, less
	// InitDuration when this invocation started the runtime.
	Duration     time.Duration
	MemorySizeMB int // configured
	// MaxMemoryUsedMB is the peak RSS of the environment's process tree during the invocation
	// (memory_linux.go says how); 0 = not measured (no /proc, or the runtime was killed).
	MaxMemoryUsedMB int
	// InitDuration is the runtime's init, from its exec to its first /next, as the emulator's
	// rapid measured it ("INIT REPORT"); only on the invocation that ran it, else 0.
	InitDuration time.Duration
}

// BilledDuration is Duration rounded up to the millisecond (at least 1 ms), as Lambda bills.
func (r Report) BilledDuration() time.Duration {
	ms := math.Ceil(float64(r.Duration) / float64(time.Millisecond))
	return time.Duration(max(ms, 1)) * time.Millisecond
}

// String is the line: fields tab-separated in Lambda's order; unmeasured ones left out.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB",
		r.RequestID, float64(r.Duration)/float64(time.Millisecond), r.BilledDuration().Milliseconds(), r.MemorySizeMB)
	if r.MaxMemoryUsedMB > 0 {
		fmt.Fprintf(&b, "\tMax Memory Used: %d MB", r.MaxMemoryUsedMB)
	}
	if r.InitDuration > 0 {
		fmt.Fprintf(&b, "\tInit Duration: %.2f ms", float64(r.InitDuration)/float64(time.Millisecond))
	}
	return b.String()
}

// kibToMB rounds KiB to whole MB (Lambda's MB are MiB).
func kibToMB(kib int64) int { return int((kib + 512) / 1024) }

// rieReportID returns the request id of the emulator's own REPORT line.
func rieReportID(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "REPORT RequestId: ")
	if !ok {
		return "", false
	}
	id, _, _ := strings.Cut(rest, "\t")
	return strings.TrimSpace(id), true
}

// rieInitDuration parses rapid's "[INFO] (rapid) INIT REPORT(durationMs: 179.503000)".
func rieInitDuration(line string) (time.Duration, bool) {
	_, rest, ok := strings.Cut(line, "(rapid) INIT REPORT(durationMs: ")
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, ")")
	ms, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || ms < 0 {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// isRapidInfo tells the emulator's INFO lines (INIT START, INVOKE RTDONE, ...), which it prints
// at the level we run it with to get INIT REPORT, and which Lambda's log does not have.
func isRapidInfo(line string) bool { return strings.Contains(line, "[INFO] (rapid) ") }
