// Package ecsapi is the part of ECS rudderctl uses: clusters, task definitions and their
// revisions, Fargate services with their deployments, and tasks. Errors are *awserr.Error
// (errors.Is(err, awserr.ErrNotFound)).
package ecsapi

import (
	"context"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

// Client is ECS, domain-shaped.
type Client struct {
	sdk *ecs.Client
}

// New wraps an SDK client (awsapi.Session builds it).
func New(c *ecs.Client) *Client { return &Client{sdk: c} }

// SDK is the SDK client (for the SDK's waiters).
func (c *Client) SDK() *ecs.Client { return c.sdk }

var codes = awserr.Codes{
	"ClusterNotFoundException":         awserr.ErrNotFound,
	"ServiceNotFoundException":         awserr.ErrNotFound,
	"ServiceNotActiveException":        awserr.ErrNotFound,
	"ClusterContainsServicesException": awserr.ErrConflict,
	"ClusterContainsTasksException":    awserr.ErrConflict,
}

func wrap(what string, err error) error { return awserr.Wrap(what, err, codes) }

func notFound(what, code, msg string) error {
	return &awserr.Error{What: what, Kind: awserr.ErrNotFound, Err: &smithy.GenericAPIError{Code: code, Message: msg}}
}

// Cluster is an ECS cluster.
type Cluster struct {
	ARN, Name, Status string
	Tags              map[string]string
}

// FindCluster reads the cluster name; ErrNotFound when it is missing or INACTIVE (deleted).
func (c *Client) FindCluster(ctx context.Context, name string) (*Cluster, error) {
	out, err := c.sdk.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{name}, Include: []types.ClusterField{types.ClusterFieldTags}})
	if err != nil {
		return nil, wrap("read ECS cluster "+name, err)
	}
	for _, cl := range out.Clusters {
		if aws.ToString(cl.ClusterName) == name && aws.ToString(cl.Status) != "INACTIVE" {
			return &Cluster{ARN: aws.ToString(cl.ClusterArn), Name: name, Status: aws.ToString(cl.Status), Tags: tagMap(cl.Tags)}, nil
		}
	}
	return nil, notFound("read ECS cluster "+name, "ClusterNotFoundException", "Cluster not found.")
}

// CreateCluster creates a tagged cluster (idempotent in ECS: an existing one is returned).
func (c *Client) CreateCluster(ctx context.Context, name string, tags map[string]string) (string, error) {
	out, err := c.sdk.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name), Tags: tagList(tags)})
	if err != nil {
		return "", wrap("create ECS cluster "+name, err)
	}
	return aws.ToString(out.Cluster.ClusterArn), nil
}

// DeleteCluster deletes a cluster; ErrConflict while it has services or tasks.
func (c *Client) DeleteCluster(ctx context.Context, name string) error {
	_, err := c.sdk.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(name)})
	return wrap("delete ECS cluster "+name, err)
}

// ContainerSpec is one container of a task definition (awsvpc: host port = container port).
type ContainerSpec struct {
	Name, Image string
	Essential   bool
	Command     []string
	Port        int32 // 0 = none
	Env         map[string]string
	// Secrets are environment variables read from Secrets Manager / SSM: name -> ARN.
	Secrets map[string]string
	// HealthCheck is the container health check command (["CMD-SHELL", "..."]); nil = none.
	HealthCheck                          []string
	HealthInterval, HealthTimeout        int32 // seconds
	HealthRetries, HealthStartPeriod     int32
	LogGroup, LogRegion, LogStreamPrefix string // awslogs; "" = no log configuration
	StopTimeout                          int32  // seconds; 0 = ECS's default
}

// TaskDefSpec is a Fargate task definition (network mode awsvpc).
type TaskDefSpec struct {
	Family        string
	ExecutionRole string // ARN
	TaskRole      string // ARN, "" = none
	CPU, Memory   string // "256", "512"...
	Containers    []ContainerSpec
	Tags          map[string]string
}

// TaskDef is a registered revision.
type TaskDef struct {
	ARN      string
	Revision int32
	Status   string // ACTIVE | INACTIVE | DELETE_IN_PROGRESS
	Spec     TaskDefSpec
}

