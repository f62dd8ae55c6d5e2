package container

import (
	"fmt"
	"strconv"

	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/elbv2api"
	"github.com/rudderctl/rudderctl/internal/config"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
)

// Input is a validated deploy request: everything decided before any AWS call.
type Input struct {
	Stack, Region string
	Settings      config.ECSSettings
	// Image is rudderctl's own image to push to the stack's repository (nil = none).
	Image *OwnImage
}

// OwnImage is rudderctl's own image, built (container/image) before any AWS call.
type OwnImage struct {
	Digest string // sha256:...
	// Push pushes it to repository uri:tag with the registry login (user, password).
	Push func(uri, tag, user, password string) (digest string, err error)
}

// network is where the service runs: the VPC and its subnets (resolved by observe).
type network struct {
	VPC     string
	Subnets []string
	AsIs    bool // taken as it is, unchecked (a destroy: the VPC the stack's groups are in)
}

// desired is what the stack should hold, from the input and what observe resolved.
type desired struct {
	Names    Names
	Region   string
	Account  string
	Settings config.ECSSettings
	Net      network
	// ConfigBackend is the workspace's URL (holds the secret: never shown).
	ConfigBackend string
	Secret        string
	Image         *OwnImage
}

// roleSpec is the task execution role: trusted by ecs-tasks only; pull from the stack's
// repository, write to its own log group, read the stack's functions secret (any suffix
// AWS gave it: "-" and six characters).
func (d *desired) roleSpec() kinds.RoleSpec {
	return kinds.RoleSpec{Name: d.Names.Role, Path: RolePath, Stack: d.Names.Stack,
		Description: "rudderctl " + d.Names.Stack + ": ECS task execution role of the user-functions service",
		Trust:       TrustPolicy, PolicyName: PolicyName,
		Policy: executionPolicy(d.Region, d.Account, d.Names, []string{d.Names.SecretRef(d.Region, d.Account) + "-??????"})}
}

// secretValue is the functions secret: the workspace URL, secret prefix included.
func (d *desired) secretValue() string { return d.ConfigBackend }

