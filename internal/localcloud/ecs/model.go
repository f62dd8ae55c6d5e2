package ecs

// The records the room keeps, shaped as ECS's JSON so that most of them are answered as
// they are. Fields the room keeps for itself are tagged "lc..." and left out of answers.

import (
	"encoding/json"
	"strconv"
	"strings"
)

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type keyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type secret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

type portMapping struct {
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort,omitempty"`
	Protocol      string `json:"protocol,omitempty"`
	Name          string `json:"name,omitempty"`
}

type healthCheck struct {
	Command     []string `json:"command"`
	Interval    int      `json:"interval,omitempty"`
	Timeout     int      `json:"timeout,omitempty"`
	Retries     int      `json:"retries,omitempty"`
	StartPeriod int      `json:"startPeriod,omitempty"`
}

type logConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options,omitempty"`
}

// containerDef is the part of a container definition the room reads to run it; the
// definition itself is kept as it was given (plus ECS's defaults) in revisionRec.Def.
type containerDef struct {
	Name             string            `json:"name"`
	Image            string            `json:"image"`
	Essential        *bool             `json:"essential"`
	EntryPoint       []string          `json:"entryPoint"`
	Command          []string          `json:"command"`
	WorkingDirectory string            `json:"workingDirectory"`
	Environment      []keyValue        `json:"environment"`
	Secrets          []secret          `json:"secrets"`
	PortMappings     []portMapping     `json:"portMappings"`
	HealthCheck      *healthCheck      `json:"healthCheck"`
	LogConfiguration *logConfiguration `json:"logConfiguration"`
	StopTimeout      *int              `json:"stopTimeout"`
	Cpu              int               `json:"cpu"`
	Memory           *int              `json:"memory"`
}

func (c *containerDef) essential() bool { return c.Essential == nil || *c.Essential }

// taskDefView is the typed part of a task definition.
type taskDefView struct {
	Family                  string         `json:"family"`
	NetworkMode             string         `json:"networkMode"`
	RequiresCompatibilities []string       `json:"requiresCompatibilities"`
	Cpu                     string         `json:"cpu"`
	Memory                  string         `json:"memory"`
	ExecutionRoleArn        string         `json:"executionRoleArn"`
	TaskRoleArn             string         `json:"taskRoleArn"`
	ContainerDefinitions    []containerDef `json:"containerDefinitions"`
}

type clusterRec struct {
	ClusterArn  string     `json:"clusterArn"`
	ClusterName string     `json:"clusterName"`
	Status      string     `json:"status"`
	Tags        []tag      `json:"tags"`
	Settings    []keyValue `json:"settings"`
	Region      string     `json:"lcRegion"`
}

type taskDefRec struct {
	Family    string         `json:"family"`
	Region    string         `json:"region"`
	Revisions []*revisionRec `json:"revisions"` // revision n at index n-1
}

type revisionRec struct {
	Def          map[string]any `json:"def"` // as registered, ECS's defaults filled in
	Region       string         `json:"region"`
	Family       string         `json:"family"`
	Revision     int            `json:"revision"`
	Status       string         `json:"status"` // ACTIVE, INACTIVE, DELETE_IN_PROGRESS
	RegisteredAt float64        `json:"registeredAt"`
	Deregistered float64        `json:"deregisteredAt,omitempty"`
	Tags         []tag          `json:"tags"`
}

func (v *revisionRec) status() string         { return v.Status }
func (v *revisionRec) familyRevision() string { return v.Family + ":" + strconv.Itoa(v.Revision) }
func (v *revisionRec) arn() string            { return arnOf(v.Region, "task-definition", v.familyRevision()) }

// view parses the typed part of the definition.
func (v *revisionRec) view() taskDefView {
	var t taskDefView
	b, _ := json.Marshal(v.Def)
	_ = json.Unmarshal(b, &t)
	return t
}

// answer is the TaskDefinition shape of DescribeTaskDefinition.
func (v *revisionRec) answer() map[string]any {
	m := make(map[string]any, len(v.Def)+8)
	for k, x := range v.Def {
		m[k] = x
	}
	m["taskDefinitionArn"] = v.arn()
	m["revision"] = v.Revision
	m["status"] = v.Status
	m["compatibilities"] = []string{"EC2", "FARGATE"}
	m["registeredAt"] = v.RegisteredAt
	m["registeredBy"] = "arn:aws:iam::000000000000:root"
	if v.Deregistered > 0 {
		m["deregisteredAt"] = v.Deregistered
	}
	return m
}

