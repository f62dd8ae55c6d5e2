package core

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"time"
)

type faultKind int

const (
	faultNone faultKind = iota
	faultThrottle
	faultError
)

func (k faultKind) String() string {
	switch k {
	case faultThrottle:
		return "throttle"
	case faultError:
		return "error"
	}
	return "none"
}

// faults is a parsed fault SPEC.
type faults struct {
	spec         string
	throttle     float64
	errRate      float64
	latency      time.Duration
	failMutating int // 0 = off; the Nth mutating call from when the spec was set fails once
	mutSeen      int
	rng          *rand.Rand
}

func parseFaults(spec string) (*faults, error) {
	f := &faults{spec: spec}
	seed := time.Now().UnixNano()
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" || part == "none" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("fault %q: want KEY=VALUE (throttle=0.2, error=0.05, latency=20ms, fail-mutating=7, seed=42)", part)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "throttle", "error":
			p, err := strconv.ParseFloat(v, 64)
			if err != nil || p < 0 || p > 1 {
				return nil, fmt.Errorf("fault %s=%s: want a probability between 0 and 1", k, v)
			}
			if k == "throttle" {
				f.throttle = p
			} else {
				f.errRate = p
			}
		case "latency":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("fault latency=%s: want a duration like 20ms", v)
			}
			f.latency = d
		case "fail-mutating":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("fault fail-mutating=%s: want a call number (1 = the next mutating call)", v)
			}
			f.failMutating = n
		case "seed":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("fault seed=%s: want an integer", v)
			}
			seed = n
		default:
			return nil, fmt.Errorf("unknown fault %q (known: throttle, error, latency, fail-mutating, seed)", k)
		}
	}
	f.rng = rand.New(rand.NewSource(seed))
	return f, nil
}

// SetFaults replaces the fault SPEC: comma-separated throttle=P, error=P, latency=D,
// fail-mutating=N, seed=S. "" turns faults off.
func (c *Cloud) SetFaults(spec string) error {
	f, err := parseFaults(spec)
	if err != nil {
		return err
	}
	c.faultsMu.Lock()
	c.faults = f
	c.faultsMu.Unlock()
	return nil
}

// decideFault picks the fault (if any) for one API call.
func (c *Cloud) decideFault(mutating bool) (faultKind, time.Duration) {
	c.faultsMu.Lock()
	defer c.faultsMu.Unlock()
	f := c.faults
	if f == nil {
		return faultNone, 0
	}
	if mutating && f.failMutating > 0 {
		f.mutSeen++
		if f.mutSeen == f.failMutating {
			f.failMutating = 0
			return faultError, f.latency
		}
	}
	if f.throttle > 0 && f.rng.Float64() < f.throttle {
		return faultThrottle, f.latency
	}
	if f.errRate > 0 && f.rng.Float64() < f.errRate {
		return faultError, f.latency
	}
	return faultNone, f.latency
}