// TrustPolicy lets ECS tasks (and nothing else) assume the execution role.
const TrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// executionPolicy names every action and resource. ecr:GetAuthorizationToken is the one
// action with Resource "*": AWS does not accept a resource for it (the token is for the
// whole registry; what it may pull is still limited by the repository statement).
func executionPolicy(region, account string, n Names, secrets []string) string {
	repo := "arn:aws:ecr:" + region + ":" + account + ":repository/" + n.Repository
	logs := "arn:aws:logs:" + region + ":" + account + ":log-group:" + n.LogGroup + ":*"
	s := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"PullOwnRepository","Effect":"Allow","Action":["ecr:BatchCheckLayerAvailability","ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":["` + repo + `"]},` +
		`{"Sid":"RegistryLogin","Effect":"Allow","Action":["ecr:GetAuthorizationToken"],"Resource":["*"]},` +
		`{"Sid":"OwnLogGroup","Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":["` + logs + `"]}`
	if len(secrets) > 0 {
		s += `,{"Sid":"NamedSecrets","Effect":"Allow","Action":["secretsmanager:GetSecretValue"],"Resource":[`
		for i, a := range secrets {
			if i > 0 {
				s += ","
			}
			s += strconv.Quote(a)
		}
		s += `]}`
	}
	return s + `]}`
}

func (d *desired) logGroupSpec() kinds.LogGroupSpec {
	return kinds.LogGroupSpec{Name: d.Names.LogGroup, Stack: d.Names.Stack, Retention: d.Settings.LogRetention}
}

// Memory sizing: Node's old space gets half the task's memory, each user function's
// isolate up to a quarter (at least 64 MB, at most 1 GB): an isolate lives outside Node's
// heap, and the rest is left to the process, buffers and the isolates' own overhead.
func heapMB(memory int32) int32 { return memory / 2 }

func isolateMB(memory int32) int32 { return min(max(memory/4, 64), 1024) }

// containerEnv is the transformer's plain environment: nothing secret (anyone allowed to
// describe the task definition reads it). CONFIG_BACKEND_URL comes from containerSecrets.
func (d *desired) containerEnv() map[string]string {
	env := map[string]string{}
	for k, v := range d.Settings.Env {
		env[k] = v
	}
	m := d.Settings.Memory
	env["PORT"] = strconv.Itoa(ContainerPort)
	// HOST: the example transformer binds loopback unless told (the real one binds all).
	env["HOST"] = "0.0.0.0"
	env["CLUSTER_ENABLED"] = "false" // one process per task: the task's memory is its memory
	env["NODE_OPTIONS"] = fmt.Sprintf("--no-node-snapshot --max-old-space-size=%d", heapMB(m))
	env["ISOLATE_VM_MEMORY"] = strconv.Itoa(int(isolateMB(m)))
	env["IVM_EXECUTION_TIMEOUT"] = strconv.Itoa(int(d.Settings.FunctionTimeoutMs))
	delete(env, "CONFIG_BACKEND_URL")
	return env
}

// containerSecrets are the variables ECS reads from Secrets Manager when a task starts:
// the workspace URL, from the stack's functions secret (its whole value).
func (d *desired) containerSecrets() map[string]string {
	return map[string]string{"CONFIG_BACKEND_URL": d.Names.SecretRef(d.Region, d.Account)}
}

// HealthCommand is the container health check: the image's own Node asks /health.
var HealthCommand = []string{"CMD-SHELL", `node -e "fetch('http://127.0.0.1:9090/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"`}

// Health timing (seconds): the target group's checks (a task gets traffic after Healthy
// good answers, loses it after Unhealthy bad ones) and the container's. Tests shorten them
// (the local cloud accepts 1-second intervals; AWS's minimum is 5).
var (
	TargetHealth    = elbv2api.TargetGroupSpec{HealthInterval: 10, HealthTimeout: 5, Healthy: 2, Unhealthy: 2}
	ContainerHealth = ecsapi.ContainerSpec{HealthInterval: 10, HealthTimeout: 5, HealthRetries: 3, HealthStartPeriod: 30}
)

func (d *desired) taskDefSpec(roleARN string) ecsapi.TaskDefSpec {
	return ecsapi.TaskDefSpec{Family: d.Names.Family, ExecutionRole: roleARN,
		CPU: strconv.Itoa(int(d.Settings.CPU)), Memory: strconv.Itoa(int(d.Settings.Memory)), Tags: d.Names.Tags(),
		Containers: []ecsapi.ContainerSpec{{Name: ContainerName, Image: d.Settings.ImageRef(), Essential: true, Port: ContainerPort,
			Env: d.containerEnv(), Secrets: d.containerSecrets(), HealthCheck: HealthCommand, HealthInterval: ContainerHealth.HealthInterval, HealthTimeout: ContainerHealth.HealthTimeout,
			HealthRetries: ContainerHealth.HealthRetries, HealthStartPeriod: ContainerHealth.HealthStartPeriod,
			LogGroup: d.Names.LogGroup, LogRegion: d.Region, LogStreamPrefix: LogStreamPrefix,
			StopTimeout: min(d.Settings.DeregistrationDelay+5, 120)}}}
}

func (d *desired) targetGroupSpec() kinds.TargetGroupSpec {
	return kinds.TargetGroupSpec{TargetGroupSpec: elbv2api.TargetGroupSpec{Name: d.Names.TargetGroup, VPC: d.Net.VPC, HealthPath: HealthPath, Port: ContainerPort,
		HealthInterval: TargetHealth.HealthInterval, HealthTimeout: TargetHealth.HealthTimeout, Healthy: TargetHealth.Healthy,
		Unhealthy: TargetHealth.Unhealthy, Matcher: "200", Tags: d.Names.Tags()}, Stack: d.Names.Stack, Delay: d.Settings.DeregistrationDelay, Tag: kinds.TagELB}
}

func (d *desired) serviceSpec(taskDef, tgARN string, groups []string) ecsapi.ServiceSpec {
	return ecsapi.ServiceSpec{Cluster: d.Names.Cluster, Name: d.Names.Service, TaskDef: taskDef, Desired: d.Settings.Desired,
		Subnets: d.Net.Subnets, SecurityGroups: groups, TargetGroup: tgARN, Container: ContainerName, ContainerPort: ContainerPort,
		GracePeriod: d.Settings.GracePeriod, MinHealthy: 100, MaxPercent: 200, CircuitBreaker: true, Tags: d.Names.Tags()}
}

// LifecyclePolicy keeps the 10 newest images of rudderctl's repository.
const LifecyclePolicy = `{"rules":[{"rulePriority":1,"description":"keep the 10 newest images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}`