// RegisterTaskDefinition registers a new revision of the family.
func (c *Client) RegisterTaskDefinition(ctx context.Context, s TaskDefSpec) (*TaskDef, error) {
	in := &ecs.RegisterTaskDefinitionInput{Family: aws.String(s.Family), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String(s.CPU), Memory: aws.String(s.Memory),
		ExecutionRoleArn: aws.String(s.ExecutionRole), Tags: tagList(s.Tags)}
	if s.TaskRole != "" {
		in.TaskRoleArn = aws.String(s.TaskRole)
	}
	for _, cs := range s.Containers {
		in.ContainerDefinitions = append(in.ContainerDefinitions, containerDef(cs))
	}
	out, err := c.sdk.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return nil, wrap("register task definition "+s.Family, err)
	}
	td := taskDefOf(out.TaskDefinition)
	td.Spec.Tags = tagMap(out.Tags)
	return td, nil
}

func containerDef(cs ContainerSpec) types.ContainerDefinition {
	d := types.ContainerDefinition{Name: aws.String(cs.Name), Image: aws.String(cs.Image), Essential: aws.Bool(cs.Essential), Command: cs.Command}
	if cs.Port > 0 {
		d.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(cs.Port), HostPort: aws.Int32(cs.Port), Protocol: types.TransportProtocolTcp}}
	}
	for _, k := range sortedKeys(cs.Env) {
		d.Environment = append(d.Environment, types.KeyValuePair{Name: aws.String(k), Value: aws.String(cs.Env[k])})
	}
	for _, k := range sortedKeys(cs.Secrets) {
		d.Secrets = append(d.Secrets, types.Secret{Name: aws.String(k), ValueFrom: aws.String(cs.Secrets[k])})
	}
	if len(cs.HealthCheck) > 0 {
		d.HealthCheck = &types.HealthCheck{Command: cs.HealthCheck, Interval: aws.Int32(cs.HealthInterval), Timeout: aws.Int32(cs.HealthTimeout),
			Retries: aws.Int32(cs.HealthRetries), StartPeriod: aws.Int32(cs.HealthStartPeriod)}
	}
	if cs.LogGroup != "" {
		d.LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
			"awslogs-group": cs.LogGroup, "awslogs-region": cs.LogRegion, "awslogs-stream-prefix": cs.LogStreamPrefix}}
	}
	if cs.StopTimeout > 0 {
		d.StopTimeout = aws.Int32(cs.StopTimeout)
	}
	return d
}

func taskDefOf(t *types.TaskDefinition) *TaskDef {
	td := &TaskDef{ARN: aws.ToString(t.TaskDefinitionArn), Revision: t.Revision, Status: string(t.Status),
		Spec: TaskDefSpec{Family: aws.ToString(t.Family), ExecutionRole: aws.ToString(t.ExecutionRoleArn), TaskRole: aws.ToString(t.TaskRoleArn),
			CPU: aws.ToString(t.Cpu), Memory: aws.ToString(t.Memory)}}
	for _, d := range t.ContainerDefinitions {
		cs := ContainerSpec{Name: aws.ToString(d.Name), Image: aws.ToString(d.Image), Essential: aws.ToBool(d.Essential), Command: d.Command,
			StopTimeout: aws.ToInt32(d.StopTimeout)}
		if d.Essential == nil {
			cs.Essential = true // ECS's default
		}
		if len(d.PortMappings) > 0 {
			cs.Port = aws.ToInt32(d.PortMappings[0].ContainerPort)
		}
		for _, kv := range d.Environment {
			if cs.Env == nil {
				cs.Env = map[string]string{}
			}
			cs.Env[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
		}
		for _, s := range d.Secrets {
			if cs.Secrets == nil {
				cs.Secrets = map[string]string{}
			}
			cs.Secrets[aws.ToString(s.Name)] = aws.ToString(s.ValueFrom)
		}
		if h := d.HealthCheck; h != nil {
			cs.HealthCheck, cs.HealthInterval, cs.HealthTimeout = h.Command, aws.ToInt32(h.Interval), aws.ToInt32(h.Timeout)
			cs.HealthRetries, cs.HealthStartPeriod = aws.ToInt32(h.Retries), aws.ToInt32(h.StartPeriod)
		}
		if l := d.LogConfiguration; l != nil && l.LogDriver == types.LogDriverAwslogs {
			cs.LogGroup, cs.LogRegion, cs.LogStreamPrefix = l.Options["awslogs-group"], l.Options["awslogs-region"], l.Options["awslogs-stream-prefix"]
		}
		td.Spec.Containers = append(td.Spec.Containers, cs)
	}
	return td
}

// FindTaskDefinition reads a revision ("family:rev", "family" for the latest ACTIVE, or
// an ARN) with its tags; ErrNotFound when there is none.
func (c *Client) FindTaskDefinition(ctx context.Context, ref string) (*TaskDef, error) {
	out, err := c.sdk.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		if awserr.IsCode(err, "ClientException") && strings.Contains(strings.ToLower(err.Error()), "unable to describe task definition") {
			return nil, &awserr.Error{What: "read task definition " + ref, Kind: awserr.ErrNotFound, Err: err}
		}
		return nil, wrap("read task definition "+ref, err)
	}
	td := taskDefOf(out.TaskDefinition)
	td.Spec.Tags = tagMap(out.Tags)
	return td, nil
}

