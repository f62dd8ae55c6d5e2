package packaging

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/apigwlocal"
	"github.com/rudderctl/rudderctl/internal/lambdalocal"
	"github.com/rudderctl/rudderctl/internal/nodedist"
	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// SmokeResult says whether the packaged app came up (Report.Smoke).
type SmokeResult struct {
	OK      bool   `json:"ok"`
	Skipped string `json:"skipped,omitempty"` // why it did not run
	Millis  int64  `json:"ms"`                // from the invocation to the health answer (cold start)
	Status  int    `json:"status,omitempty"`  // HTTP status of the health path
}

// Smoke-start settings. The readiness wait is longer than Lambda's 10 s init so that a busy
// build machine does not fail an app that starts; a slow start is reported as a warning.
const (
	smokeReadyTimeout = 60 * time.Second
	smokeSlowInit     = 9 * time.Second
	smokeTailLines    = 40
)

// smokeStart runs the zip the way Lambda will: unpacked into a task root, under the Runtime
// Interface Emulator with the exec wrapper, the adapter and the runtime's Node, and sends one
// API Gateway (payload 2.0) GET of the manifest's health path through it. A failure carries
// the last lines the app (and the emulator) printed.
func smokeStart(ctx context.Context, zipPath, work string, o Options, dist func() (nodedist.Dist, error), pr io.Writer) (*SmokeResult, error) {
	if !sameArch(o.Arch) {
		why := fmt.Sprintf("the zip is for %s and this machine is %s: its adapter and native modules cannot run here", o.Arch, hostLambdaArch())
		fmt.Fprintf(pr, "package: smoke start skipped: %s\n", why)
		return &SmokeResult{Skipped: why}, nil
	}
	d, err := dist()
	if err != nil {
		return nil, err
	}
	rie, err := lambdalocal.ResolveRIE(ctx)
	if err != nil {
		return nil, fmt.Errorf("smoke start: %w; or pass --no-smoke to skip it", err)
	}
	task := filepath.Join(work, "smoke-task")
	if err := lambdalocal.Unzip(zipPath, task); err != nil {
		return nil, err
	}
	m, err := lambdalocal.ReadManifest(task)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(pr, "package: smoke start: running the zip under the Lambda Runtime Interface Emulator with Node %s, GET %s\n", d.Version, m.HealthPath)
	out := &lineTail{max: smokeTailLines}
	inst, err := lambdalocal.Start(ctx, lambdalocal.Function{
		Name:     "rudderctl-package-smoke",
		TaskRoot: task,
		Runtime:  o.Runtime,
		Arch:     o.Arch,
		Handler:  Handler,
		Env: map[string]string{
			"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/" + manifest.WrapperName,
			"RUDDERCTL_READY_TIMEOUT": smokeReadyTimeout.String(),
		},
		Timeout:  smokeReadyTimeout,
		MemoryMB: DefaultMemoryMB,
	}, lambdalocal.Options{Node: d.Node, RIE: rie, Log: out.add})
	if err != nil {
		return nil, fmt.Errorf("smoke start: %w", err)
	}
	defer inst.Close()

	req, err := http.NewRequest(http.MethodGet, "http://smoke.local"+m.HealthPath, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "rudderctl-package-smoke")
	ev, err := apigwlocal.BuildEvent(req, nil, apigwlocal.EventContext{RouteKey: "$default", Stage: "$default", APIID: "smoke", RequestID: "smoke", AccountID: "000000000000"})
	if err != nil {
		return nil, err
	}
	ictx, cancel := context.WithTimeout(ctx, smokeReadyTimeout+30*time.Second)
	defer cancel()
	start := time.Now()
	res, err := inst.Invoke(ictx, ev)
	ms := time.Since(start).Milliseconds()
	fail := func(what string) error {
		return fmt.Errorf("smoke start failed: the packaged app %s; nothing was written.\nlast lines of its output:\n%s\nfix the app (or what packaging left out: --keep GLOB), or pass --no-smoke to skip this check", what, indent(out.String()))
	}
	if err != nil {
		return nil, fail(fmt.Sprintf("could not be invoked (%v)", err))
	}
	if res.FunctionError != "" {
		return nil, fail(fmt.Sprintf("did not come up: %s", strings.TrimSpace(string(res.Payload))))
	}
	resp, err := apigwlocal.ParseResponse(res.Payload)
	if err != nil {
		return nil, fail(fmt.Sprintf("answered GET %s with something API Gateway cannot use (%v)", m.HealthPath, err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fail(fmt.Sprintf("answered GET %s with %d: %s", m.HealthPath, resp.StatusCode, truncateStr(resp.Body, 300)))
	}
	fmt.Fprintf(pr, "package: smoke start ok: GET %s answered 200 in %d ms (cold start)\n", m.HealthPath, ms)
	return &SmokeResult{OK: true, Millis: ms, Status: resp.StatusCode}, nil
}

// lineTail keeps the last lines of output.
type lineTail struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (t *lineTail) add(l string) {
	if strings.Contains(l, "(rapid)") && !strings.Contains(l, "error=") {
		return // the emulator's own chatter; its "Init failed error=..." line stays
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, l)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *lineTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return "(no output)"
	}
	return strings.Join(t.lines, "\n")
}

func indent(s string) string { return "  | " + strings.ReplaceAll(s, "\n", "\n  | ") }

func truncateStr(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
