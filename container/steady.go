package container

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
)

// Steady-state polling of a rollout (DescribeServices, as the SDK's ServicesStable waiter
// reads it, but also telling a failed rollout apart from a slow one).
var (
	PollEvery   = time.Second
	SteadyAfter = 30 * time.Minute // give up waiting after this
)

// RolloutError is a rollout the deployment circuit breaker stopped. It says all there is
// to say (engine.Final): running the deploy again would fail the same way.
type RolloutError struct {
	TaskDef, Reason, RolledBackTo string
	Stopped                       []string // "task <id>: <stoppedReason> (<container>: ...)"
}

func (e *RolloutError) Final() {}

func (e *RolloutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the rollout of task definition %s failed", kinds.Revision(e.TaskDef))
	if e.Reason != "" {
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	b.WriteString("\n")
	if len(e.Stopped) > 0 {
		b.WriteString("stopped tasks of that revision:\n")
		for _, s := range e.Stopped {
			b.WriteString("  " + s + "\n")
		}
	}
	if e.RolledBackTo != "" {
		fmt.Fprintf(&b, "the deployment circuit breaker rolled the service back to %s: its tasks keep serving USER_TRANSFORM_URL.\n", kinds.Revision(e.RolledBackTo))
	} else {
		b.WriteString("there was no earlier revision to roll back to: the service has no working tasks.\n")
	}
	b.WriteString("What to do: fix the image or its settings (ecs.image, ecs.tag, ecs.environment in rudderctl.yaml; `rudderctl logs transformer --ecs` shows what the tasks printed) and deploy again.")
	return b.String()
}

// revisionOf is "family:rev" of a task definition ARN.

// waitSteady polls the service until its deployment of taskDef is the only one and runs
// every desired task, or the circuit breaker failed it (a *RolloutError).
func waitSteady(ctx context.Context, c *awsapi.Session, n Names, taskDef string, progress io.Writer) error {
	deadline := time.Now().Add(SteadyAfter)
	last := ""
	start := time.Now()
	for {
		s, err := c.ECS().FindService(ctx, n.Cluster, n.Service)
		if err != nil {
			return err
		}
		mine := deploymentOf(s, taskDef)
		line := progressLine(s, mine)
		if line != last {
			fmt.Fprintf(progress, "  service %s: %s (%s)\n", n.Service, line, time.Since(start).Round(time.Second))
			last = line
		}
		switch {
		case mine != nil && mine.RolloutState == "FAILED":
			return rolloutFailed(ctx, c, n, s, taskDef, mine.RolloutReason)
		case mine == nil && s.Primary() != nil && s.Primary().TaskDef != taskDef:
			// The failed deployment is gone already, replaced by the rollback's.
			return rolloutFailed(ctx, c, n, s, taskDef, "the deployment circuit breaker stopped it: its tasks failed to start or to become healthy")
		case steady(s, taskDef):
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("service %s did not reach a steady state in %s (%s); check `rudderctl status` and `rudderctl logs transformer --ecs`", n.Service, SteadyAfter, line)
		}
		select {
		case <-time.After(PollEvery):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// steady: one deployment, of taskDef, running every desired task (ServicesStable's test,
// plus the revision) and COMPLETED: ECS completes a rollout once its tasks pass the load
// balancer's health checks, so USER_TRANSFORM_URL answers from the new tasks.
func steady(s *ecsapi.Service, taskDef string) bool {
	p := s.Primary()
	return len(s.Deployments) == 1 && p != nil && p.TaskDef == taskDef && p.Running == p.Desired && s.Running == s.Desired &&
		(p.RolloutState == "COMPLETED" || p.RolloutState == "")
}

func deploymentOf(s *ecsapi.Service, taskDef string) *ecsapi.Deployment {
	for i := range s.Deployments {
		if s.Deployments[i].TaskDef == taskDef {
			return &s.Deployments[i]
		}
	}
	return nil
}

func progressLine(s *ecsapi.Service, d *ecsapi.Deployment) string {
	if d == nil {
		return fmt.Sprintf("%d/%d tasks running", s.Running, s.Desired)
	}
	state := strings.ToLower(strings.ReplaceAll(d.RolloutState, "_", " "))
	line := fmt.Sprintf("rollout %s, %d/%d new tasks running", state, d.Running, d.Desired)
	if d.Pending > 0 {
		line += fmt.Sprintf(", %d pending", d.Pending)
	}
	if d.Failed > 0 {
		line += fmt.Sprintf(", %d failed", d.Failed)
	}
	if old := len(s.Deployments) - 1; old > 0 {
		line += fmt.Sprintf(", %d older deployment(s) draining", old)
	}
	return line
}

// rolloutFailed reads the stopped tasks of taskDef and where the service went back to.
func rolloutFailed(ctx context.Context, c *awsapi.Session, n Names, s *ecsapi.Service, taskDef, reason string) error {
	e := &RolloutError{TaskDef: taskDef, Reason: reason}
	if p := s.Primary(); p != nil && p.TaskDef != taskDef {
		e.RolledBackTo = p.TaskDef
	}
	arns, err := c.ECS().TaskARNs(ctx, n.Cluster, n.Service, "STOPPED")
	if err != nil {
		return err
	}
	tasks, err := c.ECS().DescribeTasks(ctx, n.Cluster, arns)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if t.TaskDef == taskDef {
			e.Stopped = append(e.Stopped, describeStopped(t))
		}
	}
	slices.Sort(e.Stopped)
	if len(e.Stopped) > 5 {
		e.Stopped = append(e.Stopped[:5], fmt.Sprintf("... and %d more", len(e.Stopped)-5))
	}
	return e
}

func describeStopped(t ecsapi.Task) string {
	s := "task " + t.ID() + ": " + t.StoppedReason
	for _, c := range t.Containers {
		switch {
		case c.ExitCode != nil:
			s += fmt.Sprintf(" (container %s exited with code %d)", c.Name, *c.ExitCode)
		case c.Reason != "" && c.Reason != t.StoppedReason:
			s += fmt.Sprintf(" (container %s: %s)", c.Name, c.Reason)
		}
	}
	return s
}