// TaskDefinitionARNs are the revisions of family with status ("ACTIVE", "INACTIVE"),
// oldest first, every page.
func (c *Client) TaskDefinitionARNs(ctx context.Context, family, status string) ([]string, error) {
	var out []string
	in := &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: types.TaskDefinitionStatus(status), Sort: types.SortOrderAsc}
	p := ecs.NewListTaskDefinitionsPaginator(c.sdk, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("list the task definitions of "+family, err)
		}
		for _, arn := range page.TaskDefinitionArns {
			if FamilyOf(arn) == family { // FamilyPrefix is a prefix
				out = append(out, arn)
			}
		}
	}
	return out, nil
}

// FamilyOf is the family of a task definition ARN (".../family:rev").
func FamilyOf(arn string) string {
	s := arn[strings.LastIndex(arn, "/")+1:]
	if i := strings.LastIndex(s, ":"); i >= 0 {
		return s[:i]
	}
	return s
}

// DeregisterTaskDefinition marks a revision INACTIVE.
func (c *Client) DeregisterTaskDefinition(ctx context.Context, arn string) error {
	_, err := c.sdk.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	return wrap("deregister task definition "+arn, err)
}

// DeleteTaskDefinition deletes an INACTIVE revision.
func (c *Client) DeleteTaskDefinition(ctx context.Context, arn string) error {
	out, err := c.sdk.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{arn}})
	if err != nil {
		return wrap("delete task definition "+arn, err)
	}
	for _, f := range out.Failures {
		reason := aws.ToString(f.Reason)
		if strings.Contains(strings.ToUpper(reason), "MISSING") {
			return notFound("delete task definition "+arn, "ClientException", reason)
		}
		return wrap("delete task definition "+arn, &smithy.GenericAPIError{Code: "ClientException", Message: reason + " " + aws.ToString(f.Detail)})
	}
	return nil
}

// ServiceSpec is a Fargate service behind a target group.
type ServiceSpec struct {
	Cluster, Name, TaskDef  string
	Desired                 int32
	Subnets, SecurityGroups []string
	TargetGroup, Container  string
	ContainerPort           int32
	GracePeriod             int32 // seconds
	MinHealthy, MaxPercent  int32
	CircuitBreaker          bool // with rollback
	Tags                    map[string]string
}

// Deployment is one deployment of a service.
type Deployment struct {
	ID, Status, TaskDef, RolloutState, RolloutReason string
	Desired, Running, Pending, Failed                int32
}

// Service is a service as read back.
type Service struct {
	ARN, Name, Status, TaskDef string
	Desired, Running, Pending  int32
	Subnets, SecurityGroups    []string
	PublicIP                   string
	TargetGroup, Container     string
	ContainerPort              int32
	GracePeriod                int32
	MinHealthy, MaxPercent     int32
	CircuitBreaker, Rollback   bool
	LaunchType                 string
	Deployments                []Deployment // PRIMARY first
	Events                     []string     // newest first
	Tags                       map[string]string
}

