package backendnodes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/rdsapi"
)

// noRetryInjected makes an injected "fail-mutating" fault stop the run (as a killed process
// would) instead of being retried away by the SDK.
func noRetryInjected(o *retry.StandardOptions) {
	o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
		if strings.Contains(err.Error(), "injected fault") {
			return aws.FalseTernary
		}
		return aws.UnknownTernary
	})}, o.Retryables...)
}

// TestNodesOnLocalCloud is the acceptance path on one stack (shared by the steps: a deploy
// of the whole topology takes a while): deploy --count 3 with events through the public
// ALB arriving exactly once; a no-op redeploy; transformer batches over 6 MB of large events
// sent to the ECS transformer by the sidecars and delivered whole; node 2 killed while events flow and brought
// back as the same node; scale 3 -> 2 while events flow (node 3 drained, then removed with
// a final snapshot); a scale down refused while a node has pending jobs; destroy.
func TestNodesOnLocalCloud(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys the whole topology into the local cloud")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the nodes run in network namespaces (two containers of a task share localhost): run as root")
		}
		t.Skip("needs root: the nodes run in network namespaces")
	}
	ctx := context.Background()
	const stackName = "nd"
	top := startTopology(t, stackName)
	n := NamesFor(stackName)

	start := time.Now()
	r := top.deploy(t, nodesInput(t, stackName, 3, "60s"))
	t.Logf("deploy --count 3: %s", time.Since(start).Round(time.Millisecond))
	if !r.Applied || !strings.HasPrefix(r.URL, "http://127.77.") {
		t.Fatalf("deploy result %+v", r)
	}

	// Three services, three databases, INSTANCE_IDs 1..3, distinct HOSTNAMEs.
	hostnames := map[string]bool{}
	for i := 1; i <= 3; i++ {
		node := n.Node(i)
		s, err := top.cl.ECS().FindService(ctx, n.Cluster, node.Service)
		if err != nil || s.Running != 1 || s.Desired != 1 || s.MinHealthy != 0 || s.MaxPercent != 100 {
			t.Fatalf("node %d service: %+v %v", i, s, err)
		}
		td, err := top.cl.ECS().FindTaskDefinition(ctx, s.TaskDef)
		if err != nil {
			t.Fatal(err)
		}
		env := td.Spec.Containers[0].Env
		for _, c := range td.Spec.Containers {
			if c.Name == ServerContainer {
				env = c.Env
			}
		}
		in, err := top.cl.RDS().FindInstance(ctx, node.DB)
		if err != nil || in.Status != "available" {
			t.Fatalf("node %d database: %+v %v", i, in, err)
		}
		if env["INSTANCE_ID"] != fmt.Sprint(i) || env["JOBS_DB_PORT"] != fmt.Sprint(in.Port) || hostnames[env["HOSTNAME"]] {
			t.Fatalf("node %d: INSTANCE_ID %s HOSTNAME %s JOBS_DB_PORT %s (its database: %d)", i, env["INSTANCE_ID"], env["HOSTNAME"], env["JOBS_DB_PORT"], in.Port)
		}
		hostnames[env["HOSTNAME"]] = true
	}

	// Events through the ALB arrive exactly once, delivered by every node.
	snd := newSender(r.URL)
	for range 30 {
		if !snd.send(5) {
			t.Fatalf("the ALB refused a batch")
		}
	}
	byNode := top.waitArrived(t, snd.ids(), 2*time.Minute)
	// The stand-in names the delivering node (X-Rudder-Instance); the real rudder-server does not.
	if _, which := backendProgram(t); which == "rudder-standin" && len(byNode) != 3 {
		t.Fatalf("deliveries by node %v: want all 3 nodes delivering", byNode)
	}
	t.Logf("150 events arrived once each; by node %v", byNode)
	checkModelWithBoto3(t, top, 3, 80)
	st, err := GetStatus(ctx, top.cl, stackName)
	if err != nil || len(st.Nodes) != 3 {
		t.Fatalf("status: %+v %v", st, err)
	}
	for _, ns := range st.Nodes {
		if ns.TaskState != "RUNNING" || ns.Health != "healthy" || ns.DBState != "available" || ns.PendingJobs == nil {
			t.Fatalf("status of node %d: %+v", ns.Index, ns)
		}
	}

	// No-op redeploy: nothing planned, no mutating call.
	top.cloud.ResetStats()
	if r := top.deploy(t, nodesInput(t, stackName, 3, "60s")); r.Changes != 0 || top.cloud.Stats().MutatingCalls != 0 {
		t.Fatalf("redeploy: %d changes %v, %d mutating calls", r.Changes, r.ChangeList, top.cloud.Stats().MutatingCalls)
	}

	t.Run("batches over 6 MB through the ECS transformer", func(t *testing.T) {
		testLargeBatches(t, top, r.URL, 3)
	})

	t.Run("replacement", func(t *testing.T) {
		before := nodeProcess(t, top, 2)
		first := len(snd.ids())
		stop := snd.loop()
		time.Sleep(time.Second)
		if err := syscall.Kill(before.pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var after proc
		deadline := time.Now().Add(2 * time.Minute)
		for {
			if p, ok := findNodeProcess(top, 2); ok && p.task != before.task && healthyTargets(t, top) == 3 {
				after = p
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("node 2 was not brought back within 2 minutes")
			}
			time.Sleep(300 * time.Millisecond)
		}
		time.Sleep(time.Second)
		stop()
		if after.env["INSTANCE_ID"] != "2" || after.env["HOSTNAME"] != before.env["HOSTNAME"] || after.env["JOBS_DB_PORT"] != before.env["JOBS_DB_PORT"] {
			t.Fatalf("node 2 came back as INSTANCE_ID %s HOSTNAME %s on database port %s (was %s, %s, %s)", after.env["INSTANCE_ID"], after.env["HOSTNAME"],
				after.env["JOBS_DB_PORT"], before.env["INSTANCE_ID"], before.env["HOSTNAME"], before.env["JOBS_DB_PORT"])
		}
		window := snd.ids()[first:]
		top.atLeastOnce = map[string]bool{}
		for _, id := range window {
			top.atLeastOnce[id] = true
		}
		top.waitArrived(t, snd.ids(), 3*time.Minute)
		got, _ := top.sink.counts()
		twice := 0
		for _, id := range window {
			twice += got[id] - 1
		}
		t.Logf("node 2 replaced (task %s -> %s); all %d accepted events arrived (%d accepted during the kill window, %d of those delivered again after it), %d batches refused during the window",
			before.task, after.task, len(snd.ids()), len(window), twice, snd.refused)
	})

	t.Run("scale down drains", func(t *testing.T) {
		stop := snd.loop()
		r := top.deploy(t, nodesInput(t, stackName, 2, "60s"))
		stop()
		if !slices.ContainsFunc(r.ChangeList, func(s string) bool { return strings.Contains(s, "DrainNode") }) {
			t.Fatalf("no drain planned: %v", r.ChangeList)
		}
		if _, err := top.cl.ECS().FindService(ctx, n.Cluster, n.Node(3).Service); err == nil {
			t.Fatal("node 3's service is still there")
		}
		if _, err := top.cl.RDS().FindInstance(ctx, n.Node(3).DB); err == nil {
			t.Fatal("node 3's database is still there")
		}
		snaps, err := top.cl.RDS().ListSnapshots(ctx, n.Node(3).DB)
		if err != nil || len(snaps) != 1 || !strings.HasPrefix(snaps[0].ID, n.Node(3).DB+"-final-") {
			t.Fatalf("node 3's final snapshot: %+v %v", snaps, err)
		}
		top.waitArrived(t, snd.ids(), 3*time.Minute)
		t.Logf("scaled 3 -> 2 under load; %d accepted events arrived once each", len(snd.ids()))
	})

	t.Run("scale down refused with pending jobs", func(t *testing.T) {
		top.sink.status.Store(500)
		for range 4 {
			snd.send(5)
		}
		var progress bytes.Buffer
		_, err := Deploy(ctx, top.cl, nodesInput(t, stackName, 1, "3s"), false, &progress)
		var nd *ErrNotDrained
		if !errors.As(err, &nd) || nd.Node != 2 || nd.Pending == 0 || !strings.Contains(err.Error(), fmt.Sprintf("%d pending jobs", nd.Pending)) {
			t.Fatalf("scale down with a failing sink: %v\n%s", err, tail(progress.String(), 20))
		}
		t.Logf("refused: %v", err)
		if s, err := top.cl.ECS().FindService(ctx, n.Cluster, n.Node(2).Service); err != nil || s.Running != 1 {
			t.Fatalf("node 2 after the refusal: %+v %v", s, err)
		}
		checkPendingInVPC(t, top)
		top.sink.status.Store(200)
		top.waitArrived(t, snd.ids(), 5*time.Minute)
	})

	t.Run("kill at every k, then faults", func(t *testing.T) {
		// Adding node 3 back to 2 nodes, stopped at each of its mutating calls, is finished
		// by running the deploy again (then converged); each time node 3 is removed again.
		killable, err := awsapi.NewSession(ctx, testRegion, noRetryInjected)
		if err != nil {
			t.Fatal(err)
		}
		two, three := nodesInput(t, stackName, 2, "60s"), nodesInput(t, stackName, 3, "60s")
		top.deploy(t, two)
		top.cloud.ResetStats()
		top.deploy(t, three)
		m := top.cloud.Stats().MutatingCalls
		for k := 1; k <= m; k++ {
			top.deploy(t, two)
			if err := top.cloud.SetFaults(fmt.Sprintf("fail-mutating=%d", k)); err != nil {
				t.Fatal(err)
			}
			top.cloud.ResetStats()
			_, err := Deploy(ctx, killable, three, false, io.Discard)
			top.cloud.SetFaults("")
			st := top.cloud.Stats()
			if st.Injected["error"] != 1 {
				t.Fatalf("k=%d: the injected fault fired %d times, want 1", k, st.Injected["error"])
			}
			if err != nil && !strings.Contains(err.Error(), "run it again") {
				t.Fatalf("k=%d: the error does not say how to resume: %v", k, err)
			}
			top.deploy(t, three)
			top.cloud.ResetStats()
			if r := top.deploy(t, three); r.Changes != 0 || top.cloud.Stats().MutatingCalls != 0 {
				t.Fatalf("k=%d: not converged after the resume: %v", k, r.ChangeList)
			}
			t.Logf("k=%d of %d: stopped at %v, resumed", k, m, st.InjectedInto)
		}
		// 20% throttled, 5% answered 500: scale down and up again still get through.
		if err := top.cloud.SetFaults("throttle=0.2,error=0.05,seed=7"); err != nil {
			t.Fatal(err)
		}
		top.deploy(t, two)
		top.deploy(t, three)
		top.cloud.SetFaults("")
		top.cloud.ResetStats()
		if r := top.deploy(t, three); r.Changes != 0 || top.cloud.Stats().MutatingCalls != 0 {
			t.Fatalf("not converged after the faults: %v", r.ChangeList)
		}
	})

	t.Run("destroy", func(t *testing.T) {
		if _, err := Destroy(ctx, top.cl, stackName, testRegion, false, os.Stderr); err != nil {
			t.Fatal(err)
		}
		o, err := observe(ctx, top.cl, n, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Nodes) != 0 || o.LB != nil || o.TG != nil || o.Cluster != nil || o.Secret != nil || o.SubnetGroup != nil || o.Role != nil || len(o.Groups) != 0 {
			t.Fatalf("left after destroy: nodes %v lb %v tg %v cluster %v secret %v subnets %v role %v groups %v", o.Nodes, o.LB, o.TG, o.Cluster, o.Secret, o.SubnetGroup, o.Role, o.Groups)
		}
		for i := 1; i <= 3; i++ {
			snaps, err := top.cl.RDS().ListSnapshots(ctx, n.Node(i).DB)
			if err != nil || len(snaps) == 0 {
				t.Fatalf("node %d's final snapshots after destroy: %+v %v", i, snaps, err)
			}
		}
		// Told otherwise, the final snapshots go too (node 3's from the scale-downs included).
		if _, err := DestroyWith(ctx, top.cl, stackName, testRegion, DestroyOptions{DeleteSnapshots: true}, os.Stderr); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 3; i++ {
			if snaps, err := top.cl.RDS().ListSnapshots(ctx, n.Node(i).DB); err != nil || len(snaps) != 0 {
				t.Fatalf("node %d's final snapshots after destroy --delete-snapshots: %+v %v", i, snaps, err)
			}
		}
	})
}

