package backendnodes

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/rudderctl/rudderctl/backendnodes/rudderenv"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/elbv2api"
	"github.com/rudderctl/rudderctl/internal/awsapi/rdsapi"
	"github.com/rudderctl/rudderctl/internal/config"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
)

// Input is a validated deploy request: everything decided before any AWS call.
type Input struct {
	Stack, Region string
	Count         int
	Settings      config.NodesSettings
	// Force removes nodes that do not drain in time (their pending events are lost).
	Force bool
}

// network is where the nodes run: the user-functions service's VPC and subnets.
type network struct {
	VPC     string
	Subnets []string
}

// stackInputs are what the nodes read from the rest of the stack (resolved by observe).
// Every field but UserTransformURL and Image holds a secret: never shown.
type stackInputs struct {
	LambdaURL        string // DEST_TRANSFORM_URL of the Lambda transformer, secret prefix included
	ConfigBackend    string // CONFIG_BACKEND_URL, secret prefix included
	Token            string // WORKSPACE_TOKEN
	Secret           string // the API's secret prefix (hidden from progress)
	UserTransformURL string // the internal ALB
	Image            string // rudderctl's own image in the stack's ECR repository (repo URI:tag)
}

// desired is what the stack should hold.
type desired struct {
	Names    Names
	Region   string
	Account  string
	Count    int
	Settings config.NodesSettings
	Net      network
	In       stackInputs
}

// secretValue is the stack's nodes secret: JSON the task definitions read by key.
func (d *desired) secretValue() string {
	b, _ := json.Marshal(map[string]string{KeyWorkspaceToken: d.In.Token, KeyConfigBackend: d.In.ConfigBackend, KeyLambdaURL: d.In.LambdaURL})
	return string(b)
}

// TrustPolicy lets ECS tasks (and nothing else) assume the execution role.
const TrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// roleSpec is the nodes' task execution role: pull rudderctl's image from the stack's
// repository, write the nodes' log group, read exactly the secrets the nodes use (the
// stack's nodes secret and each node's managed master secret).
func (d *desired) roleSpec(secrets []string) kinds.RoleSpec {
	repo := "arn:aws:ecr:" + d.Region + ":" + d.Account + ":repository/" + d.Names.Functions.Repository
	logs := "arn:aws:logs:" + d.Region + ":" + d.Account + ":log-group:" + d.Names.LogGroup + ":*"
	sorted := append([]string(nil), secrets...)
	sort.Strings(sorted)
	stmts := []map[string]any{
		{"Sid": "PullOwnRepository", "Effect": "Allow", "Action": []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}, "Resource": []string{repo}},
		{"Sid": "RegistryLogin", "Effect": "Allow", "Action": []string{"ecr:GetAuthorizationToken"}, "Resource": []string{"*"}},
		{"Sid": "OwnLogGroup", "Effect": "Allow", "Action": []string{"logs:CreateLogStream", "logs:PutLogEvents"}, "Resource": []string{logs}},
	}
	if len(sorted) > 0 {
		stmts = append(stmts, map[string]any{"Sid": "NodeSecrets", "Effect": "Allow", "Action": []string{"secretsmanager:GetSecretValue"}, "Resource": sorted})
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	return kinds.RoleSpec{Name: d.Names.Role, Path: RolePath, Stack: d.Names.Stack,
		Description: "rudderctl " + d.Names.Stack + ": ECS task execution role of the nodes",
		Trust:       TrustPolicy, PolicyName: PolicyName, Policy: string(b)}
}

func (d *desired) logGroupSpec() kinds.LogGroupSpec {
	return kinds.LogGroupSpec{Name: d.Names.LogGroup, Stack: d.Names.Stack, Retention: d.Settings.LogRetention}
}

// instanceSpec is node i's database: private, encrypted, master password managed by RDS,
// automated backups, deletion protection, tags copied to its snapshots.
func (d *desired) instanceSpec(i int, dbGroup string) rdsapi.InstanceSpec {
	s := d.Settings
	return rdsapi.InstanceSpec{ID: d.Names.Node(i).DB, Class: s.DBInstanceClass, AllocatedStorage: s.DBStorageGB, MasterUsername: DBUser,
		DBName: DBName, SubnetGroup: d.Names.SubnetGroup, SecurityGroups: []string{dbGroup}, PubliclyAccessible: false,
		StorageEncrypted: true, BackupRetention: s.BackupRetention, DeletionProtection: s.DeletionProtection, CopyTagsToSnapshot: true,
		Tags: d.nodeTags(i)}
}

func (d *desired) nodeTags(i int) map[string]string {
	t := d.Names.Tags()
	t["rudderctl:node"] = strconv.Itoa(i)
	return t
}

// Health timing (seconds) of the public target group. Tests shorten it.
var TargetHealth = elbv2api.TargetGroupSpec{HealthInterval: 10, HealthTimeout: 5, Healthy: 2, Unhealthy: 2}

// DeregistrationDelay is how long the public ALB lets a removed node finish requests in
// flight (a /v1/batch is answered once committed: seconds).
var DeregistrationDelay int32 = 30

// instanceEndpoint is where node i's database answers ("" / 0 until it exists).
type instanceEndpoint struct {
	Address   string
	Port      int32
	SecretARN string
}

