package ecs

import (
	"sort"
	"time"
)

// The service scheduler: one goroutine per room that, every Tick, watches the health of
// running tasks, finishes draining, and brings each service towards its primary
// deployment (scheduler's rules in docs/LOCALCLOUD.md, "ECS").

// Tick is how often the scheduler runs (tests may lower it before the cloud starts).
var Tick = 200 * time.Millisecond

// BackoffStep is the wait before launching again after a task of a service failed,
// times the failures in a row (capped at MaxBackoff), as ECS throttles a service whose
// tasks keep failing.
var (
	BackoffStep = time.Second
	MaxBackoff  = 30 * time.Second
)

type launchBackoff struct {
	failures int
	until    time.Time
}

func (r *Room) backoffLocked(svc string) {
	b := r.backoff[svc]
	if b == nil {
		b = &launchBackoff{}
		r.backoff[svc] = b
	}
	b.failures++
	b.until = time.Now().Add(min(time.Duration(b.failures)*BackoffStep, MaxBackoff))
}

func (r *Room) scheduler() {
	defer r.wg.Done()
	t := time.NewTicker(Tick)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
			r.mu.Lock()
			r.tickLocked()
			if r.dirty {
				r.commitLocked()
			}
			r.mu.Unlock()
		}
	}
}

func (r *Room) tickLocked() {
	for _, arn := range sortedTaskARNs(r.st.Tasks) {
		t := r.st.Tasks[arn]
		switch {
		case t.LastStatus == "RUNNING" && t.DesiredStatus == "RUNNING":
			r.checkHealthLocked(t)
		case t.LastStatus == "DEACTIVATING":
			r.finishDrainLocked(t)
		}
	}
	for _, arn := range sortedKeys(r.st.Services) {
		r.reconcileLocked(r.st.Services[arn])
	}
	r.pruneLocked()
}

func sortedTaskARNs(m map[string]*taskRec) []string { return sortedKeys(m) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkHealthLocked reads a running task's health: its containers' checks and its targets.
// A service task that fails either after the grace period is stopped (and replaced).
func (r *Room) checkHealthLocked(t *taskRec) {
	h := r.live[t.TaskArn]
	if h == nil {
		return
	}
	ch := h.Health()
	if ch != t.HealthStatus {
		t.HealthStatus = ch
		r.dirty = true
	}
	v := r.revisionByARN(t.TaskDefinitionArn)
	hasCheck := false
	if v != nil {
		for _, c := range v.view().ContainerDefinitions {
			if c.HealthCheck != nil {
				hasCheck = true
				for _, cr := range t.Containers {
					if cr.Name == c.Name {
						cr.HealthStatus = ch
					}
				}
			}
		}
	}
	s := r.st.Services[t.Service]
	inGrace := false
	if s != nil {
		inGrace = time.Since(fromEpoch(t.StartedAt)) < time.Duration(s.HealthCheckGracePeriodSeconds)*time.Second
	}
	targetsHealthy := true
	for _, tg := range t.Targets {
		state := "unused"
		if r.targets != nil {
			state = r.targets.TargetHealth(tg.TargetGroupArn, tg.IP, tg.Port)
		}
		if state == "unhealthy" && s != nil && !inGrace {
			s.eventLocked("(task %s) failed ELB health checks in (target-group %s).", t.id(), tg.TargetGroupArn)
			r.stopTaskLocked(t, "Task failed ELB health checks in (target-group "+tg.TargetGroupArn+")", stopScheduler, true)
			return
		}
		targetsHealthy = targetsHealthy && state == "healthy"
	}
	if ch == "UNHEALTHY" && s != nil && !inGrace {
		s.eventLocked("(task %s) failed container health checks.", t.id())
		r.stopTaskLocked(t, "Task failed container health checks", stopScheduler, true)
		return
	}
	if targetsHealthy && (!hasCheck || ch == "HEALTHY") && !t.Healthy {
		t.Healthy = true
		r.dirty = true
		if s != nil {
			delete(r.backoff, s.ServiceArn)
		}
	}
}

// finishDrainLocked stops a deactivating task's processes once every target group
// forgot it (its deregistration delay passed).
func (r *Room) finishDrainLocked(t *taskRec) {
	if r.targets != nil {
		for _, tg := range t.Targets {
			if r.targets.TargetHealth(tg.TargetGroupArn, tg.IP, tg.Port) != "unused" {
				return
			}
		}
	}
	r.haltLocked(t)
}

// circuitBreakerThreshold is ECS's failure threshold for a deployment of desired tasks.
func circuitBreakerThreshold(desired int) int {
	return max(3, min(200, (desired+1)/2))
}

// reconcileLocked brings a service one step towards its primary deployment.
func (r *Room) reconcileLocked(s *serviceRec) {
	if s.Status == "INACTIVE" {
		return
	}
	var all, live []*taskRec // all: not STOPPED; live: not being stopped
	for _, t := range r.st.Tasks {
		if t.Service != s.ServiceArn || t.LastStatus == "STOPPED" {
			continue
		}
		all = append(all, t)
		if t.DesiredStatus == "RUNNING" {
			live = append(live, t)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].CreatedAt < live[j].CreatedAt })
	if s.Status == "DRAINING" {
		r.drainServiceLocked(s, live, len(all))
		return
	}
	p := s.primary()
	if p == nil {
		return
	}
	if p = r.circuitBreakerLocked(s, p); p == nil {
		return
	}
	var mine, old []*taskRec
	for _, t := range live {
		if t.DeploymentID == p.Id {
			mine = append(mine, t)
		} else {
			old = append(old, t)
		}
	}
	d := s.DesiredCount
	maxTotal := d * *s.DeploymentConfiguration.MaximumPercent / 100
	minHealthy := (d**s.DeploymentConfiguration.MinimumHealthyPercent + 99) / 100
	r.launchLocked(s, p, d-len(mine), maxTotal-len(all))
	mine = r.scaleInLocked(s, p, mine, d)
	r.retireOldLocked(s, p, live, old, minHealthy)
	r.dropEmptyDeploymentsLocked(s, all)
	r.completeLocked(s, p, mine, live)
}

