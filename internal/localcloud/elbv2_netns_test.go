package localcloud

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/rudderctl/rudderctl/internal/localcloud/taskrun"
	"github.com/rudderctl/rudderctl/internal/testenv"
	"github.com/rudderctl/rudderctl/internal/testfn"
)

// TestALBWithNetnsTasks: the ALB checks and serves two tasks that run in network
// namespaces (each on its own address of the default subnet, same port), and a task whose
// process is killed costs no failed request: the proxy goes to the other task.
func TestALBWithNetnsTasks(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	must(t, os.MkdirAll(app, 0o755))
	bin, err := os.ReadFile(testfn.Build(t, "./taskrun/testdata/echo"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(app, "echo"), bin, 0o755))
	imageMap := filepath.Join(dir, "images.yaml")
	must(t, os.WriteFile(imageMap, []byte("images:\n  - image: test/echo\n    dir: app\n    command: [./echo]\n    portEnv: PORT\n"), 0o644))
	runner, err := taskrun.New(taskrun.Options{Dir: filepath.Join(dir, "tasks"), ImageMap: imageMap, Sandbox: taskrun.ModeNetns})
	if err != nil {
		testenv.Missing(t, "network namespaces for tasks: %v", err)
	}
	t.Cleanup(runner.Close)

	c := startCloud(t, Options{})
	e := newALB(t, c, "netns")
	subnets, err := e.ec2.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{SubnetIds: e.subnets[:1]})
	must(t, err)
	cidr := aws.ToString(subnets.Subnets[0].CidrBlock)
	var tasks []*taskrun.Task
	for _, id := range []string{"albtask1", "albtask2"} {
		task, err := runner.Start(context.Background(), taskrun.Spec{TaskID: id, SubnetCIDR: cidr, StopTimeout: 5 * time.Second,
			Containers: []taskrun.Container{{Name: "web", Image: "test/echo:1", Ports: []int{9090}, Essential: true,
				Env: map[string]string{"NAME": id, "PORT": "9090"}}}})
		must(t, err)
		t.Cleanup(func() { task.Stop("test over") })
		tasks = append(tasks, task)
		ip, port := task.Addr(9090)
		_, err = e.elb.RegisterTargets(context.Background(), &elb.RegisterTargetsInput{TargetGroupArn: aws.String(e.tgARN),
			Targets: []elbtypes.TargetDescription{{Id: aws.String(ip), Port: aws.Int32(int32(port))}}})
		must(t, err)
	}
	for _, task := range tasks {
		ip, port := task.Addr(9090)
		e.waitTarget(t, ip, port, "healthy")
	}
	served := map[string]int{}
	for range 6 {
		code, body := get(t, e.url+"/")
		if code != 200 {
			t.Fatalf("through the ALB: %d %s", code, body)
		}
		served[strings.Fields(body)[1]]++ // name=albtaskN
	}
	if served["name=albtask1"] != 3 || served["name=albtask2"] != 3 {
		t.Fatalf("both tasks should serve: %v", served)
	}

	// Kill the first task's process: until its checks fail, the proxy still picks it and
	// must go to the other task.
	must(t, syscall.Kill(tasks[0].Pid("web"), syscall.SIGKILL))
	<-tasks[0].Done()
	for range 6 {
		if code, body := get(t, e.url+"/"); code != 200 || !strings.Contains(body, "name=albtask2") {
			t.Fatalf("after the kill: %d %s", code, body)
		}
	}
	ip, port := tasks[0].Addr(9090)
	e.waitTarget(t, ip, port, "unhealthy")
}