type loadBalancer struct {
	TargetGroupArn   string `json:"targetGroupArn"`
	LoadBalancerName string `json:"loadBalancerName,omitempty"`
	ContainerName    string `json:"containerName"`
	ContainerPort    int    `json:"containerPort"`
}

type awsvpcConfiguration struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIp string   `json:"assignPublicIp,omitempty"`
}

type networkConfiguration struct {
	AwsvpcConfiguration *awsvpcConfiguration `json:"awsvpcConfiguration,omitempty"`
}

type circuitBreaker struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

type deploymentConfiguration struct {
	DeploymentCircuitBreaker *circuitBreaker `json:"deploymentCircuitBreaker,omitempty"`
	MaximumPercent           *int            `json:"maximumPercent,omitempty"`
	MinimumHealthyPercent    *int            `json:"minimumHealthyPercent,omitempty"`
}

type deployment struct {
	Id                   string                `json:"id"`
	Status               string                `json:"status"` // PRIMARY, ACTIVE, INACTIVE
	TaskDefinition       string                `json:"taskDefinition"`
	DesiredCount         int                   `json:"desiredCount"`
	PendingCount         int                   `json:"pendingCount"`
	RunningCount         int                   `json:"runningCount"`
	FailedTasks          int                   `json:"failedTasks"`
	CreatedAt            float64               `json:"createdAt"`
	UpdatedAt            float64               `json:"updatedAt"`
	LaunchType           string                `json:"launchType"`
	PlatformVersion      string                `json:"platformVersion"`
	PlatformFamily       string                `json:"platformFamily"`
	NetworkConfiguration *networkConfiguration `json:"networkConfiguration,omitempty"`
	RolloutState         string                `json:"rolloutState"` // IN_PROGRESS, COMPLETED, FAILED
	RolloutStateReason   string                `json:"rolloutStateReason"`
}

type serviceEvent struct {
	Id        string  `json:"id"`
	CreatedAt float64 `json:"createdAt"`
	Message   string  `json:"message"`
}

type serviceRec struct {
	ServiceArn                    string                  `json:"serviceArn"`
	ServiceName                   string                  `json:"serviceName"`
	ClusterArn                    string                  `json:"clusterArn"`
	LoadBalancers                 []loadBalancer          `json:"loadBalancers"`
	Status                        string                  `json:"status"` // ACTIVE, DRAINING, INACTIVE
	DesiredCount                  int                     `json:"desiredCount"`
	RunningCount                  int                     `json:"runningCount"`
	PendingCount                  int                     `json:"pendingCount"`
	LaunchType                    string                  `json:"launchType"`
	PlatformVersion               string                  `json:"platformVersion"`
	PlatformFamily                string                  `json:"platformFamily"`
	TaskDefinition                string                  `json:"taskDefinition"`
	DeploymentConfiguration       deploymentConfiguration `json:"deploymentConfiguration"`
	Deployments                   []*deployment           `json:"deployments"`
	Events                        []serviceEvent          `json:"events"`
	CreatedAt                     float64                 `json:"createdAt"`
	NetworkConfiguration          *networkConfiguration   `json:"networkConfiguration,omitempty"`
	HealthCheckGracePeriodSeconds int                     `json:"healthCheckGracePeriodSeconds"`
	SchedulingStrategy            string                  `json:"schedulingStrategy"`
	DeploymentController          map[string]string       `json:"deploymentController"`
	CreatedBy                     string                  `json:"createdBy"`
	EnableECSManagedTags          bool                    `json:"enableECSManagedTags"`
	PropagateTags                 string                  `json:"propagateTags,omitempty"`
	EnableExecuteCommand          bool                    `json:"enableExecuteCommand"`
	Tags                          []tag                   `json:"tags"`

	Region string `json:"lcRegion"`
	// LastCompleted is the task definition of the last deployment that completed: what
	// the circuit breaker rolls back to.
	LastCompleted string `json:"lcLastCompleted,omitempty"`
	// Steady: the steady-state event was written for the current state.
	Steady bool `json:"lcSteady,omitempty"`
}

func (s *serviceRec) primary() *deployment {
	for _, d := range s.Deployments {
		if d.Status == "PRIMARY" {
			return d
		}
	}
	return nil
}

func (s *serviceRec) deployment(id string) *deployment {
	for _, d := range s.Deployments {
		if d.Id == id {
			return d
		}
	}
	return nil
}

