package ecs

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
	"github.com/rudderctl/rudderctl/internal/localcloud/taskrun"
)

// The life of a task: PROVISIONING (created) -> PENDING (its images are resolved and its
// processes started by the runner, in a goroutine) -> RUNNING -> DEACTIVATING (draining
// from its target groups) -> DEPROVISIONING (SIGTERM, then SIGKILL after stopTimeout) ->
// STOPPED. A task that cannot start goes from PENDING to STOPPED (TaskFailedToStart).

const (
	stopUser      = "UserInitiated"
	stopScheduler = "ServiceSchedulerInitiated"
	stopEssential = "EssentialContainerExited"
	stopFailStart = "TaskFailedToStart"
	stopRestart   = "TerminationNotice"
)

// defaultStopTimeout is ECS's SIGTERM -> SIGKILL wait on Fargate.
const defaultStopTimeout = 30 * time.Second

func hexID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// taskStart is what starting a task takes besides its definition.
type taskStart struct {
	region    string
	cluster   *clusterRec
	rev       *revisionRec
	network   *networkConfiguration
	group     string
	startedBy string
	tags      []tag
	overrides map[string]*containerOverride
	service   *serviceRec
	deploy    *deployment
}

// newTaskLocked records a PROVISIONING task and starts it in the background.
func (r *Room) newTaskLocked(ts taskStart) *taskRec {
	id := hexID(16)
	arn := arnOf(ts.region, "task", ts.cluster.ClusterName+"/"+id)
	view := ts.rev.view()
	subnets := ts.network.AwsvpcConfiguration.Subnets
	subnet := subnets[r.subnetTurn%len(subnets)]
	r.subnetTurn++
	t := &taskRec{
		TaskArn: arn, ClusterArn: ts.cluster.ClusterArn, TaskDefinitionArn: ts.rev.arn(),
		LastStatus: "PROVISIONING", DesiredStatus: "RUNNING", HealthStatus: "UNKNOWN",
		Cpu: view.Cpu, Memory: view.Memory, CreatedAt: now(), Group: ts.group, StartedBy: ts.startedBy,
		LaunchType: "FARGATE", PlatformVersion: "1.4.0", PlatformFamily: "Linux", Connectivity: "CONNECTED",
		AvailabilityZone: ts.region + "a", Version: 1, Tags: nonNilTags(ts.tags),
		Region: ts.region, Subnet: subnet, Network: ts.network, Overrides: ts.overrides,
	}
	if ts.service != nil {
		t.Service, t.DeploymentID = ts.service.ServiceArn, ts.deploy.Id
	}
	for _, c := range view.ContainerDefinitions {
		t.Containers = append(t.Containers, &containerRec{
			ContainerArn: arnOf(ts.region, "container", ts.cluster.ClusterName+"/"+id+"/"+core.NewRequestID()),
			TaskArn:      arn, Name: c.Name, Image: c.Image, LastStatus: "PENDING", Cpu: itoa(c.Cpu),
			NetworkInterfaces: []map[string]any{},
		})
	}
	t.Attachments = []*attachment{{Id: core.NewRequestID(), Type: "ElasticNetworkInterface", Status: "PRECREATED",
		Details: []keyValue{{Name: "subnetId", Value: subnet}, {Name: "networkInterfaceId", Value: "eni-" + hexID(9)[:17]}}}}
	r.st.Tasks[arn] = t
	r.dirty = true
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.launch(arn)
	}()
	return t
}

// launch starts a PROVISIONING task's processes and records how that went.
func (r *Room) launch(arn string) {
	r.mu.Lock()
	t := r.st.Tasks[arn]
	if t == nil || t.DesiredStatus == "STOPPED" {
		if t != nil {
			r.finishStoppedLocked(t)
			r.commitLocked()
		}
		r.mu.Unlock()
		return
	}
	spec, err := r.specLocked(t)
	t.LastStatus, t.PullStartedAt = "PENDING", now()
	r.dirty = true
	r.mu.Unlock()

	var task *taskrun.Task
	if err == nil {
		task, err = r.runner.Start(r.ctx, spec)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.done:
		return // the cloud is closing: the next Open marks the task stopped
	default:
	}
	t.PullStoppedAt = now()
	if err != nil {
		reason := err.Error()
		for _, c := range t.Containers {
			c.LastStatus, c.Reason = "STOPPED", reason
		}
		t.DesiredStatus, t.StoppedReason, t.StopCode = "STOPPED", reason, stopFailStart
		t.Failed = t.Service != ""
		r.finishStoppedLocked(t)
		r.commitLocked()
		return
	}
	r.live[arn] = task
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		select {
		case <-task.Done():
		case <-r.done:
			return // Close stops every task through the runner
		}
		r.taskExited(arn, task)
	}()
	if t.DesiredStatus == "STOPPED" {
		// StopTask (or the scheduler) came while the task was starting.
		t.LastStatus = "DEPROVISIONING"
		go task.Stop(t.StoppedReason)
		return
	}
	r.runningLocked(t, task)
	r.commitLocked()
}

