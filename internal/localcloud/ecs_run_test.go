package localcloud

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	ecsroom "github.com/rudderctl/rudderctl/internal/localcloud/ecs"
	"github.com/rudderctl/rudderctl/internal/testfn"
)

func init() {
	// The scheduler at test speed: a tick of 50 ms, a short wait after failed tasks.
	ecsroom.Tick = 50 * time.Millisecond
	ecsroom.BackoffStep = 100 * time.Millisecond
}

// ecsApp builds the test program and writes an image map that runs it as test/app; the
// program marks each process it starts in the returned directory (file name = pid).
func ecsApp(t *testing.T) (imageMap, marks string) {
	t.Helper()
	bin := testfn.Build(t, "./testdata/ecsapp")
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	marks = filepath.Join(dir, "marks")
	for _, d := range []string{app, marks} {
		must(t, os.MkdirAll(d, 0o755))
	}
	b, err := os.ReadFile(bin)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(app, "ecsapp"), b, 0o755))
	imageMap = filepath.Join(dir, "images.yaml")
	must(t, os.WriteFile(imageMap, []byte("images:\n  - image: test/app\n    dir: app\n    command: [./ecsapp]\n    portEnv: PORT\n"), 0o644))
	return imageMap, marks
}

// appTaskDef is a Fargate task definition of the test program, logging to group "/ecs/app".
func appTaskDef(family, image, marks string) *ecs.RegisterTaskDefinitionInput {
	in := fargateTaskDef(family, image)
	c := &in.ContainerDefinitions[0]
	c.PortMappings = []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}
	c.Environment = []ecstypes.KeyValuePair{{Name: aws.String("MARK_DIR"), Value: aws.String(marks)}}
	c.StopTimeout = aws.Int32(2)
	c.LogConfiguration = &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
		"awslogs-group": "/ecs/app", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "ecs"}}
	return in
}

// livePids are the processes of the test program that are running now, with the task
// id each belongs to.
func livePids(t *testing.T, marks string) map[int]string {
	t.Helper()
	entries, err := os.ReadDir(marks)
	must(t, err)
	out := map[int]string{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || syscall.Kill(pid, 0) != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(marks, e.Name()))
		must(t, err)
		// .../_localcloud/ecs/metadata/<task id>/<container>
		parts := strings.Split(string(b), "/")
		out[pid] = parts[len(parts)-2]
	}
	return out
}

// waitPids waits until n processes of the test program run (a task is RUNNING once its
// process started, a moment before the program writes its mark).
func waitPids(t *testing.T, marks string, n int) map[int]string {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		pids := livePids(t, marks)
		if len(pids) >= n || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(Tick())
	}
}

func stableWaiter(cl *ecs.Client) *ecs.ServicesStableWaiter {
	return ecs.NewServicesStableWaiter(cl, func(o *ecs.ServicesStableWaiterOptions) { o.MinDelay = Tick(); o.MaxDelay = Tick() })
}

func serviceTasks(t *testing.T, cl *ecs.Client, cluster, service string, status ecstypes.DesiredStatus) []ecstypes.Task {
	t.Helper()
	ctx := context.Background()
	lt, err := cl.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service), DesiredStatus: status})
	must(t, err)
	if len(lt.TaskArns) == 0 {
		return nil
	}
	dt, err := cl.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: lt.TaskArns})
	must(t, err)
	return dt.Tasks
}