// taskDefSpec is node i's task: rudder-server and the sidecar, sharing localhost.
func (d *desired) taskDefSpec(i int, roleARN, secretARN string, db instanceEndpoint) ecsapi.TaskDefSpec {
	node := d.Names.Node(i)
	env := map[string]string{}
	for k, v := range d.Settings.Env {
		env[k] = v
	}
	for _, kv := range rudderenv.Offline {
		k, v := kv[0], kv[1]
		env[k] = v
	}
	env["INSTANCE_ID"] = node.InstanceID
	env["HOSTNAME"] = node.Hostname
	env["JOBS_DB_HOST"] = db.Address
	env["JOBS_DB_PORT"] = strconv.Itoa(int(db.Port))
	env["JOBS_DB_USER"] = DBUser
	env["JOBS_DB_DB_NAME"] = DBName
	env["JOBS_DB_SSL_MODE"] = d.Settings.DBSSLMode
	env["DEST_TRANSFORM_URL"] = fmt.Sprintf("http://localhost:%d", SidecarPort)
	env["USER_TRANSFORM_URL"] = d.In.UserTransformURL
	env["RSERVER_GATEWAY_WEB_PORT"] = strconv.Itoa(GatewayPort)
	if _, ok := env["ENTERPRISE_TOKEN"]; !ok {
		// rudder-server v1.83 resolves env.X placeholders of the workspace only with a token.
		env["ENTERPRISE_TOKEN"] = "self-hosted"
	}
	server := ecsapi.ContainerSpec{Name: ServerContainer, Image: d.Settings.ImageRef(), Essential: true, Port: GatewayPort, Env: env,
		Secrets: map[string]string{
			"JOBS_DB_PASSWORD":   db.SecretARN + ":password::",
			"WORKSPACE_TOKEN":    secretARN + ":" + KeyWorkspaceToken + "::",
			"CONFIG_BACKEND_URL": secretARN + ":" + KeyConfigBackend + "::",
		},
		LogGroup: d.Names.LogGroup, LogRegion: d.Region, LogStreamPrefix: LogStreamPrefix, StopTimeout: 60}
	sidecar := ecsapi.ContainerSpec{Name: SidecarContainer, Image: d.In.Image, Essential: true, Port: SidecarPort,
		Command:  []string{"sidecar", "--listen", fmt.Sprintf("127.0.0.1:%d", SidecarPort)},
		Env:      map[string]string{"ECS_TRANSFORM_URL": d.In.UserTransformURL},
		Secrets:  map[string]string{"LAMBDA_TRANSFORM_URL": secretARN + ":" + KeyLambdaURL + "::"},
		LogGroup: d.Names.LogGroup, LogRegion: d.Region, LogStreamPrefix: LogStreamPrefix, StopTimeout: 30}
	return ecsapi.TaskDefSpec{Family: node.Family, ExecutionRole: roleARN, CPU: strconv.Itoa(int(d.Settings.CPU)),
		Memory: strconv.Itoa(int(d.Settings.Memory)), Containers: []ecsapi.ContainerSpec{server, sidecar}, Tags: d.nodeTags(i)}
}

// pendingTaskDefSpec is the one-off task counting node i's pending jobs from inside the
// VPC: rudderctl's own image running `nodes pending`, the password as an ECS secret.
func (d *desired) pendingTaskDefSpec(i int, roleARN string, db instanceEndpoint) ecsapi.TaskDefSpec {
	return ecsapi.TaskDefSpec{Family: d.Names.DrainFamily, ExecutionRole: roleARN, CPU: "256", Memory: "512", Tags: d.Names.Tags(),
		Containers: []ecsapi.ContainerSpec{{Name: "pending", Image: d.In.Image, Essential: true,
			Command: []string{"nodes", "pending", "--json"},
			Env: map[string]string{"JOBS_DB_HOST": db.Address, "JOBS_DB_PORT": strconv.Itoa(int(db.Port)), "JOBS_DB_USER": DBUser,
				"JOBS_DB_DB_NAME": DBName, "JOBS_DB_SSL_MODE": d.Settings.DBSSLMode},
			Secrets:  map[string]string{"JOBS_DB_PASSWORD": db.SecretARN + ":password::"},
			LogGroup: d.Names.LogGroup, LogRegion: d.Region, LogStreamPrefix: LogStreamPrefix}}}
}

func (d *desired) targetGroupSpec() kinds.TargetGroupSpec {
	return kinds.TargetGroupSpec{TargetGroupSpec: elbv2api.TargetGroupSpec{Name: d.Names.TargetGroup, VPC: d.Net.VPC, HealthPath: HealthPath, Port: GatewayPort,
		HealthInterval: TargetHealth.HealthInterval, HealthTimeout: TargetHealth.HealthTimeout, Healthy: TargetHealth.Healthy,
		Unhealthy: TargetHealth.Unhealthy, Matcher: "200", Tags: d.Names.Tags()}, Stack: d.Names.Stack, Delay: DeregistrationDelay}
}

// serviceSpec: exactly one task, never two writers on one database (min 0 %, max 100 %:
// the old task stops before the new one starts).
func (d *desired) serviceSpec(i int, taskDef, tgARN string, groups []string) ecsapi.ServiceSpec {
	return ecsapi.ServiceSpec{Cluster: d.Names.Cluster, Name: d.Names.Node(i).Service, TaskDef: taskDef, Desired: 1,
		Subnets: d.Net.Subnets, SecurityGroups: groups, TargetGroup: tgARN, Container: ServerContainer, ContainerPort: GatewayPort,
		GracePeriod: d.Settings.GracePeriod, MinHealthy: 0, MaxPercent: 100, CircuitBreaker: true, Tags: d.nodeTags(i)}
}

// Waits of the node steps (tests shorten them).
var (
	PollEvery    = 2 * time.Second
	SteadyAfter  = 30 * time.Minute
	DBAvailable  = 60 * time.Minute
	DrainPollGap = 5 * time.Second
)