// runningLocked records a started task: its address, its containers, its targets.
func (r *Room) runningLocked(t *taskRec, task *taskrun.Task) {
	ip := task.IP()
	t.LastStatus, t.StartedAt = "RUNNING", now()
	for _, c := range t.Containers {
		c.LastStatus = "RUNNING"
		c.NetworkInterfaces = []map[string]any{{"attachmentId": t.Attachments[0].Id, "privateIpv4Address": ip}}
	}
	a := t.Attachments[0]
	a.Status = "ATTACHED"
	a.Details = append(a.Details[:2],
		keyValue{Name: "macAddress", Value: "0a:" + hexID(5)[:2] + ":" + hexID(1) + ":" + hexID(1) + ":" + hexID(1) + ":" + hexID(1)},
		keyValue{Name: "privateDnsName", Value: "ip-" + strings.ReplaceAll(ip, ".", "-") + ".ec2.internal"},
		keyValue{Name: "privateIPv4Address", Value: ip})
	s := r.st.Services[t.Service]
	if s == nil {
		return
	}
	s.Steady = false
	if r.targets == nil {
		return
	}
	for _, lb := range s.LoadBalancers {
		ip, port := task.Addr(lb.ContainerPort)
		if err := r.targets.RegisterTarget(lb.TargetGroupArn, ip, port); err != nil {
			r.cloud.Logf("ecs: register %s:%d in %s: %v", ip, port, lb.TargetGroupArn, err)
			continue
		}
		t.Targets = append(t.Targets, registeredTarget{TargetGroupArn: lb.TargetGroupArn, IP: ip, Port: port})
		s.eventLocked("registered 1 targets in (target-group %s)", lb.TargetGroupArn)
	}
}

// specLocked is the runner's view of a task: containers with their environment and logs.
// A secret the cloud cannot resolve is a start error, as ECS reports it.
func (r *Room) specLocked(t *taskRec) (taskrun.Spec, error) {
	v := r.revisionByARN(t.TaskDefinitionArn)
	spec := taskrun.Spec{TaskID: t.id(), SubnetCIDR: r.subnetCIDR(t.Region, t.Subnet), StopTimeout: defaultStopTimeout}
	if v == nil {
		return spec, &taskrun.StartError{Reason: "ResourceInitializationError: the task definition " + t.TaskDefinitionArn + " is gone"}
	}
	stopTimeout := time.Duration(0)
	for _, c := range v.view().ContainerDefinitions {
		rc, err := r.containerSpec(t, c)
		if err != nil {
			return spec, err
		}
		if c.StopTimeout != nil {
			stopTimeout = max(stopTimeout, time.Duration(*c.StopTimeout)*time.Second)
		}
		spec.Containers = append(spec.Containers, rc)
	}
	if stopTimeout > 0 {
		spec.StopTimeout = stopTimeout
	}
	return spec, nil
}

