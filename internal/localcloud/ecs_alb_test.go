package localcloud

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/rudderctl/rudderctl/internal/testenv"
)

// requestLoop sends requests through the ALB until stopped, counting the answers by task
// and the failures.
type requestLoop struct {
	url      string
	mu       sync.Mutex
	byTask   map[string]int
	failures []string
	ok       atomic.Int64
	stop     chan struct{}
	done     chan struct{}
}

func startLoop(url string) *requestLoop {
	l := &requestLoop{url: url, byTask: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		client := &http.Client{Timeout: 10 * time.Second}
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			l.once(client)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return l
}

func (l *requestLoop) once(client *http.Client) {
	resp, err := client.Get(l.url + "/")
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failures = append(l.failures, err.Error())
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	task, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "task=")
	if resp.StatusCode != http.StatusOK || !ok {
		l.failures = append(l.failures, resp.Status+" "+string(b))
		return
	}
	l.byTask[lastSegment(task)]++
	l.ok.Add(1)
}

func (l *requestLoop) end() (byTask map[string]int, failures []string) {
	close(l.stop)
	<-l.done
	return l.byTask, l.failures
}

// TestECSServiceBehindALB: a service of 2 tasks registered in an ALB's target group; both
// tasks answer through the ALB; a rolling update under a steady request loop completes
// with no failed request (new tasks healthy first, old ones drained, then stopped); a
// deployment whose tasks fail the ALB's health checks has them stopped ("Task failed ELB
// health checks"), trips the circuit breaker and rolls back while the old tasks answer.
func TestECSServiceBehindALB(t *testing.T) {
	for _, sandbox := range []string{"netns", "loopback"} {
		t.Run(sandbox, func(t *testing.T) {
			if sandbox == "netns" && os.Geteuid() != 0 {
				testenv.Missing(t, "network namespaces need root")
			}
			testServiceBehindALB(t, sandbox)
		})
	}
}

