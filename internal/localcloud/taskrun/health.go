package taskrun

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Health states (ECS's healthStatus values).
const (
	healthHealthy   = "HEALTHY"
	healthUnhealthy = "UNHEALTHY"
	healthUnknown   = "UNKNOWN"
)

// ECS's health check defaults.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 5 * time.Second
	defaultHealthRetries  = 3
)

type healthState struct {
	mu     sync.Mutex
	status string
	fails  int
}

func (h *healthState) get() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status
}

// record applies one probe as Docker does: a success is HEALTHY; a failure counts only
// after the start period, and Retries failures in a row are UNHEALTHY.
func (h *healthState) record(ok, inStartPeriod bool, retries int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case ok:
		h.status, h.fails = healthHealthy, 0
	case inStartPeriod:
	default:
		h.fails++
		if h.fails >= retries {
			h.status = healthUnhealthy
		}
	}
}

// watchHealth runs a container's health check every Interval until the container or the
// task ends.
func (t *Task) watchHealth(ct *container) {
	hc := *ct.c.HealthCheck
	if hc.Interval <= 0 {
		hc.Interval = defaultHealthInterval
	}
	if hc.Timeout <= 0 {
		hc.Timeout = defaultHealthTimeout
	}
	if hc.Retries <= 0 {
		hc.Retries = defaultHealthRetries
	}
	started := time.Now()
	tick := time.NewTicker(hc.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ct.exited:
			return
		case <-t.stopReq:
			return
		case <-tick.C:
		}
		ok := t.probe(ct, hc)
		ct.health.record(ok, time.Since(started) < hc.StartPeriod, hc.Retries)
	}
}

// probe runs the check once inside the task's sandbox: CMD-SHELL with /bin/sh -c, CMD as
// is; exit 0 within Timeout is healthy.
func (t *Task) probe(ct *container, hc HealthCheck) bool {
	argv := t.healthArgv(hc.Command)
	if len(argv) == 0 {
		return false
	}
	cmd := t.command(ct, argv, t.env(ct), ct.prog.dir)
	if err := spawn(cmd); err != nil {
		return false
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err == nil
	case <-time.After(hc.Timeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return false
	}
}

// healthArgv turns an ECS health check command into argv. In loopback mode a task's
// container ports live on other host ports, so localhost:<container port> in the command
// is rewritten to the port the task really has.
func (t *Task) healthArgv(command []string) []string {
	if len(command) < 2 {
		return nil
	}
	var argv []string
	switch command[0] {
	case "CMD-SHELL":
		argv = []string{"/bin/sh", "-c", strings.Join(command[1:], " ")}
	case "CMD":
		argv = append([]string{}, command[1:]...)
	default:
		return nil
	}
	if t.sb == nil {
		for i := range argv {
			argv[i] = t.rewriteLoopbackPorts(argv[i])
		}
	}
	return argv
}

var localPortRef = regexp.MustCompile(`\b(localhost|127\.0\.0\.1):(\d{1,5})\b`)

func (t *Task) rewriteLoopbackPorts(s string) string {
	return localPortRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := localPortRef.FindStringSubmatch(m)
		p, _ := strconv.Atoi(sub[2])
		if hp, ok := t.hostPorts[p]; ok {
			return sub[1] + ":" + strconv.Itoa(hp)
		}
		return m
	})
}
