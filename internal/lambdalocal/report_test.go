package lambdalocal

import (
	"strings"
	"testing"
	"time"
)

func TestReportString(t *testing.T) {
	r := Report{RequestID: "r1", Duration: 2010 * time.Microsecond, MemorySizeMB: 1024, MaxMemoryUsedMB: 87, InitDuration: 363456 * time.Microsecond}
	want := "REPORT RequestId: r1\tDuration: 2.01 ms\tBilled Duration: 3 ms\tMemory Size: 1024 MB\tMax Memory Used: 87 MB\tInit Duration: 363.46 ms"
	if r.String() != want {
		t.Fatalf("got  %q\nwant %q", r.String(), want)
	}
	// Unmeasured figures are left out; billing rounds up to 1 ms and is at least 1 ms.
	r = Report{RequestID: "r2", Duration: 300 * time.Microsecond, MemorySizeMB: 128}
	want = "REPORT RequestId: r2\tDuration: 0.30 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB"
	if r.String() != want {
		t.Fatalf("got  %q\nwant %q", r.String(), want)
	}
	if d, ok := rieInitDuration("29 Nov 2026 17:58:58,459 [INFO] (rapid) INIT REPORT(durationMs: 179.503000)"); !ok || d != 179503*time.Microsecond {
		t.Fatalf("rieInitDuration = %v %v", d, ok)
	}
}

// reportLines are the REPORT lines the log has for a request id.
func reportLines(sink *logSink, id string) []string {
	sink.mu.Lock()
	defer sink.mu.Unlock()
	var out []string
	for _, l := range sink.lines {
		if strings.HasPrefix(l, "REPORT RequestId: "+id) {
			out = append(out, l)
		}
	}
	return out
}

// TestReportMeasures runs a function whose init takes 300 ms and which maps and touches 200 MiB
// on request, and checks the REPORT lines against what it did.
func TestReportMeasures(t *testing.T) {
	inst, sink := start(t, Function{TaskRoot: taskRoot(t), Runtime: "nodejs22.x", MemoryMB: 1024, Timeout: 60 * time.Second,
		Env: map[string]string{"FN_INIT_SLEEP_MS": "300"}})
	check := func(name string, res Result) Report {
		t.Helper()
		if res.FunctionError != "" {
			t.Fatalf("%s: function error %s", name, res.Payload)
		}
		lines := reportLines(sink, res.Report.RequestID)
		if len(lines) != 1 || lines[0] != res.Report.String() {
			t.Fatalf("%s: the log's REPORT lines for %s are %q, want exactly %q (the emulator's own must be gone)", name, res.Report.RequestID, lines, res.Report.String())
		}
		if res.Report.MemorySizeMB != 1024 || res.Report.Duration <= 0 || res.Report.MaxMemoryUsedMB <= 0 {
			t.Fatalf("%s: %+v", name, res.Report)
		}
		return res.Report
	}

	// Init: appears on the environment's first invocation only, and covers the init's sleep.
	first := check("first", invoke(t, inst, `{"print":"one"}`))
	if first.InitDuration < 300*time.Millisecond || !strings.Contains(first.String(), "\tInit Duration: ") {
		t.Fatalf("first invocation: Init Duration %v, want >= 300 ms (the function sleeps that long at init): %s", first.InitDuration, first)
	}
	second := check("second", invoke(t, inst, `{"print":"two"}`))
	if second.InitDuration != 0 || strings.Contains(second.String(), "Init Duration") {
		t.Fatalf("second invocation has an Init Duration: %s", second)
	}

	// Duration covers the handler's time.
	slow := check("sleep", invoke(t, inst, `{"action":"sleep","ms":250}`))
	if slow.Duration < 250*time.Millisecond || slow.BilledDuration() < slow.Duration || slow.BilledDuration()-slow.Duration >= time.Millisecond {
		t.Fatalf("sleep 250 ms: %s", slow)
	}

	// Memory: the tree's resting peak, then 200 MiB more while the handler holds them.
	base := check("baseline", invoke(t, inst, `{"print":"three"}`)).MaxMemoryUsedMB
	allocRep := check("alloc", invoke(t, inst, `{"action":"alloc","mb":200}`))
	alloc := allocRep.MaxMemoryUsedMB
	want := base + 200
	if diff := alloc - want; diff*10 > want || -diff*10 > want {
		t.Fatalf("Max Memory Used %d MB after touching 200 MiB, want %d MB ± 10%% (baseline %d MB)", alloc, want, base)
	}
	// The peak is per invocation: the next one is back near the baseline.
	after := check("after", invoke(t, inst, `{"print":"four"}`)).MaxMemoryUsedMB
	if after > base+50 {
		t.Fatalf("Max Memory Used %d MB on the invocation after the 200 MiB one, want about the baseline %d MB", after, base)
	}
	t.Logf("alloc took %v; baseline %d MB, with 200 MiB %d MB, after %d MB; init %v", allocRep.Duration, base, alloc, after, first.InitDuration)
}