// containerSpec is one container as the runner takes it: ECS's variables, the
// definition's environment, its resolved secrets, then RunTask's overrides.
func (r *Room) containerSpec(t *taskRec, c containerDef) (taskrun.Container, error) {
	env := map[string]string{
		"AWS_REGION": t.Region, "AWS_DEFAULT_REGION": t.Region, "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
		"ECS_CONTAINER_METADATA_URI_V4": r.cloud.Endpoint() + metadataPath + t.id() + "/" + c.Name,
	}
	for _, kv := range c.Environment {
		env[kv.Name] = kv.Value
	}
	for _, s := range c.Secrets {
		value, err := r.secretValue(t.Region, s.ValueFrom)
		if err != nil {
			return taskrun.Container{}, &taskrun.StartError{Reason: fmt.Sprintf(
				"ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret %s from secrets manager: %v", s.ValueFrom, err)}
		}
		env[s.Name] = value
	}
	cmd := c.Command
	if o := t.Overrides[c.Name]; o != nil {
		if o.Command != nil {
			cmd = o.Command
		}
		for _, kv := range o.Environment {
			env[kv.Name] = kv.Value
		}
	}
	rc := taskrun.Container{
		Name: c.Name, Image: c.Image, EntryPoint: c.EntryPoint, Command: cmd, Env: env,
		WorkingDir: c.WorkingDirectory, Essential: c.essential(), Log: r.containerLog(t, c),
	}
	for _, pm := range c.PortMappings {
		rc.Ports = append(rc.Ports, pm.ContainerPort)
	}
	if hc := c.HealthCheck; hc != nil {
		rc.HealthCheck = &taskrun.HealthCheck{Command: hc.Command, Interval: secs(hc.Interval, 30),
			Timeout: secs(hc.Timeout, 5), StartPeriod: secs(hc.StartPeriod, 0), Retries: max(hc.Retries, 1)}
	}
	return rc, nil
}

// secretValue resolves a container secret's valueFrom through Secrets Manager (the value
// goes only into the container's environment, never into a log or an answer).
func (r *Room) secretValue(region, valueFrom string) (string, error) {
	if r.secrets == nil {
		return "", fmt.Errorf("the local cloud has no Secrets Manager to resolve it")
	}
	return r.secrets.SecretValue(region, valueFrom)
}

func secs(n, def int) time.Duration {
	if n <= 0 {
		n = def
	}
	return time.Duration(n) * time.Second
}

// subnetCIDR is the address range of a task's subnet (the default subnet's when the cloud
// has no EC2 room).
func (r *Room) subnetCIDR(region, subnet string) string {
	if r.network != nil {
		if cidr, _, ok := r.network.Subnet(region, subnet); ok {
			return cidr
		}
	}
	return defaultSubnetCIDR
}

// containerLog is the awslogs driver of a container: stream <prefix>/<container>/<task id>.
func (r *Room) containerLog(t *taskRec, c containerDef) func(string) {
	lc := c.LogConfiguration
	if r.logs == nil || lc == nil || lc.LogDriver != "awslogs" {
		return func(string) {}
	}
	group, region := lc.Options["awslogs-group"], lc.Options["awslogs-region"]
	stream := c.Name + "/" + t.id()
	if p := lc.Options["awslogs-stream-prefix"]; p != "" {
		stream = p + "/" + stream
	}
	logs := r.logs
	return func(line string) { logs.AppendLogLine(region, group, stream, line) }
}

// taskExited records a task whose processes ended.
func (r *Room) taskExited(arn string, task *taskrun.Task) {
	reason, exits := task.Stopped()
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.done:
		return // the cloud is closing: the task stays RUNNING in the record (see Open)
	default:
	}
	delete(r.live, arn)
	t := r.st.Tasks[arn]
	if t == nil {
		return
	}
	for _, c := range t.Containers {
		c.LastStatus = "STOPPED"
		for _, e := range exits {
			if e.Name == c.Name {
				c.ExitCode, c.Reason = e.ExitCode, e.Reason
			}
		}
	}
	if t.DesiredStatus != "STOPPED" {
		// Nobody asked: an essential container exited.
		t.DesiredStatus, t.StoppedReason, t.StopCode, t.StoppingAt = "STOPPED", reason, stopEssential, now()
		t.Failed = t.Service != "" && !t.Healthy
	}
	r.finishStoppedLocked(t)
	r.commitLocked()
}

// stopTaskLocked stops a task: first out of its target groups (draining), then its
// processes. failed: the stop counts against the task's deployment.
func (r *Room) stopTaskLocked(t *taskRec, reason, code string, failed bool) {
	if t.DesiredStatus == "STOPPED" {
		return
	}
	t.DesiredStatus, t.StoppedReason, t.StopCode, t.StoppingAt = "STOPPED", reason, code, now()
	t.Failed = failed && t.Service != "" && !t.Healthy
	r.dirty = true
	if s := r.st.Services[t.Service]; s != nil {
		s.Steady = false
	}
	if len(t.Targets) > 0 && t.LastStatus == "RUNNING" && r.targets != nil {
		for _, tg := range t.Targets {
			r.targets.DeregisterTarget(tg.TargetGroupArn, tg.IP, tg.Port)
		}
		t.LastStatus = "DEACTIVATING"
		return
	}
	r.haltLocked(t)
}