// checkPendingInVPC: with the databases out of reach from here (as on AWS), status
// --pending-in-vpc counts each node's pending jobs with the drain's one-off task, and
// finds what status counts directly.
func checkPendingInVPC(t *testing.T, top *topology) {
	t.Helper()
	ctx := context.Background()
	direct, err := GetStatus(ctx, top.cl, top.stack)
	if err != nil {
		t.Fatal(err)
	}
	countFromHere = func(context.Context, *awsapi.Session, *rdsapi.Instance) *int64 { return nil }
	defer func() { countFromHere = reachablePending }()
	private, err := GetStatus(ctx, top.cl, top.stack)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	inVPC, err := GetStatusWith(ctx, top.cl, top.stack, StatusOptions{CountInVPC: true, Region: testRegion, Progress: &progress})
	if err != nil || len(inVPC.Problems) != 0 || len(inVPC.Nodes) != len(direct.Nodes) {
		t.Fatalf("status --pending-in-vpc: %v %v\n%s", err, inVPC, progress.String())
	}
	total := int64(0)
	for k, ns := range inVPC.Nodes {
		want := direct.Nodes[k].PendingJobs
		if private.Nodes[k].PendingJobs != nil || want == nil || ns.PendingJobs == nil || *ns.PendingJobs != *want {
			t.Fatalf("node %d: pending jobs from here %v, unreachable %v, in the VPC %v", ns.Index, want, private.Nodes[k].PendingJobs, ns.PendingJobs)
		}
		total += *ns.PendingJobs
	}
	if total == 0 {
		t.Fatal("no pending jobs to count: the check proves nothing")
	}
	t.Logf("status --pending-in-vpc: %d pending jobs in all, as counted from here\n%s", total, progress.String())
}