func (r *Room) drainServiceLocked(s *serviceRec, live []*taskRec, remaining int) {
	for _, t := range live {
		r.stopTaskLocked(t, "Service "+s.ServiceName+" deleted", stopScheduler, false)
	}
	if remaining == 0 {
		s.Status = "INACTIVE"
		for _, d := range s.Deployments {
			d.Status = "INACTIVE"
		}
		r.dirty = true
	}
}

// circuitBreakerLocked fails the primary deployment when its failed tasks reach the
// threshold and, with rollback, starts a deployment of the last completed task
// definition that adopts the tasks still running it. It returns the primary deployment.
func (r *Room) circuitBreakerLocked(s *serviceRec, p *deployment) *deployment {
	cb := s.DeploymentConfiguration.DeploymentCircuitBreaker
	if cb == nil || !cb.Enable || p.RolloutState != "IN_PROGRESS" || p.FailedTasks < circuitBreakerThreshold(s.DesiredCount) {
		return p
	}
	p.RolloutState, p.UpdatedAt = "FAILED", now()
	p.RolloutStateReason = "ECS deployment circuit breaker: tasks failed to start."
	s.eventLocked("(deployment %s) deployment failed: tasks failed to start.", p.Id)
	r.dirty = true
	if !cb.Rollback || s.LastCompleted == "" || s.LastCompleted == p.TaskDefinition {
		return p
	}
	s.TaskDefinition = s.LastCompleted
	back := newDeployment(s)
	p.Status = "ACTIVE"
	p.RolloutStateReason = "ECS deployment circuit breaker: rolling back to deploymentId " + back.Id + "."
	for _, d := range s.Deployments {
		if d.Status == "PRIMARY" {
			d.Status = "ACTIVE"
		}
	}
	s.Deployments = append([]*deployment{back}, s.Deployments...)
	for _, t := range r.st.Tasks {
		if t.Service == s.ServiceArn && t.LastStatus != "STOPPED" && t.DeploymentID != p.Id && t.TaskDefinitionArn == back.TaskDefinition {
			t.DeploymentID = back.Id
		}
	}
	s.eventLocked("rolling back to deployment %s.", back.Id)
	return back
}

