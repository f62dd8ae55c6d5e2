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

var errUnbuilt = errors.New("taskrun: not built yet")

// Runner starts and stops tasks.
type Runner struct{ o Options }

// New makes a Runner; it checks the image map and the sandbox mode.
func New(o Options) (*Runner, error) { return nil, errUnbuilt }

// Mode is the sandbox in use: "netns" or "loopback".
func (r *Runner) Mode() string { return "" }

// Close stops every task and removes every sandbox the runner made.
func (r *Runner) Close() {}

// Start starts a task's containers; an image that cannot be resolved is a *StartError
// (CannotPullContainerError). The task runs until Stop or until an essential container exits.
func (r *Runner) Start(ctx context.Context, spec Spec) (*Task, error) { return nil, errUnbuilt }

// Task is a running (or stopped) task.
type Task struct{}

// IP is the task's private address (in loopback mode, 127.0.0.1).
func (t *Task) IP() string { return "" }

// Addr is where a container port of the task is reached from the host (the load balancer
// dials it): the task's IP and the same port, or 127.0.0.1 and a port of its own.
func (t *Task) Addr(containerPort int) (ip string, port int) { return "", 0 }

// Done is closed when the task has stopped.
func (t *Task) Done() <-chan struct{} { return nil }

// Stopped tells why the task stopped ("Essential container in task exited", or the
// reason given to Stop) and how each container ended. Valid after Done.
func (t *Task) Stopped() (reason string, containers []ContainerExit) { return "", nil }

// Health is the task's health from its containers' checks: "HEALTHY", "UNHEALTHY" or
// "UNKNOWN" (no check, or still in its start period).
func (t *Task) Health() string { return "UNKNOWN" }

// Pid is the process id of a container's main process (0 when not running); tests kill it.
func (t *Task) Pid(container string) int { return 0 }

// Stop stops the task (SIGTERM, then SIGKILL after StopTimeout) and waits until it stopped.
func (t *Task) Stop(reason string) {}
