// Package taskrun runs the local cloud's ECS tasks as real processes. Each task gets a
// sandbox with an address of its own (a network namespace made by the runner, or distinct
// loopback ports where that is not possible), so two tasks of one service listen on the
// same container port side by side and the containers of one task share localhost. An
// upstream image is mapped to a local program by the image map; an image of the local ECR
// runs from its own unpacked layers.
//
// The ECS room decides when tasks start and stop (services, deployments, health); this
// package only runs them and reports what happened.
package taskrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// Options configures a Runner.
type Options struct {
	Dir      string      // working directory for sandboxes and unpacked apps (under the state dir)
	ImageMap string      // image map file ("" = no upstream image is mapped)
	Sandbox  string      // "netns", "loopback" or "" (netns when root)
	Images   core.Images // the local ECR; nil = none
	Logf     func(format string, args ...any)
	// Bridge are host loopback endpoints (host:port) bridged into every namespace.
	Bridge []string
}

// Spec is one task to start.
type Spec struct {
	TaskID      string // the task's id (the last part of its ARN)
	SubnetCIDR  string // the address comes from here (netns mode)
	Containers  []Container
	StopTimeout time.Duration // SIGTERM -> SIGKILL (ECS default 30s)
}

// Container is one container of a task definition, with its environment resolved.
type Container struct {
	Name        string
	Image       string
	EntryPoint  []string
	Command     []string
	Env         map[string]string // environment and resolved secrets
	WorkingDir  string
	Ports       []int // container ports of the port mappings
	Essential   bool
	HealthCheck *HealthCheck
	Log         func(line string) // every line the container prints (stdout and stderr)
}

// HealthCheck is a container health check (ECS: CMD or CMD-SHELL, run inside the task).
type HealthCheck struct {
	Command     []string
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}

// ContainerExit is how one container ended.
type ContainerExit struct {
	Name     string
	ExitCode *int   // nil when it never started
	Reason   string // e.g. "CannotPullContainerError: ..."
}

// StartError is a task that could not start; Reason is ECS's stoppedReason wording.
type StartError struct{ Reason string }

func (e *StartError) Error() string { return e.Reason }

// Sandbox modes.
const (
	ModeNetns    = "netns"
	ModeLoopback = "loopback"
)

// DefaultStopTimeout is ECS's stopTimeout default: SIGTERM, then SIGKILL 30 s later.
const DefaultStopTimeout = 30 * time.Second

// Runner starts and stops tasks.
type Runner struct {
	o      Options
	mode   string
	images []mapEntry

	mu     sync.Mutex
	tasks  map[*Task]bool
	nodes  map[int]string // Node major -> node binary
	closed bool
}

// New makes a Runner; it checks the image map and the sandbox mode.
func New(o Options) (*Runner, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Dir == "" {
		return nil, errors.New("taskrun: no working directory: Options.Dir is empty; pass a directory under the local cloud's state dir")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	o.Dir = dir
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("taskrun: cannot create its directory %s: %v; check the state dir is writable", o.Dir, err)
	}
	images, err := loadImageMap(o.ImageMap)
	if err != nil {
		return nil, err
	}
	mode, why, err := chooseMode(o.Sandbox)
	if err != nil {
		return nil, err
	}
	r := &Runner{o: o, mode: mode, images: images, tasks: map[*Task]bool{}, nodes: map[int]string{}}
	if mode == ModeNetns {
		r.removeStaleSandboxes()
	} else {
		o.Logf("taskrun: loopback sandbox in use (%s): each task gets 127.0.0.1 and a free port per container port, passed in the image map's portEnv", why)
	}
	return r, nil
}

// Mode is the sandbox in use: "netns" or "loopback".
func (r *Runner) Mode() string { return r.mode }

// Close stops every task and removes every sandbox the runner made.
func (r *Runner) Close() {
	r.mu.Lock()
	r.closed = true
	tasks := make([]*Task, 0, len(r.tasks))
	for t := range r.tasks {
		tasks = append(tasks, t)
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Add(1)
		go func() { defer wg.Done(); t.Stop("Local cloud shut down") }()
	}
	wg.Wait()
}

// Start starts a task's containers; an image that cannot be resolved is a *StartError
// (CannotPullContainerError). The task runs until Stop or until an essential container exits.
// ctx bounds the start only (e.g. fetching a Node distribution), not the task's life.
func (r *Runner) Start(ctx context.Context, spec Spec) (*Task, error) {
	if len(spec.Containers) == 0 {
		return nil, &StartError{Reason: "CannotStartContainerError: the task has no containers"}
	}
	progs := make([]program, len(spec.Containers))
	for i, c := range spec.Containers {
		p, err := r.resolve(ctx, c)
		if err != nil {
			return nil, err
		}
		progs[i] = p
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, errors.New("taskrun: the runner is closed")
	}
	t := newTask(r, spec)
	if err := t.start(progs); err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		t.Stop("Local cloud shut down")
		return nil, errors.New("taskrun: the runner is closed")
	}
	r.tasks[t] = true
	r.mu.Unlock()
	go func() {
		<-t.done
		r.mu.Lock()
		delete(r.tasks, t)
		r.mu.Unlock()
	}()
	return t, nil
}

// IP is the task's private address (in loopback mode, 127.0.0.1).
func (t *Task) IP() string { return t.ip }

// Addr is where a container port of the task is reached from the host (the load balancer
// dials it): the task's IP and the same port, or 127.0.0.1 and a port of its own (0 when
// the port is not one of the task's container ports).
func (t *Task) Addr(containerPort int) (ip string, port int) {
	if t.sb != nil {
		return t.ip, containerPort
	}
	return t.ip, t.hostPorts[containerPort]
}

// Done is closed when the task has stopped.
func (t *Task) Done() <-chan struct{} { return t.done }

// Stopped tells why the task stopped ("Essential container in task exited", or the
// reason given to Stop) and how each container ended. Valid after Done.
func (t *Task) Stopped() (reason string, containers []ContainerExit) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]ContainerExit, len(t.conts))
	for i, c := range t.conts {
		out[i] = ContainerExit{Name: c.c.Name, ExitCode: c.exitCode, Reason: c.reason}
	}
	return t.reason, out
}

// Health is the task's health from its containers' checks: "HEALTHY", "UNHEALTHY" or
// "UNKNOWN" (no check, or still in its start period). Only essential containers count,
// as in ECS.
func (t *Task) Health() string {
	checked, healthy := 0, 0
	for _, c := range t.conts {
		if c.health == nil || !c.c.Essential {
			continue
		}
		checked++
		switch c.health.get() {
		case healthUnhealthy:
			return healthUnhealthy
		case healthHealthy:
			healthy++
		}
	}
	if checked > 0 && healthy == checked {
		return healthHealthy
	}
	return healthUnknown
}

// ContainerHealth is one container's health ("UNKNOWN" without a check).
func (t *Task) ContainerHealth(container string) string {
	for _, c := range t.conts {
		if c.c.Name == container && c.health != nil {
			return c.health.get()
		}
	}
	return healthUnknown
}

// Pid is the process id of a container's main process (0 when not running); tests kill it.
func (t *Task) Pid(container string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.conts {
		if c.c.Name == container && c.running {
			return c.pid
		}
	}
	return 0
}

// Stop stops the task (SIGTERM, then SIGKILL after StopTimeout) and waits until it stopped.
func (t *Task) Stop(reason string) {
	t.stopOnce.Do(func() {
		t.mu.Lock()
		if t.reason == "" {
			t.reason = reason
		}
		t.mu.Unlock()
		close(t.stopReq)
	})
	<-t.done
}