// haltLocked stops a task's processes (its targets are drained).
func (r *Room) haltLocked(t *taskRec) {
	if h := r.live[t.TaskArn]; h != nil {
		t.LastStatus = "DEPROVISIONING"
		for _, c := range t.Containers {
			if c.LastStatus == "RUNNING" {
				c.LastStatus = "STOPPING"
			}
		}
		go h.Stop(t.StoppedReason)
		return
	}
	if t.LastStatus == "PROVISIONING" || t.LastStatus == "PENDING" {
		return // launch sees DesiredStatus STOPPED when the runner answers
	}
	r.finishStoppedLocked(t)
}

// finishStoppedLocked is the end of every task: STOPPED, out of its target groups, and
// counted against its deployment when it failed.
func (r *Room) finishStoppedLocked(t *taskRec) {
	if t.LastStatus == "STOPPED" {
		return
	}
	ts := now()
	t.LastStatus, t.DesiredStatus, t.StoppedAt, t.ExecutionStoppedAt = "STOPPED", "STOPPED", ts, ts
	if t.StoppingAt == 0 {
		t.StoppingAt = ts
	}
	t.Version++
	for _, c := range t.Containers {
		c.LastStatus = "STOPPED"
	}
	for _, a := range t.Attachments {
		a.Status = "DELETED"
	}
	if r.targets != nil {
		for _, tg := range t.Targets {
			if h := r.targets.TargetHealth(tg.TargetGroupArn, tg.IP, tg.Port); h != "unused" && h != "draining" {
				r.targets.DeregisterTarget(tg.TargetGroupArn, tg.IP, tg.Port)
			}
		}
	}
	r.dirty = true
	s := r.st.Services[t.Service]
	if s == nil {
		return
	}
	s.Steady = false
	if d := s.deployment(t.DeploymentID); d != nil && t.Failed {
		d.FailedTasks++
		d.UpdatedAt = ts
		r.backoffLocked(s.ServiceArn)
	}
}

// markRestartedLocked stops, in the record, the tasks of a previous run of the cloud
// (their processes ended with it); the scheduler replaces them.
func (r *Room) markRestartedLocked() {
	for _, t := range r.st.Tasks {
		if t.LastStatus == "STOPPED" {
			continue
		}
		t.DesiredStatus, t.StoppedReason, t.StopCode = "STOPPED", "Task stopped: local cloud restarted", stopRestart
		for _, c := range t.Containers {
			if c.Reason == "" {
				c.Reason = "local cloud restarted"
			}
		}
		r.restarted = append(r.restarted, t.Targets...)
		t.Targets = nil
		r.finishStoppedLocked(t)
	}
}

// API: RunTask, StopTask, DescribeTasks, ListTasks.

type taskIn struct {
	Cluster              string                `json:"cluster"`
	TaskDefinition       string                `json:"taskDefinition"`
	Count                int                   `json:"count"`
	LaunchType           string                `json:"launchType"`
	NetworkConfiguration *networkConfiguration `json:"networkConfiguration"`
	Overrides            *struct {
		ContainerOverrides []*containerOverride `json:"containerOverrides"`
	} `json:"overrides"`
	StartedBy            string   `json:"startedBy"`
	Group                string   `json:"group"`
	Tags                 []tag    `json:"tags"`
	EnableExecuteCommand bool     `json:"enableExecuteCommand"`
	Task                 string   `json:"task"`
	Tasks                []string `json:"tasks"`
	Reason               string   `json:"reason"`
	Include              []string `json:"include"`
	ServiceName          string   `json:"serviceName"`
	DesiredStatus        string   `json:"desiredStatus"`
	Family               string   `json:"family"`
	NextToken            string   `json:"nextToken"`
	MaxResults           int      `json:"maxResults"`
}