// proc is a node's rudder-server process.
type proc struct {
	pid  int
	task string
	env  map[string]string
}

// findNodeProcess finds the rudder-server process of node i: the process whose environment
// has INSTANCE_ID=i and the local cloud's metadata URI of the rudder-server container.
func findNodeProcess(top *topology, i int) (proc, bool) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(raw, []byte("INSTANCE_ID="+fmt.Sprint(i)+"\x00")) {
			continue
		}
		env := map[string]string{}
		for _, kv := range bytes.Split(raw, []byte{0}) {
			k, v, _ := strings.Cut(string(kv), "=")
			env[k] = v
		}
		uri := env["ECS_CONTAINER_METADATA_URI_V4"]
		if !strings.HasPrefix(uri, top.cloud.Endpoint()) || !strings.HasSuffix(uri, "/"+ServerContainer) {
			continue
		}
		parts := strings.Split(uri, "/")
		return proc{pid: pid, task: parts[len(parts)-2], env: env}, true
	}
	return proc{}, false
}

func nodeProcess(t *testing.T, top *topology, i int) proc {
	t.Helper()
	p, ok := findNodeProcess(top, i)
	if !ok {
		t.Fatalf("no process of node %d", i)
	}
	return p
}

func healthyTargets(t *testing.T, top *topology) int {
	t.Helper()
	tg, err := top.cl.ELBv2().FindTargetGroup(context.Background(), NamesFor(top.stack).TargetGroup)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := top.cl.ELBv2().TargetHealth(context.Background(), tg.ARN)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range ts {
		if x.State == "healthy" {
			n++
		}
	}
	return n
}