// launchLocked starts up to n tasks of the primary deployment, within room more tasks
// (maximumPercent), unless the deployment failed or the service is backing off.
func (r *Room) launchLocked(s *serviceRec, p *deployment, n, room int) {
	n = min(n, room)
	if n <= 0 || p.RolloutState == "FAILED" {
		return
	}
	if b := r.backoff[s.ServiceArn]; b != nil && time.Now().Before(b.until) {
		return
	}
	v := r.revisionByARN(p.TaskDefinition)
	cl := r.st.Clusters[s.ClusterArn]
	if v == nil || cl == nil {
		return
	}
	var ids []string
	for range n {
		t := r.newTaskLocked(taskStart{region: s.Region, cluster: cl, rev: v, network: s.NetworkConfiguration,
			group: "service:" + s.ServiceName, startedBy: p.Id, tags: r.propagatedTags(s, v),
			service: s, deploy: p})
		ids = append(ids, t.id())
	}
	s.Steady = false
	s.eventLocked("has started %d tasks: %s.", n, taskList(ids))
}

func (r *Room) propagatedTags(s *serviceRec, v *revisionRec) []tag {
	switch s.PropagateTags {
	case "SERVICE":
		return append([]tag{}, s.Tags...)
	case "TASK_DEFINITION":
		return append([]tag{}, v.Tags...)
	}
	return nil
}

// scaleInLocked stops the primary deployment's tasks beyond the desired count (those not
// yet healthy first) and returns the ones kept.
func (r *Room) scaleInLocked(s *serviceRec, p *deployment, mine []*taskRec, d int) []*taskRec {
	if len(mine) <= d {
		return mine
	}
	sort.SliceStable(mine, func(i, j int) bool { return !mine[i].Healthy && mine[j].Healthy })
	extra := mine[:len(mine)-d]
	var ids []string
	for _, t := range extra {
		r.stopTaskLocked(t, "Scaling activity initiated by (deployment "+p.Id+")", stopScheduler, false)
		ids = append(ids, t.id())
	}
	s.eventLocked("has stopped %d running tasks: %s.", len(ids), taskList(ids))
	return mine[len(mine)-d:]
}

// retireOldLocked stops the tasks of older deployments: those not healthy at once, the
// healthy ones while the healthy tasks stay at minimumHealthyPercent or more.
func (r *Room) retireOldLocked(s *serviceRec, p *deployment, live, old []*taskRec, minHealthy int) {
	healthy := 0
	for _, t := range live {
		if t.Healthy && t.LastStatus == "RUNNING" {
			healthy++
		}
	}
	sort.SliceStable(old, func(i, j int) bool { return !old[i].Healthy && old[j].Healthy })
	var ids []string
	for _, t := range old {
		ok := t.Healthy && t.LastStatus == "RUNNING"
		if ok && healthy-1 < minHealthy {
			continue
		}
		if ok {
			healthy--
		}
		r.stopTaskLocked(t, "Scaling activity initiated by (deployment "+p.Id+")", stopScheduler, false)
		ids = append(ids, t.id())
	}
	if len(ids) > 0 {
		s.eventLocked("has stopped %d running tasks: %s.", len(ids), taskList(ids))
	}
}

// dropEmptyDeploymentsLocked forgets the older deployments whose tasks all stopped.
func (r *Room) dropEmptyDeploymentsLocked(s *serviceRec, all []*taskRec) {
	busy := map[string]bool{}
	for _, t := range all {
		busy[t.DeploymentID] = true
	}
	kept := s.Deployments[:0]
	for _, d := range s.Deployments {
		if d.Status == "PRIMARY" || busy[d.Id] {
			kept = append(kept, d)
		} else {
			r.dirty = true
		}
	}
	s.Deployments = kept
}

// completeLocked ends a rollout whose tasks are all running and healthy once no older
// deployment is left, and writes the steady-state event.
func (r *Room) completeLocked(s *serviceRec, p *deployment, mine, live []*taskRec) {
	healthy := 0
	for _, t := range mine {
		if t.Healthy && t.LastStatus == "RUNNING" {
			healthy++
		}
	}
	settled := healthy == s.DesiredCount && len(mine) == s.DesiredCount && len(s.Deployments) == 1 && len(live) == len(mine)
	if !settled {
		return
	}
	if p.RolloutState == "IN_PROGRESS" {
		p.RolloutState, p.UpdatedAt = "COMPLETED", now()
		p.RolloutStateReason = "ECS deployment " + p.Id + " completed."
		s.LastCompleted = p.TaskDefinition
		s.eventLocked("(deployment %s) deployment completed.", p.Id)
		r.dirty = true
	}
	if p.RolloutState == "COMPLETED" && !s.Steady {
		s.Steady = true
		s.eventLocked("has reached a steady state.")
		r.dirty = true
	}
}
