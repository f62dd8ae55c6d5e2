package backendnodes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/logsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
)

// Draining a node before it is removed: out of the public load balancer (no new events),
// then wait until its database has no pending jobs (what it accepted is delivered). The
// database is private: the count is taken inside the VPC by a one-off task of rudderctl's
// own image (`rudderctl nodes pending --json`), read back from its log stream.

// Pending is what `rudderctl nodes pending --json` prints (backendnodes/jobsdb's counts).
type Pending struct {
	Gateway     int64 `json:"gateway"`
	Router      int64 `json:"router"`
	BatchRouter int64 `json:"batch_router"`
	Processor   int64 `json:"processor"`
	Total       int64 `json:"total"`
}

// ErrNotDrained: a node still had pending jobs at the drain timeout. Final: running again
// waits again; --force removes it anyway (losing them).
type ErrNotDrained struct {
	Node    int
	Service string
	Pending int64
	Timeout time.Duration
}

func (e *ErrNotDrained) Final() {}

func (e *ErrNotDrained) Error() string {
	return fmt.Sprintf("scale down refused: node %d (%s) still has %d pending jobs after the drain timeout of %s: removing it now would lose them (its database goes with it). It is back in the load balancer. Fix what keeps it from delivering (`rudderctl logs node %d`; a destination down?), raise nodes.drain_timeout, or pass --force to remove it anyway",
		e.Node, e.Service, e.Pending, e.Timeout, e.Node)
}

type drainKind struct{ r *run }

func (k drainKind) Actions() []engine.Action { return []engine.Action{DrainNode} }

func (k drainKind) Create(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Create(ctx, ch)
}

