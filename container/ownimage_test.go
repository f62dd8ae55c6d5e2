package container

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/container/image"
	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/logsapi"
	"github.com/rudderctl/rudderctl/internal/testfn"
)

// ownImage builds a static rudderctl and its image twice: the digests must be equal.
func ownImage(t *testing.T) *OwnImage {
	t.Helper()
	bin := testfn.Build(t, "../cmd/rudderctl") // static: CGO off
	var digests []string
	var own *OwnImage
	for range 2 {
		img, err := image.Build(context.Background(), image.BuildOptions{Binary: bin})
		if err != nil {
			t.Fatal(err)
		}
		if own, err = NewOwnImage(context.Background(), img); err != nil {
			t.Fatal(err)
		}
		digests = append(digests, own.Digest)
	}
	if digests[0] != digests[1] {
		t.Fatalf("two builds of one binary gave %s and %s", digests[0], digests[1])
	}
	return own
}

// runOwnImage runs rudderctl's image from the stack's repository as a one-off task
// (`rudderctl --version`) and returns what it printed.
func runOwnImage(t *testing.T, cl *awsapi.Session, n Names) string {
	t.Helper()
	ctx := context.Background()
	repo, err := cl.ECR().FindRepository(ctx, n.Repository)
	if err != nil {
		t.Fatal(err)
	}
	role, err := cl.IAM().FindRole(ctx, n.Role)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := cl.ECS().FindService(ctx, n.Cluster, n.Service)
	if err != nil {
		t.Fatal(err)
	}
	td, err := cl.ECS().RegisterTaskDefinition(ctx, ecsapi.TaskDefSpec{Family: n.Base + "-admin", ExecutionRole: role.ARN, CPU: "256", Memory: "512",
		Tags: n.Tags(), Containers: []ecsapi.ContainerSpec{{Name: "rudderctl", Image: repo.URI + ":" + ImageTag, Essential: true,
			Command: []string{"--version"}, LogGroup: n.LogGroup, LogRegion: testRegion, LogStreamPrefix: "admin"}}})
	if err != nil {
		t.Fatal(err)
	}
	task, err := cl.ECS().RunTask(ctx, ecsapi.RunTaskSpec{Cluster: n.Cluster, TaskDef: td.ARN, Subnets: sv.Subnets, SecurityGroups: sv.SecurityGroups, Tags: n.Tags()})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		ts, err := cl.ECS().DescribeTasks(ctx, n.Cluster, []string{task.ARN})
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) == 1 && ts[0].LastStatus == "STOPPED" {
			c := ts[0].Containers[0]
			if c.ExitCode == nil || *c.ExitCode != 0 {
				t.Fatalf("rudderctl's image stopped: %s (%+v)", ts[0].StoppedReason, c)
			}
			break
		}
		if i > 600 {
			t.Fatalf("the task of rudderctl's image did not stop: %+v", ts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cl.ECS().DeregisterTaskDefinition(ctx, td.ARN); err != nil {
		t.Fatal(err)
	}
	if err := cl.ECS().DeleteTaskDefinition(ctx, td.ARN); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = cl.Logs().FilterEvents(ctx, n.LogGroup, 0, func(e logsapi.Event) error {
		if strings.HasPrefix(e.Stream, "admin/rudderctl/"+task.ID()) {
			out.WriteString(e.Message + "\n")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}