type containerRec struct {
	ContainerArn      string           `json:"containerArn"`
	TaskArn           string           `json:"taskArn"`
	Name              string           `json:"name"`
	Image             string           `json:"image"`
	LastStatus        string           `json:"lastStatus"`
	ExitCode          *int             `json:"exitCode,omitempty"`
	Reason            string           `json:"reason,omitempty"`
	HealthStatus      string           `json:"healthStatus,omitempty"`
	Cpu               string           `json:"cpu,omitempty"`
	Memory            string           `json:"memory,omitempty"`
	NetworkInterfaces []map[string]any `json:"networkInterfaces"`
}

type attachment struct {
	Id      string     `json:"id"`
	Type    string     `json:"type"`
	Status  string     `json:"status"`
	Details []keyValue `json:"details"`
}

type taskRec struct {
	TaskArn              string          `json:"taskArn"`
	ClusterArn           string          `json:"clusterArn"`
	TaskDefinitionArn    string          `json:"taskDefinitionArn"`
	LastStatus           string          `json:"lastStatus"`
	DesiredStatus        string          `json:"desiredStatus"`
	HealthStatus         string          `json:"healthStatus"`
	Containers           []*containerRec `json:"containers"`
	Cpu                  string          `json:"cpu,omitempty"`
	Memory               string          `json:"memory,omitempty"`
	CreatedAt            float64         `json:"createdAt"`
	PullStartedAt        float64         `json:"pullStartedAt,omitempty"`
	PullStoppedAt        float64         `json:"pullStoppedAt,omitempty"`
	StartedAt            float64         `json:"startedAt,omitempty"`
	StoppingAt           float64         `json:"stoppingAt,omitempty"`
	StoppedAt            float64         `json:"stoppedAt,omitempty"`
	ExecutionStoppedAt   float64         `json:"executionStoppedAt,omitempty"`
	StoppedReason        string          `json:"stoppedReason,omitempty"`
	StopCode             string          `json:"stopCode,omitempty"`
	Group                string          `json:"group"`
	StartedBy            string          `json:"startedBy,omitempty"`
	LaunchType           string          `json:"launchType"`
	PlatformVersion      string          `json:"platformVersion"`
	PlatformFamily       string          `json:"platformFamily"`
	Connectivity         string          `json:"connectivity,omitempty"`
	Attachments          []*attachment   `json:"attachments"`
	AvailabilityZone     string          `json:"availabilityZone"`
	Version              int             `json:"version"`
	Tags                 []tag           `json:"tags"`
	EnableExecuteCommand bool            `json:"enableExecuteCommand"`

	Region       string                `json:"lcRegion"`
	Service      string                `json:"lcService,omitempty"`    // service ARN
	DeploymentID string                `json:"lcDeployment,omitempty"` // the deployment that started it
	Subnet       string                `json:"lcSubnet,omitempty"`
	Network      *networkConfiguration `json:"lcNetwork,omitempty"`
	// Overrides: RunTask's container overrides (command, environment) by container.
	Overrides map[string]*containerOverride `json:"lcOverrides,omitempty"`
	// Targets are the target groups the task is registered in (ip:port each).
	Targets []registeredTarget `json:"lcTargets,omitempty"`
	// Healthy: the task passed its health checks once (it counts as healthy for the
	// deployment, and a later failure no longer counts for the circuit breaker).
	Healthy bool `json:"lcHealthy,omitempty"`
	// Failed: the task stopped for a reason that counts against its deployment.
	Failed bool `json:"lcFailed,omitempty"`
}

type registeredTarget struct {
	TargetGroupArn string `json:"tg"`
	IP             string `json:"ip"`
	Port           int    `json:"port"`
}

type containerOverride struct {
	Name        string     `json:"name"`
	Command     []string   `json:"command,omitempty"`
	Environment []keyValue `json:"environment,omitempty"`
}

func (t *taskRec) id() string { return lastPart(t.TaskArn) }

func tagMap(tags []tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func itoa(n int) string { return strconv.Itoa(n) }

// apiView is a record as ECS answers it: its JSON without the room's own "lc..." fields
// (only at the top: the maps users fill, such as log options, are left alone).
func apiView(rec any) map[string]any {
	b, _ := json.Marshal(rec)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for k := range m {
		if strings.HasPrefix(k, "lc") {
			delete(m, k)
		}
	}
	return m
}