func (k drainKind) Update(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

func (k drainKind) Delete(ctx context.Context, ch engine.Change) error {
	i, _ := nodeOf(ch)
	return k.r.drain(ctx, i)
}

// drain takes node i out of the load balancer and waits for its pending jobs to reach 0.
func (r *run) drain(ctx context.Context, i int) error {
	node := r.d.Names.Node(i)
	ips, err := r.taskIPs(ctx, node.Service)
	if err != nil {
		return err
	}
	putBack := func() {
		for _, ip := range ips {
			if err := r.c.ELBv2().RegisterTarget(context.WithoutCancel(ctx), r.tg, ip, GatewayPort); err != nil {
				fmt.Fprintf(r.progress, "  node %d: could not put %s back into the load balancer: %v\n", i, ip, err)
			}
		}
	}
	drained := false
	defer func() {
		// A drain that fails leaves the node serving, as it was.
		if !drained && r.tg != "" && len(ips) > 0 {
			putBack()
		}
	}()
	if r.tg != "" {
		for _, ip := range ips {
			if err := r.c.ELBv2().DeregisterTarget(ctx, r.tg, ip, GatewayPort); err != nil && !errors.Is(err, awsapi.ErrNotFound) {
				return err
			}
		}
		fmt.Fprintf(r.progress, "  node %d: out of %s, draining its connections (up to %d s)\n", i, r.d.Names.LoadBalancer, DeregistrationDelay)
		if err := r.waitDeregistered(ctx, ips); err != nil {
			return err
		}
	}
	start := time.Now()
	deadline := start.Add(r.drainFor)
	for {
		p, err := r.pendingJobs(ctx, i)
		if err != nil {
			return err
		}
		fmt.Fprintf(r.progress, "  node %d: %d pending jobs (gateway %d, router %d, batch router %d) after %s\n", i, p.Total, p.Gateway, p.Router, p.BatchRouter, time.Since(start).Round(time.Second))
		if p.Total == 0 {
			drained = true
			return nil
		}
		if time.Now().After(deadline) {
			if r.force {
				fmt.Fprintf(r.progress, "  node %d: --force: removed with %d pending jobs (they are lost; the final snapshot keeps them)\n", i, p.Total)
				drained = true
				return nil
			}
			// Put back (deferred): the refused scale down leaves the stack as it was.
			return &ErrNotDrained{Node: i, Service: node.Service, Pending: p.Total, Timeout: r.drainFor}
		}
		select {
		case <-time.After(DrainPollGap):
		case <-ctx.Done():
			return engine.Plain(ctx.Err())
		}
	}
}

// taskIPs are the addresses of the service's running tasks.
func (r *run) taskIPs(ctx context.Context, service string) ([]string, error) {
	arns, err := r.c.ECS().TaskARNs(ctx, r.d.Names.Cluster, service, "RUNNING")
	if err != nil || len(arns) == 0 {
		return nil, err
	}
	tasks, err := r.c.ECS().DescribeTasks(ctx, r.d.Names.Cluster, arns)
	if err != nil {
		return nil, err
	}
	var ips []string
	for _, t := range tasks {
		if t.IP != "" {
			ips = append(ips, t.IP)
		}
	}
	return ips, nil
}

// waitDeregistered waits until the ALB has forgotten the targets (their draining is over).
func (r *run) waitDeregistered(ctx context.Context, ips []string) error {
	return poll(ctx, time.Duration(DeregistrationDelay)*time.Second+kinds.WaitFor, "the node's targets to drain", func() (bool, error) {
		ts, err := r.c.ELBv2().TargetHealth(ctx, r.tg)
		if err != nil {
			return false, err
		}
		for _, t := range ts {
			for _, ip := range ips {
				if t.ID == ip && t.State != "unused" {
					return false, nil
				}
			}
		}
		return true, nil
	})
}

// pendingJobs runs the one-off task against node i's database and reads its answer.
func (r *run) pendingJobs(ctx context.Context, i int) (*Pending, error) {
	r.mu.Lock()
	db, ok := r.dbs[i]
	role := r.role
	r.mu.Unlock()
	if !ok || db.Address == "" {
		return nil, engine.Plain(fmt.Errorf("node %d: its database has no endpoint to count pending jobs in", i))
	}
	if r.d.In.Image == "" {
		return nil, engine.Plain(fmt.Errorf("node %d: rudderctl's own image is not in the stack's repository, so the pending-jobs task cannot run; run rudderctl deploy transformer --ecs", i))
	}
	td, err := r.c.ECS().RegisterTaskDefinition(ctx, r.d.pendingTaskDefSpec(i, role, db))
	if err != nil {
		return nil, err
	}
	since := time.Now().Add(-time.Minute).UnixMilli()
	t, err := r.c.ECS().RunTask(ctx, ecsapi.RunTaskSpec{Cluster: r.d.Names.Cluster, TaskDef: td.ARN, Subnets: r.d.Net.Subnets,
		SecurityGroups: []string{r.groups.Get("nodes")}, StartedBy: "rudderctl-drain", Tags: r.d.Names.Tags()})
	if err != nil {
		return nil, err
	}
	var stopped ecsapi.Task
	err = poll(ctx, kinds.WaitFor+time.Minute, "the pending-jobs task to finish", func() (bool, error) {
		ts, err := r.c.ECS().DescribeTasks(ctx, r.d.Names.Cluster, []string{t.ARN})
		if err != nil || len(ts) == 0 {
			return false, err
		}
		stopped = ts[0]
		return ts[0].LastStatus == "STOPPED", nil
	})
	if err != nil {
		return nil, err
	}
	out, err := r.taskOutput(ctx, t.ID(), since)
	if err != nil {
		return nil, err
	}
	var p Pending
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		return nil, engine.Plain(fmt.Errorf("node %d: the pending-jobs task %s did not report a count (stopped: %s %s); its last line: %q", i, t.ID(), stopped.StopCode, stopped.StoppedReason, out))
	}
	return &p, nil
}

// taskOutput is the last JSON line the task's container wrote to its log stream.
func (r *run) taskOutput(ctx context.Context, taskID string, since int64) (string, error) {
	last := ""
	err := poll(ctx, time.Minute, "the pending-jobs task's log", func() (bool, error) {
		err := r.c.Logs().FilterEvents(ctx, r.d.Names.LogGroup, since, func(e logsapi.Event) error {
			if strings.HasSuffix(e.Stream, "/"+taskID) && strings.HasPrefix(strings.TrimSpace(e.Message), "{") {
				last = strings.TrimSpace(e.Message)
			}
			return nil
		})
		return last != "", err
	})
	return last, err
}