func (r *Room) runTask(q *core.Request, in *taskIn) (any, error) {
	cl, err := r.cluster(q.Region, in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.LaunchType != "FARGATE" {
		return nil, invalidErr("localcloud runs FARGATE tasks only: set launchType FARGATE (got " + quoteOrEmpty(in.LaunchType) + ").")
	}
	if in.EnableExecuteCommand {
		return nil, invalidErr("localcloud does not support ECS Exec: enableExecuteCommand must be false.")
	}
	count := in.Count
	if count == 0 {
		count = 1
	}
	if count < 1 || count > 10 {
		return nil, invalidErr("count must be between 1 and 10.")
	}
	v, err := r.usableRevision(q.Region, in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if err := r.checkNetwork(q.Region, v, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	overrides := map[string]*containerOverride{}
	if in.Overrides != nil {
		names := map[string]bool{}
		for _, c := range v.view().ContainerDefinitions {
			names[c.Name] = true
		}
		for _, o := range in.Overrides.ContainerOverrides {
			if o == nil || !names[o.Name] {
				return nil, invalidErr("Override for container named " + o.Name + " is not a container in the TaskDefinition.")
			}
			overrides[o.Name] = o
		}
	}
	group := in.Group
	if group == "" {
		group = "family:" + v.Family
	}
	tasks := []any{}
	for range count {
		t := r.newTaskLocked(taskStart{region: q.Region, cluster: cl, rev: v, network: in.NetworkConfiguration,
			group: group, startedBy: in.StartedBy, tags: in.Tags, overrides: overrides})
		tasks = append(tasks, apiView(t))
	}
	r.commitLocked()
	return map[string]any{"tasks": tasks, "failures": []any{}}, nil
}

// task finds a task of a cluster by id or ARN.
func (r *Room) task(region, cluster, ref string) (*taskRec, *clusterRec, error) {
	cl, err := r.cluster(region, cluster)
	if err != nil {
		return nil, nil, err
	}
	t := r.st.Tasks[arnOf(region, "task", cl.ClusterName+"/"+lastPart(ref))]
	return t, cl, nil
}

func (r *Room) stopTask(q *core.Request, in *taskIn) (any, error) {
	t, _, err := r.task(q.Region, in.Cluster, in.Task)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, invalidErr("The referenced task was not found.")
	}
	reason := in.Reason
	if reason == "" {
		reason = "Task stopped by user"
	}
	r.stopTaskLocked(t, reason, stopUser, false)
	r.commitLocked()
	return map[string]any{"task": apiView(t)}, nil
}

func (r *Room) describeTasks(q *core.Request, in *taskIn) (any, error) {
	if len(in.Tasks) == 0 || len(in.Tasks) > 100 {
		return nil, invalidErr("tasks must name 1 to 100 tasks.")
	}
	tasks, failures := []any{}, []any{}
	withTags := contains(in.Include, "TAGS")
	for _, ref := range in.Tasks {
		t, cl, err := r.task(q.Region, in.Cluster, ref)
		if err != nil {
			return nil, err
		}
		if t == nil {
			failures = append(failures, map[string]any{"arn": arnOf(q.Region, "task", cl.ClusterName+"/"+lastPart(ref)), "reason": "MISSING"})
			continue
		}
		out := *t
		if !withTags {
			out.Tags = nil
		}
		tasks = append(tasks, apiView(out))
	}
	return map[string]any{"tasks": tasks, "failures": failures}, nil
}

func (r *Room) listTasks(q *core.Request, in *taskIn) (any, error) {
	cl, err := r.cluster(q.Region, in.Cluster)
	if err != nil {
		return nil, err
	}
	svc := ""
	if in.ServiceName != "" {
		s, err := r.service(q.Region, in.Cluster, in.ServiceName)
		if err != nil {
			return nil, err
		}
		svc = s.ServiceArn
	}
	desired := in.DesiredStatus
	if desired == "" {
		desired = "RUNNING"
	}
	var arns []string
	for arn, t := range r.st.Tasks {
		if t.ClusterArn != cl.ClusterArn || t.DesiredStatus != desired || (svc != "" && t.Service != svc) ||
			(in.StartedBy != "" && t.StartedBy != in.StartedBy) ||
			(in.Family != "" && !strings.Contains(t.TaskDefinitionArn, ":task-definition/"+in.Family+":")) {
			continue
		}
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	items, next := page(arns, in.NextToken, in.MaxResults, 100)
	return listAnswer("taskArns", items, next), nil
}

// pruneLocked forgets tasks stopped more than an hour ago, as ECS does.
func (r *Room) pruneLocked() {
	cutoff := epoch(time.Now().Add(-time.Hour))
	for arn, t := range r.st.Tasks {
		if t.LastStatus == "STOPPED" && t.StoppedAt < cutoff {
			delete(r.st.Tasks, arn)
			r.dirty = true
		}
	}
}