// Primary is the PRIMARY deployment (nil when there is none).
func (s *Service) Primary() *Deployment {
	for i := range s.Deployments {
		if s.Deployments[i].Status == "PRIMARY" {
			return &s.Deployments[i]
		}
	}
	return nil
}

// FindService reads a service; ErrNotFound when it is missing or INACTIVE (deleted).
// A DRAINING service (being deleted) is returned.
func (c *Client) FindService(ctx context.Context, cluster, name string) (*Service, error) {
	out, err := c.sdk.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name},
		Include: []types.ServiceField{types.ServiceFieldTags}})
	if err != nil {
		return nil, wrap("read ECS service "+name, err)
	}
	for _, s := range out.Services {
		if aws.ToString(s.ServiceName) == name && aws.ToString(s.Status) != "INACTIVE" {
			return serviceOf(s), nil
		}
	}
	return nil, notFound("read ECS service "+name, "ServiceNotFoundException", "Service not found.")
}

func serviceOf(s types.Service) *Service {
	sv := &Service{ARN: aws.ToString(s.ServiceArn), Name: aws.ToString(s.ServiceName), Status: aws.ToString(s.Status), TaskDef: aws.ToString(s.TaskDefinition),
		Desired: s.DesiredCount, Running: s.RunningCount, Pending: s.PendingCount, GracePeriod: aws.ToInt32(s.HealthCheckGracePeriodSeconds),
		LaunchType: string(s.LaunchType), Tags: tagMap(s.Tags)}
	if n := s.NetworkConfiguration; n != nil && n.AwsvpcConfiguration != nil {
		sv.Subnets, sv.SecurityGroups = sorted(n.AwsvpcConfiguration.Subnets), sorted(n.AwsvpcConfiguration.SecurityGroups)
		sv.PublicIP = string(n.AwsvpcConfiguration.AssignPublicIp)
	}
	if len(s.LoadBalancers) > 0 {
		lb := s.LoadBalancers[0]
		sv.TargetGroup, sv.Container, sv.ContainerPort = aws.ToString(lb.TargetGroupArn), aws.ToString(lb.ContainerName), aws.ToInt32(lb.ContainerPort)
	}
	if d := s.DeploymentConfiguration; d != nil {
		sv.MinHealthy, sv.MaxPercent = aws.ToInt32(d.MinimumHealthyPercent), aws.ToInt32(d.MaximumPercent)
		if cb := d.DeploymentCircuitBreaker; cb != nil {
			sv.CircuitBreaker, sv.Rollback = cb.Enable, cb.Rollback
		}
	}
	for _, d := range s.Deployments {
		sv.Deployments = append(sv.Deployments, Deployment{ID: aws.ToString(d.Id), Status: aws.ToString(d.Status), TaskDef: aws.ToString(d.TaskDefinition),
			RolloutState: string(d.RolloutState), RolloutReason: aws.ToString(d.RolloutStateReason), Desired: d.DesiredCount,
			Running: d.RunningCount, Pending: d.PendingCount, Failed: d.FailedTasks})
	}
	sort.SliceStable(sv.Deployments, func(i, j int) bool {
		return sv.Deployments[i].Status == "PRIMARY" && sv.Deployments[j].Status != "PRIMARY"
	})
	for _, e := range s.Events {
		sv.Events = append(sv.Events, aws.ToString(e.Message))
	}
	return sv
}

func networkOf(s ServiceSpec) *types.NetworkConfiguration {
	return &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: s.Subnets, SecurityGroups: s.SecurityGroups,
		AssignPublicIp: types.AssignPublicIpDisabled}}
}

func deploymentOf(s ServiceSpec) *types.DeploymentConfiguration {
	return &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(s.MinHealthy), MaximumPercent: aws.Int32(s.MaxPercent),
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: s.CircuitBreaker, Rollback: s.CircuitBreaker}}
}

