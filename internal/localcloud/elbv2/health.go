package elbv2

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// healthLoop runs the active health checks and ends draining, every 100 ms, until stop.
func (r *Room) healthLoop(stop, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			r.healthTick(time.Now())
		}
	}
}

// healthTick removes targets whose deregistration delay is over and starts the checks
// that are due: each target of a group in use, every HealthCheckIntervalSeconds.
func (r *Room) healthTick(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for _, tg := range r.st.TargetGroups {
		n := len(tg.Targets)
		tg.Targets = slices.DeleteFunc(tg.Targets, func(t *targetRec) bool {
			return t.State == "draining" && !now.Before(t.DrainUntil)
		})
		changed = changed || n != len(tg.Targets)
		if !tg.HealthCheck.Enabled || len(r.lbsOf(tg.ARN)) == 0 {
			continue
		}
		for _, t := range tg.Targets {
			if t.State == "draining" || t.checking || now.Before(t.nextCheck) {
				continue
			}
			t.checking = true
			t.nextCheck = now.Add(time.Duration(tg.HealthCheck.Interval) * time.Second)
			r.probes.Add(1)
			go r.probe(r.ctx, tg.ARN, t, tg.HealthCheck)
		}
	}
	if changed {
		r.commitLocked()
	}
}

// probe runs one health check of a target and records its result.
func (r *Room) probe(ctx context.Context, tgARN string, t *targetRec, hc healthCheck) {
	defer r.probes.Done()
	port := strconv.Itoa(t.Port)
	if hc.Port != "traffic-port" {
		port = hc.Port
	}
	ok, reason, detail := check(ctx, "http://"+net.JoinHostPort(t.IP, port)+hc.Path, hc)
	r.mu.Lock()
	defer r.mu.Unlock()
	t.checking = false
	if ctx.Err() != nil {
		return // the cloud is closing
	}
	tg := r.st.TargetGroups[tgARN]
	if tg == nil || tg.target(t.IP, t.Port) != t || t.State == "draining" {
		return
	}
	r.recordLocked(tg, t, ok, reason, detail)
}

// check is one health check request: a GET that must answer a matching code within the
// timeout. Redirects are not followed (their code is matched, as ELB does).
func check(ctx context.Context, url string, hc healthCheck) (ok bool, reason, detail string) {
	client := &http.Client{
		Timeout:       time.Duration(hc.Timeout) * time.Second,
		Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil, DialContext: dialer.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, "Target.FailedHealthChecks", "Health checks failed"
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return false, "Target.Timeout", "Request timed out"
		}
		return false, "Target.FailedHealthChecks", "Health checks failed"
	}
	resp.Body.Close()
	if !matchCode(hc.Matcher, resp.StatusCode) {
		return false, "Target.ResponseCodeMismatch", fmt.Sprintf("Health checks failed with these codes: [%d]", resp.StatusCode)
	}
	return true, "", ""
}

// recordLocked moves a target between initial, healthy and unhealthy by the group's
// thresholds of consecutive results.
func (r *Room) recordLocked(tg *tgRec, t *targetRec, ok bool, reason, detail string) {
	if ok {
		t.okRun, t.failRun = t.okRun+1, 0
	} else {
		t.okRun, t.failRun = 0, t.failRun+1
	}
	hc := tg.HealthCheck
	from := t.State
	switch {
	case ok && t.State != "healthy" && t.okRun >= hc.Healthy:
		t.setState("healthy", "", "")
	case !ok && t.State != "unhealthy" && t.failRun >= hc.Unhealthy:
		t.setState("unhealthy", reason, detail)
	case !ok && t.State == "unhealthy":
		t.Reason, t.Detail = reason, detail
	case t.State == "initial" && t.Reason == "Elb.RegistrationInProgress":
		t.Reason, t.Detail = "Elb.InitialHealthChecking", "Initial health checks in progress"
	}
	if t.State != from {
		r.cloud.Logf("elbv2: target %s of %s: %s -> %s %s", t.addr(), tg.Name, from, t.State, t.Reason)
		r.commitLocked()
	}
}