// TestECSServiceRunsReplacesAndRollsBack: a service of 2 tasks runs 2 processes, each
// answering with its own task ARN (from the task metadata endpoint); killing one process
// stops its task (EssentialContainerExited) and the service replaces it; a deployment of
// an image nobody can pull trips the circuit breaker and rolls back while the old tasks
// keep running; the SDK's ServicesStable waiter follows each step.
func TestECSServiceRunsReplacesAndRollsBack(t *testing.T) {
	imageMap, marks := ecsApp(t)
	c := startCloud(t, Options{ImageMap: imageMap})
	// Retrying clients, as every real one: under load the SDK's transport can lose a
	// connection to a known client-side race (aws-sdk-go-v2#1825), which it retries.
	cfg := sdk(c, true).cfg
	cl := ecs.NewFromConfig(cfg)
	ctx := context.Background()
	_, err := cl.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c1")})
	must(t, err)
	_, err = cl.RegisterTaskDefinition(ctx, appTaskDef("app", "test/app:1", marks))
	must(t, err)
	_, err = cl.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("c1"), ServiceName: aws.String("s"), TaskDefinition: aws.String("app"),
		DesiredCount: aws.Int32(2), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: awsvpc(defaultSubnets(t, ec2.NewFromConfig(cfg))[:2]...),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(100), MaximumPercent: aws.Int32(200),
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}},
	})
	must(t, err)
	svcIn := &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: []string{"s"}}
	must(t, stableWaiter(cl).Wait(ctx, svcIn, waitLimit))
	s := waitService(t, cl, "c1", "s", "a steady state", func(s ecstypes.Service) bool { return eventSaid(s.Events, "has reached a steady state") })
	if s.RunningCount != 2 || s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted {
		t.Fatalf("running %d, rollout %s", s.RunningCount, s.Deployments[0].RolloutState)
	}
	tasks := serviceTasks(t, cl, "c1", "s", ecstypes.DesiredStatusRunning)
	if len(tasks) != 2 {
		t.Fatalf("%d tasks", len(tasks))
	}
	ids := map[string]bool{}
	for _, task := range tasks {
		ids[lastSegment(aws.ToString(task.TaskArn))] = true
		if aws.ToString(task.Group) != "service:s" || aws.ToString(task.StartedBy) != aws.ToString(s.Deployments[0].Id) ||
			aws.ToString(task.LastStatus) != "RUNNING" || taskIP(task) == "" {
			t.Fatalf("task %s: group %s startedBy %s status %s ip %q", aws.ToString(task.TaskArn), aws.ToString(task.Group),
				aws.ToString(task.StartedBy), aws.ToString(task.LastStatus), taskIP(task))
		}
	}
	pids := waitPids(t, marks, 2)
	if len(pids) != 2 {
		t.Fatalf("%d live processes for 2 tasks: %v", len(pids), pids)
	}
	for _, id := range pids {
		if !ids[id] {
			t.Fatalf("a process of task %s, which the service does not list (%v)", id, ids)
		}
	}
	if !eventSaid(s.Events, "(service s) has started 2 tasks: (task ") {
		t.Fatalf("events %q", eventMessages(s.Events))
	}

	// Kill one process: its task stops, the service starts another.
	var victim int
	for pid := range pids {
		victim = pid
		break
	}
	victimTask := pids[victim]
	must(t, syscall.Kill(victim, syscall.SIGKILL))
	stopped := waitTask(t, cl, "c1", victimTask, "STOPPED")
	if stopped.StopCode != ecstypes.TaskStopCodeEssentialContainerExited || stopped.Containers[0].ExitCode == nil ||
		!strings.Contains(aws.ToString(stopped.StoppedReason), "Essential container in task exited") {
		t.Fatalf("killed task: stopCode %s reason %q exit %v", stopped.StopCode, aws.ToString(stopped.StoppedReason), stopped.Containers[0].ExitCode)
	}
	waitService(t, cl, "c1", "s", "a replacement task", func(s ecstypes.Service) bool {
		return s.RunningCount == 2 && len(livePids(t, marks)) == 2 && !sameKeys(livePids(t, marks), pids)
	})
	must(t, stableWaiter(cl).Wait(ctx, svcIn, waitLimit))
	before := waitPids(t, marks, 2)

	// A deployment of an unmapped image: its tasks cannot start, the circuit breaker
	// trips and the service rolls back to app:1; the old processes never stop.
	_, err = cl.RegisterTaskDefinition(ctx, appTaskDef("app", "test/missing:2", marks))
	must(t, err)
	up, err := cl.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c1"), Service: aws.String("s"), TaskDefinition: aws.String("app:2")})
	must(t, err)
	bad := aws.ToString(up.Service.Deployments[0].Id)
	s = waitService(t, cl, "c1", "s", "the rollback", func(s ecstypes.Service) bool {
		return eventSaid(s.Events, "rolling back to deployment")
	})
	if !eventSaid(s.Events, "(service s) (deployment "+bad+") deployment failed: tasks failed to start.") {
		t.Fatalf("events %q", eventMessages(s.Events))
	}
	if p := s.Deployments[0]; !strings.HasSuffix(aws.ToString(p.TaskDefinition), ":task-definition/app:1") || aws.ToString(p.Status) != "PRIMARY" {
		t.Fatalf("primary after rollback: %s %s", aws.ToString(p.Status), aws.ToString(p.TaskDefinition))
	}
	must(t, stableWaiter(cl).Wait(ctx, svcIn, waitLimit))
	if after := livePids(t, marks); !sameKeys(after, before) {
		t.Fatalf("the old tasks' processes changed during the failed deployment: %v -> %v", before, after)
	}
	failed := 0
	for _, task := range serviceTasks(t, cl, "c1", "s", ecstypes.DesiredStatusStopped) {
		if !strings.HasSuffix(aws.ToString(task.TaskDefinitionArn), ":2") {
			continue
		}
		failed++
		if task.StopCode != ecstypes.TaskStopCodeTaskFailedToStart || !strings.Contains(aws.ToString(task.StoppedReason), "CannotPullContainerError") {
			t.Fatalf("failed task: %s %q", task.StopCode, aws.ToString(task.StoppedReason))
		}
	}
	if failed < 3 {
		t.Fatalf("%d failed tasks before the circuit breaker tripped, want its threshold of 3", failed)
	}
	s = waitService(t, cl, "c1", "s", "the rollback completed", func(s ecstypes.Service) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted
	})

	// awslogs: the program's lines are in the task's stream.
	id := lastSegment(aws.ToString(serviceTasks(t, cl, "c1", "s", ecstypes.DesiredStatusRunning)[0].TaskArn))
	lg := cloudwatchlogs.NewFromConfig(cfg)
	ev, err := lg.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/ecs/app"),
		LogStreamName: aws.String("ecs/app/" + id), StartFromHead: aws.Bool(true)})
	must(t, err)
	if len(ev.Events) == 0 || !strings.Contains(aws.ToString(ev.Events[0].Message), "ecsapp") {
		t.Fatalf("log events of %s: %+v", id, ev.Events)
	}

	// The AWS CLI reads the service.
	got := awsCLI(t, c.Endpoint())("ecs", "describe-services", "--region", "eu-west-1", "--cluster", "c1", "--services", "s")
	svc := got["services"].([]any)[0].(map[string]any)
	dep := svc["deployments"].([]any)[0].(map[string]any)
	if svc["status"] != "ACTIVE" || svc["runningCount"] != 2.0 || dep["rolloutState"] != "COMPLETED" {
		t.Fatalf("aws ecs describe-services: %v", svc)
	}
	// The wire answer itself carries only ECS's fields (clients drop unknown ones anyway).
	req, _ := http.NewRequest(http.MethodPost, c.Endpoint(), strings.NewReader(`{"cluster":"c1","services":["s"]}`))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeServices")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x/20260101/eu-west-1/ecs/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"serviceName":"s"`) || strings.Contains(string(raw), `"lc`) {
		t.Fatalf("raw DescribeServices: %d %s", resp.StatusCode, raw)
	}

	// Delete (force): the tasks drain and stop, the service goes INACTIVE.
	_, err = cl.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("c1"), Service: aws.String("s"), Force: aws.Bool(true)})
	must(t, err)
	waitService(t, cl, "c1", "s", "INACTIVE", func(s ecstypes.Service) bool { return aws.ToString(s.Status) == "INACTIVE" })
	if left := livePids(t, marks); len(left) != 0 {
		t.Fatalf("processes left after deleting the service: %v", left)
	}
}

// TestECSRunTask: a one-off task runs to STOPPED with its exit code (TasksStopped waiter);
// a long-running one is RUNNING (TasksRunning waiter) until StopTask.
func TestECSRunTask(t *testing.T) {
	imageMap, marks := ecsApp(t)
	c := startCloud(t, Options{ImageMap: imageMap})
	// Retrying clients, as every real one: under load the SDK's transport can lose a
	// connection to a known client-side race (aws-sdk-go-v2#1825), which it retries.
	cfg := sdk(c, true).cfg
	cl := ecs.NewFromConfig(cfg)
	ctx := context.Background()
	subnet := defaultSubnets(t, ec2.NewFromConfig(cfg))[0]
	_, err := cl.CreateCluster(ctx, &ecs.CreateClusterInput{})
	must(t, err)
	_, err = cl.RegisterTaskDefinition(ctx, appTaskDef("job", "test/app", marks))
	must(t, err)
	run := func(env ...ecstypes.KeyValuePair) string {
		out, err := cl.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("job"), LaunchType: ecstypes.LaunchTypeFargate,
			NetworkConfiguration: awsvpc(subnet), StartedBy: aws.String("rudderctl"),
			Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String("app"), Environment: env}}}})
		must(t, err)
		if len(out.Tasks) != 1 || aws.ToString(out.Tasks[0].LastStatus) != "PROVISIONING" {
			t.Fatalf("RunTask answered %+v", out.Tasks)
		}
		return aws.ToString(out.Tasks[0].TaskArn)
	}
	waitOpts := func(o *ecs.TasksStoppedWaiterOptions) { o.MinDelay = Tick(); o.MaxDelay = Tick() }

	job := run(ecstypes.KeyValuePair{Name: aws.String("EXIT_CODE"), Value: aws.String("3")})
	must(t, ecs.NewTasksStoppedWaiter(cl, waitOpts).Wait(ctx, &ecs.DescribeTasksInput{Tasks: []string{job}}, waitLimit))
	dt, err := cl.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{job}})
	must(t, err)
	task := dt.Tasks[0]
	if code := task.Containers[0].ExitCode; code == nil || *code != 3 || task.StopCode != ecstypes.TaskStopCodeEssentialContainerExited ||
		aws.ToString(task.Group) != "family:job" || aws.ToString(task.StartedBy) != "rudderctl" {
		t.Fatalf("job: exit %v stopCode %s group %s", task.Containers[0].ExitCode, task.StopCode, aws.ToString(task.Group))
	}

	server := run()
	must(t, ecs.NewTasksRunningWaiter(cl, func(o *ecs.TasksRunningWaiterOptions) { o.MinDelay = Tick(); o.MaxDelay = Tick() }).
		Wait(ctx, &ecs.DescribeTasksInput{Tasks: []string{server}}, waitLimit))
	_, err = cl.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(server), Reason: aws.String("done with it")})
	must(t, err)
	must(t, ecs.NewTasksStoppedWaiter(cl, waitOpts).Wait(ctx, &ecs.DescribeTasksInput{Tasks: []string{server}}, waitLimit))
	dt, err = cl.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{server}})
	must(t, err)
	if task := dt.Tasks[0]; task.StopCode != ecstypes.TaskStopCodeUserInitiated || aws.ToString(task.StoppedReason) != "done with it" {
		t.Fatalf("stopped task: %s %q", task.StopCode, aws.ToString(task.StoppedReason))
	}
	if left := livePids(t, marks); len(left) != 0 {
		t.Fatalf("processes left: %v", left)
	}

	// A secret the cloud cannot resolve: the task fails to start, as ECS words it.
	withSecret := appTaskDef("secretive", "test/app", marks)
	withSecret.ContainerDefinitions[0].Secrets = []ecstypes.Secret{{Name: aws.String("TOKEN"),
		ValueFrom: aws.String("arn:aws:secretsmanager:eu-west-1:000000000000:secret:token")}}
	_, err = cl.RegisterTaskDefinition(ctx, withSecret)
	must(t, err)
	out, err := cl.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("secretive"), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: awsvpc(subnet)})
	must(t, err)
	arn := aws.ToString(out.Tasks[0].TaskArn)
	must(t, ecs.NewTasksStoppedWaiter(cl, waitOpts).Wait(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}}, waitLimit))
	dt, err = cl.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}})
	must(t, err)
	if task := dt.Tasks[0]; task.StopCode != ecstypes.TaskStopCodeTaskFailedToStart ||
		!strings.HasPrefix(aws.ToString(task.StoppedReason), "ResourceInitializationError: unable to pull secrets") ||
		!strings.Contains(aws.ToString(task.StoppedReason), "ResourceNotFoundException") {
		t.Fatalf("task with a missing secret: %s %q", task.StopCode, aws.ToString(task.StoppedReason))
	}

	// Secrets that exist reach the container's environment: the program exits with the
	// code a secret holds (whole, or one key of a JSON secret).
	sm := secretsmanager.NewFromConfig(cfg)
	plain, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("exit-code"), SecretString: aws.String("5")})
	must(t, err)
	doc, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("codes"), SecretString: aws.String(`{"code":"6"}`)})
	must(t, err)
	for valueFrom, want := range map[string]int32{aws.ToString(plain.ARN): 5, aws.ToString(doc.ARN) + ":code::": 6} {
		in := appTaskDef("secret-exit", "test/app", marks)
		in.ContainerDefinitions[0].Secrets = []ecstypes.Secret{{Name: aws.String("EXIT_CODE"), ValueFrom: aws.String(valueFrom)}}
		_, err = cl.RegisterTaskDefinition(ctx, in)
		must(t, err)
		out, err := cl.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("secret-exit"), LaunchType: ecstypes.LaunchTypeFargate,
			NetworkConfiguration: awsvpc(subnet)})
		must(t, err)
		arn := aws.ToString(out.Tasks[0].TaskArn)
		must(t, ecs.NewTasksStoppedWaiter(cl, waitOpts).Wait(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}}, waitLimit))
		dt, err = cl.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}})
		must(t, err)
		if code := aws.ToInt32(dt.Tasks[0].Containers[0].ExitCode); code != want {
			t.Fatalf("secret %s: exit %d (%q), want %d", valueFrom, code, aws.ToString(dt.Tasks[0].StoppedReason), want)
		}
	}
}

// TestECSContainerHealth: a task counts as healthy only once its container health check
// passes; a service whose tasks fail theirs has them stopped ("Task failed container health
// checks") until the circuit breaker fails the deployment (nothing to roll back to).
func TestECSContainerHealth(t *testing.T) {
	imageMap, marks := ecsApp(t)
	c := startCloud(t, Options{ImageMap: imageMap})
	cfg := sdk(c, true).cfg
	cl := ecs.NewFromConfig(cfg)
	ctx := context.Background()
	subnet := defaultSubnets(t, ec2.NewFromConfig(cfg))[0]
	_, err := cl.CreateCluster(ctx, &ecs.CreateClusterInput{})
	must(t, err)
	service := func(name, check string) {
		in := appTaskDef(name, "test/app", marks)
		in.ContainerDefinitions[0].HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD-SHELL", check},
			Interval: aws.Int32(1), Timeout: aws.Int32(2), Retries: aws.Int32(1)}
		_, err := cl.RegisterTaskDefinition(ctx, in)
		must(t, err)
		_, err = cl.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String(name), TaskDefinition: aws.String(name),
			DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: awsvpc(subnet),
			DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
				DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}}})
		must(t, err)
	}
	service("good", "true")
	service("bad", "exit 1")

	s := waitService(t, cl, "default", "good", "COMPLETED", func(s ecstypes.Service) bool {
		return s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted
	})
	if tasks := serviceTasks(t, cl, "default", "good", ecstypes.DesiredStatusRunning); len(tasks) != 1 || tasks[0].HealthStatus != ecstypes.HealthStatusHealthy {
		t.Fatalf("good service: %d tasks %+v", len(tasks), tasks)
	}
	s = waitService(t, cl, "default", "bad", "FAILED", func(s ecstypes.Service) bool {
		return s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateFailed
	})
	if s.Deployments[0].FailedTasks < 3 || !strings.Contains(aws.ToString(s.Deployments[0].RolloutStateReason), "circuit breaker") {
		t.Fatalf("bad service: failed %d, reason %q", s.Deployments[0].FailedTasks, aws.ToString(s.Deployments[0].RolloutStateReason))
	}
	for _, task := range serviceTasks(t, cl, "default", "bad", ecstypes.DesiredStatusStopped) {
		if aws.ToString(task.StoppedReason) != "Task failed container health checks" || task.StopCode != ecstypes.TaskStopCodeServiceSchedulerInitiated {
			t.Fatalf("bad task stopped: %s %q", task.StopCode, aws.ToString(task.StoppedReason))
		}
	}
}

func waitTask(t *testing.T, cl *ecs.Client, cluster, id, status string) ecstypes.Task {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		dt, err := cl.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{id}})
		must(t, err)
		if len(dt.Tasks) == 1 && aws.ToString(dt.Tasks[0].LastStatus) == status {
			return dt.Tasks[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s never reached %s", id, status)
		}
		time.Sleep(Tick())
	}
}

func taskIP(task ecstypes.Task) string {
	for _, a := range task.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" {
				return aws.ToString(d.Value)
			}
		}
	}
	return ""
}

func lastSegment(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func sameKeys[V any](a, b map[int]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// TestECSRestart: the tasks of a service outlive no restart of the cloud: after one, they
// are STOPPED ("Task stopped: local cloud restarted") and the scheduler starts new ones.
func TestECSRestart(t *testing.T) {
	imageMap, marks := ecsApp(t)
	dir := t.TempDir()
	c := startCloud(t, Options{ImageMap: imageMap, StateDir: dir})
	cfg := sdk(c, true).cfg
	cl := ecs.NewFromConfig(cfg)
	ctx := context.Background()
	_, err := cl.CreateCluster(ctx, &ecs.CreateClusterInput{})
	must(t, err)
	_, err = cl.RegisterTaskDefinition(ctx, appTaskDef("app", "test/app", marks))
	must(t, err)
	_, err = cl.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("s"), TaskDefinition: aws.String("app"),
		DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: awsvpc(defaultSubnets(t, ec2.NewFromConfig(cfg))[0])})
	must(t, err)
	svcIn := &ecs.DescribeServicesInput{Services: []string{"s"}}
	must(t, stableWaiter(cl).Wait(ctx, svcIn, waitLimit))
	old := serviceTasks(t, cl, "default", "s", ecstypes.DesiredStatusRunning)
	if len(old) != 1 || len(waitPids(t, marks, 1)) != 1 {
		t.Fatalf("before the restart: %d tasks, processes %v", len(old), livePids(t, marks))
	}
	must(t, c.Close())
	if left := livePids(t, marks); len(left) != 0 {
		t.Fatalf("processes left after Close: %v", left)
	}

	c = startCloud(t, Options{ImageMap: imageMap, StateDir: dir})
	cl = ecs.NewFromConfig(sdk(c, true).cfg)
	stopped := waitTask(t, cl, "default", aws.ToString(old[0].TaskArn), "STOPPED")
	if aws.ToString(stopped.StoppedReason) != "Task stopped: local cloud restarted" {
		t.Fatalf("old task: %q", aws.ToString(stopped.StoppedReason))
	}
	waitService(t, cl, "default", "s", "a new task", func(s ecstypes.Service) bool { return s.RunningCount == 1 })
	must(t, stableWaiter(cl).Wait(ctx, svcIn, waitLimit))
	now := serviceTasks(t, cl, "default", "s", ecstypes.DesiredStatusRunning)
	if len(now) != 1 || aws.ToString(now[0].TaskArn) == aws.ToString(old[0].TaskArn) || len(waitPids(t, marks, 1)) != 1 {
		t.Fatalf("after the restart: tasks %d, processes %v", len(now), livePids(t, marks))
	}
}

// TestECSStopFirstDeployment: minimumHealthyPercent 0 / maximumPercent 100 (a task that
// must never run twice) stops the old task before it starts the new one; a desired count
// alone changes the primary deployment; propagateTags SERVICE tags the tasks.
func TestECSStopFirstDeployment(t *testing.T) {
	imageMap, marks := ecsApp(t)
	c := startCloud(t, Options{ImageMap: imageMap})
	cfg := sdk(c, true).cfg
	cl := ecs.NewFromConfig(cfg)
	ctx := context.Background()
	_, err := cl.CreateCluster(ctx, &ecs.CreateClusterInput{})
	must(t, err)
	for range 2 {
		_, err = cl.RegisterTaskDefinition(ctx, appTaskDef("one", "test/app", marks))
		must(t, err)
	}
	_, err = cl.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("one"), TaskDefinition: aws.String("one:1"),
		DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: awsvpc(defaultSubnets(t, ec2.NewFromConfig(cfg))[0]),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(0), MaximumPercent: aws.Int32(100)},
		PropagateTags:           ecstypes.PropagateTagsService, Tags: []ecstypes.Tag{{Key: aws.String("rudderctl:stack"), Value: aws.String("t")}}})
	must(t, err)
	svcIn := &ecs.DescribeServicesInput{Services: []string{"one"}}
	must(t, stableWaiter(cl).Wait(ctx, svcIn, waitLimit))
	old := serviceTasks(t, cl, "default", "one", ecstypes.DesiredStatusRunning)[0]
	lt, err := cl.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: old.TaskArn})
	must(t, err)
	if len(lt.Tags) != 1 || aws.ToString(lt.Tags[0].Key) != "rudderctl:stack" {
		t.Fatalf("task tags %v", lt.Tags)
	}

	_, err = cl.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("one"), TaskDefinition: aws.String("one:2")})
	must(t, err)
	s := waitService(t, cl, "default", "one", "the new deployment completed", func(s ecstypes.Service) bool {
		return len(s.Deployments) == 1 && strings.HasSuffix(aws.ToString(s.Deployments[0].TaskDefinition), "one:2") &&
			s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted
	})
	// The new task was created only after the old one had stopped (the room's own times).
	oldNow := waitTask(t, cl, "default", aws.ToString(old.TaskArn), "STOPPED")
	nw := serviceTasks(t, cl, "default", "one", ecstypes.DesiredStatusRunning)
	if len(nw) != 1 || nw[0].CreatedAt.Before(*oldNow.StoppedAt) {
		t.Fatalf("the new task (created %v) overlapped the old one (stopped %v); events %q",
			nw[0].CreatedAt, oldNow.StoppedAt, eventMessages(s.Events))
	}

	_, err = cl.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("one"), DesiredCount: aws.Int32(2)})
	must(t, err)
	s = waitService(t, cl, "default", "one", "2 running", func(s ecstypes.Service) bool { return s.RunningCount == 2 })
	if len(s.Deployments) != 1 || s.Deployments[0].DesiredCount != 2 {
		t.Fatalf("scaling made a deployment: %+v", s.Deployments)
	}
}