// CreateService creates a Fargate service (no public IP) registered with a target group.
func (c *Client) CreateService(ctx context.Context, s ServiceSpec) (*Service, error) {
	out, err := c.sdk.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(s.Cluster), ServiceName: aws.String(s.Name),
		TaskDefinition: aws.String(s.TaskDef), DesiredCount: aws.Int32(s.Desired), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: networkOf(s), DeploymentConfiguration: deploymentOf(s),
		LoadBalancers:                 []types.LoadBalancer{{TargetGroupArn: aws.String(s.TargetGroup), ContainerName: aws.String(s.Container), ContainerPort: aws.Int32(s.ContainerPort)}},
		HealthCheckGracePeriodSeconds: aws.Int32(s.GracePeriod), PropagateTags: types.PropagateTagsService,
		SchedulingStrategy: types.SchedulingStrategyReplica, Tags: tagList(s.Tags)})
	if err != nil {
		if awserr.IsCode(err, "InvalidParameterException") && strings.Contains(strings.ToLower(err.Error()), "idempotent") {
			return nil, &awserr.Error{What: "create ECS service " + s.Name, Kind: awserr.ErrAlreadyExists, Err: err}
		}
		return nil, wrap("create ECS service "+s.Name, err)
	}
	return serviceOf(*out.Service), nil
}

// UpdateService puts the spec's task definition, network, deployment configuration and
// grace period on the service; desired is set only when setDesired (auto scaling owns it).
func (c *Client) UpdateService(ctx context.Context, s ServiceSpec, setDesired bool) error {
	in := &ecs.UpdateServiceInput{Cluster: aws.String(s.Cluster), Service: aws.String(s.Name), TaskDefinition: aws.String(s.TaskDef),
		NetworkConfiguration: networkOf(s), DeploymentConfiguration: deploymentOf(s), HealthCheckGracePeriodSeconds: aws.Int32(s.GracePeriod)}
	if setDesired {
		in.DesiredCount = aws.Int32(s.Desired)
	}
	_, err := c.sdk.UpdateService(ctx, in)
	return wrap("update ECS service "+s.Name, err)
}

// SetTaskDefinition points the service at another revision (a rollback).
func (c *Client) SetTaskDefinition(ctx context.Context, cluster, service, taskDef string) error {
	_, err := c.sdk.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(service), TaskDefinition: aws.String(taskDef)})
	return wrap("update ECS service "+service, err)
}

// SetDesired sets the service's desired count.
func (c *Client) SetDesired(ctx context.Context, cluster, service string, n int32) error {
	_, err := c.sdk.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(service), DesiredCount: aws.Int32(n)})
	return wrap("scale ECS service "+service, err)
}

// DeleteService deletes a service, stopping its tasks (force).
func (c *Client) DeleteService(ctx context.Context, cluster, name string) error {
	_, err := c.sdk.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(cluster), Service: aws.String(name), Force: aws.Bool(true)})
	return wrap("delete ECS service "+name, err)
}

// Task is a task as read back.
type Task struct {
	ARN, TaskDef, LastStatus, DesiredStatus, Health string
	StoppedReason, StopCode                         string
	IP                                              string
	Containers                                      []ContainerState
	Group                                           string // "service:<name>" for a service's tasks
	StartedBy                                       string
}

// ID is the task's id (the last part of its ARN).
func (t Task) ID() string { return t.ARN[strings.LastIndex(t.ARN, "/")+1:] }

// ContainerState is how one container of a task is.
type ContainerState struct {
	Name, LastStatus, Reason, Health string
	ExitCode                         *int32
}

// TaskARNs are the tasks of the cluster (of service when set) with desiredStatus
// ("RUNNING", "STOPPED"), every page.
func (c *Client) TaskARNs(ctx context.Context, cluster, service, desiredStatus string) ([]string, error) {
	in := &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: types.DesiredStatus(desiredStatus)}
	if service != "" {
		in.ServiceName = aws.String(service)
	}
	var out []string
	p := ecs.NewListTasksPaginator(c.sdk, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("list the tasks of "+cluster, err)
		}
		out = append(out, page.TaskArns...)
	}
	return out, nil
}