func testServiceBehindALB(t *testing.T, sandbox string) {
	imageMap, marks := ecsApp(t)
	c := startCloud(t, Options{ImageMap: imageMap, Sandbox: sandbox})
	e := newALB(t, c, "ecsalb")
	ctx := context.Background()
	_, err := e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(e.tgARN),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("1")}}})
	must(t, err)
	cl := ecs.NewFromConfig(sdk(c, true).cfg)
	_, err = cl.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c1")})
	must(t, err)
	taskDef := func(version, health string) {
		in := appTaskDef("web", "test/app:1", marks)
		env := &in.ContainerDefinitions[0].Environment
		*env = append(*env, ecstypes.KeyValuePair{Name: aws.String("VERSION"), Value: aws.String(version)})
		if health != "" {
			*env = append(*env, ecstypes.KeyValuePair{Name: aws.String("HEALTH_STATUS"), Value: aws.String(health)})
		}
		_, err := cl.RegisterTaskDefinition(ctx, in)
		must(t, err)
	}
	taskDef("1", "")
	_, err = cl.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("c1"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web:1"),
		DesiredCount: aws.Int32(2), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: awsvpc(e.subnets[:2]...),
		LoadBalancers:                 []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(e.tgARN), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}},
		HealthCheckGracePeriodSeconds: aws.Int32(0),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(100), MaximumPercent: aws.Int32(200),
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}},
	})
	must(t, err)
	svcIn := &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: []string{"web"}}
	must(t, stableWaiter(cl).Wait(ctx, svcIn, waitLimit))
	s := waitService(t, cl, "c1", "web", "a steady state", func(s ecstypes.Service) bool { return eventSaid(s.Events, "has reached a steady state") })
	if !eventSaid(s.Events, "registered 1 targets in (target-group "+e.tgARN+")") {
		t.Fatalf("events %q", eventMessages(s.Events))
	}
	first := map[string]bool{}
	for _, task := range serviceTasks(t, cl, "c1", "web", ecstypes.DesiredStatusRunning) {
		first[lastSegment(aws.ToString(task.TaskArn))] = true
	}

	// Both tasks answer through the ALB.
	loop := startLoop(e.url)
	for loop.ok.Load() < 20 {
		time.Sleep(10 * time.Millisecond)
	}
	byTask, failures := loop.end()
	if len(byTask) != 2 || len(failures) != 0 {
		t.Fatalf("through the ALB: answers by task %v, failures %v", byTask, failures)
	}
	for id := range byTask {
		if !first[id] {
			t.Fatalf("task %s answered, not one of the service's %v", id, first)
		}
	}

	// A rolling update under a steady request loop: no request fails.
	taskDef("2", "")
	loop = startLoop(e.url)
	_, err = cl.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c1"), Service: aws.String("web"), TaskDefinition: aws.String("web:2")})
	must(t, err)
	s = waitService(t, cl, "c1", "web", "the rolling update completed", func(s ecstypes.Service) bool {
		return len(s.Deployments) == 1 && strings.HasSuffix(aws.ToString(s.Deployments[0].TaskDefinition), "web:2") &&
			s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted
	})
	must(t, stableWaiter(cl).Wait(ctx, svcIn, waitLimit))
	byTask, failures = loop.end()
	t.Logf("rolling update: %d requests answered by %d tasks, %d failed", loop.ok.Load(), len(byTask), len(failures))
	if len(failures) != 0 {
		t.Fatalf("requests failed during the rolling update: %v", failures)
	}
	second := map[string]bool{}
	for _, task := range serviceTasks(t, cl, "c1", "web", ecstypes.DesiredStatusRunning) {
		id := lastSegment(aws.ToString(task.TaskArn))
		if first[id] {
			t.Fatalf("task %s of web:1 still runs after the update", id)
		}
		second[id] = true
	}
	for _, task := range serviceTasks(t, cl, "c1", "web", ecstypes.DesiredStatusStopped) {
		if first[lastSegment(aws.ToString(task.TaskArn))] && task.StopCode != ecstypes.TaskStopCodeServiceSchedulerInitiated {
			t.Fatalf("old task stopped with %s %q", task.StopCode, aws.ToString(task.StoppedReason))
		}
	}

	// Tasks that never pass the ALB's health check: stopped, circuit breaker, rollback.
	taskDef("3", "500")
	loop = startLoop(e.url)
	_, err = cl.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c1"), Service: aws.String("web"), TaskDefinition: aws.String("web:3")})
	must(t, err)
	s = waitService(t, cl, "c1", "web", "the rollback", func(s ecstypes.Service) bool { return eventSaid(s.Events, "rolling back to deployment") })
	must(t, stableWaiter(cl).Wait(ctx, svcIn, waitLimit))
	byTask, failures = loop.end()
	t.Logf("failed deployment: %d requests answered by %v, %d failed", loop.ok.Load(), byTask, len(failures))
	if len(failures) != 0 {
		t.Fatalf("requests failed while the bad deployment ran: %v", failures)
	}
	for id := range byTask {
		if !second[id] {
			t.Fatalf("task %s answered; only web:2's tasks %v should", id, second)
		}
	}
	unhealthy := 0
	for _, task := range serviceTasks(t, cl, "c1", "web", ecstypes.DesiredStatusStopped) {
		if strings.HasSuffix(aws.ToString(task.TaskDefinitionArn), "web:3") {
			unhealthy++
			if aws.ToString(task.StoppedReason) != "Task failed ELB health checks in (target-group "+e.tgARN+")" {
				t.Fatalf("web:3 task stopped: %s %q", task.StopCode, aws.ToString(task.StoppedReason))
			}
		}
	}
	if unhealthy < 3 {
		t.Fatalf("%d web:3 tasks stopped before the rollback, want the threshold of 3", unhealthy)
	}
	for _, task := range serviceTasks(t, cl, "c1", "web", ecstypes.DesiredStatusRunning) {
		if !second[lastSegment(aws.ToString(task.TaskArn))] {
			t.Fatalf("after the rollback task %s runs %s", aws.ToString(task.TaskArn), aws.ToString(task.TaskDefinitionArn))
		}
	}
}