// DescribeTasks reads tasks by ARN (up to 100 a call).
func (c *Client) DescribeTasks(ctx context.Context, cluster string, arns []string) ([]Task, error) {
	var out []Task
	for len(arns) > 0 {
		n := min(len(arns), 100)
		page, err := c.sdk.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns[:n]})
		if err != nil {
			return nil, wrap("read the tasks of "+cluster, err)
		}
		for _, t := range page.Tasks {
			out = append(out, taskOf(t))
		}
		arns = arns[n:]
	}
	return out, nil
}

func taskOf(t types.Task) Task {
	task := Task{ARN: aws.ToString(t.TaskArn), TaskDef: aws.ToString(t.TaskDefinitionArn), LastStatus: aws.ToString(t.LastStatus),
		DesiredStatus: aws.ToString(t.DesiredStatus), Health: string(t.HealthStatus), StoppedReason: aws.ToString(t.StoppedReason),
		StopCode: string(t.StopCode), Group: aws.ToString(t.Group), StartedBy: aws.ToString(t.StartedBy)}
	for _, c := range t.Containers {
		task.Containers = append(task.Containers, ContainerState{Name: aws.ToString(c.Name), LastStatus: aws.ToString(c.LastStatus),
			Reason: aws.ToString(c.Reason), Health: string(c.HealthStatus), ExitCode: c.ExitCode})
		for _, n := range c.NetworkInterfaces {
			if task.IP == "" {
				task.IP = aws.ToString(n.PrivateIpv4Address)
			}
		}
	}
	for _, a := range t.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" && task.IP == "" {
				task.IP = aws.ToString(d.Value)
			}
		}
	}
	return task
}

// RunTaskSpec is a one-off Fargate task.
type RunTaskSpec struct {
	Cluster, TaskDef        string
	Subnets, SecurityGroups []string
	// Command overrides the container's command ("" container = none).
	Container string
	Command   []string
	StartedBy string
	Tags      map[string]string
}

// RunTask starts one task and returns it.
func (c *Client) RunTask(ctx context.Context, s RunTaskSpec) (*Task, error) {
	in := &ecs.RunTaskInput{Cluster: aws.String(s.Cluster), TaskDefinition: aws.String(s.TaskDef), Count: aws.Int32(1),
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: networkOf(ServiceSpec{Subnets: s.Subnets, SecurityGroups: s.SecurityGroups}),
		Tags: tagList(s.Tags)}
	if s.StartedBy != "" {
		in.StartedBy = aws.String(s.StartedBy)
	}
	if s.Container != "" {
		in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String(s.Container), Command: s.Command}}}
	}
	out, err := c.sdk.RunTask(ctx, in)
	if err != nil {
		return nil, wrap("run a task of "+s.TaskDef, err)
	}
	if len(out.Tasks) == 0 {
		reason := "no task started"
		for _, f := range out.Failures {
			reason = aws.ToString(f.Reason) + " " + aws.ToString(f.Detail)
		}
		return nil, wrap("run a task of "+s.TaskDef, &smithy.GenericAPIError{Code: "RunTaskFailure", Message: reason})
	}
	t := taskOf(out.Tasks[0])
	return &t, nil
}

// StopTask stops a task with a reason.
func (c *Client) StopTask(ctx context.Context, cluster, arn, reason string) error {
	_, err := c.sdk.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn), Reason: aws.String(reason)})
	return wrap("stop task "+arn, err)
}

// Tags are the tags of an ECS resource by ARN.
func (c *Client) Tags(ctx context.Context, arn string) (map[string]string, error) {
	out, err := c.sdk.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return nil, wrap("read the tags of "+arn, err)
	}
	return tagMap(out.Tags), nil
}

// TagResource adds (or overwrites) tags of an ECS resource by ARN.
func (c *Client) TagResource(ctx context.Context, arn string, tags map[string]string) error {
	_, err := c.sdk.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: tagList(tags)})
	return wrap("tag "+arn, err)
}

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func tagList(tags map[string]string) []types.Tag {
	var out []types.Tag
	for _, k := range sortedKeys(tags) {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
