package backendnodes

import (
	"slices"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/rdsapi"
	"github.com/rudderctl/rudderctl/internal/config"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

func testDesired(t *testing.T, count int) *desired {
	t.Helper()
	s, err := (&config.File{}).ResolveNodes()
	if err != nil {
		t.Fatal(err)
	}
	return &desired{Names: NamesFor("st"), Region: "us-east-1", Account: "000000000000", Count: count, Settings: s,
		Net: network{VPC: "vpc-1", Subnets: []string{"subnet-a", "subnet-b"}},
		In: stackInputs{LambdaURL: "http://127.0.0.1:1234/SECRETPREFIX", ConfigBackend: "http://127.0.0.1:1234/SECRETPREFIX/ws", Token: "TOKENVALUE",
			Secret: "SECRETPREFIX", UserTransformURL: "http://127.77.0.1:80", Image: "000000000000.dkr.ecr.us-east-1.localhost/rudderctl-st/rudderctl:current"}}
}

// A node's task definition: identity per node, every secret as an ECS secret.
func TestTaskDefIdentityAndSecrets(t *testing.T) {
	d := testDesired(t, 3)
	seen := map[string]bool{}
	for i := 1; i <= 3; i++ {
		td := d.taskDefSpec(i, "arn:role", "arn:aws:secretsmanager:us-east-1:000000000000:secret:rudderctl-st-nodes-abc",
			instanceEndpoint{Address: "db" + string(rune('0'+i)), Port: 5432, SecretARN: "arn:rds-secret"})
		srv := td.Containers[0]
		if srv.Env["INSTANCE_ID"] != string(rune('0'+i)) || srv.Env["HOSTNAME"] != "rudder-node-"+string(rune('0'+i)) {
			t.Fatalf("node %d: INSTANCE_ID %q HOSTNAME %q", i, srv.Env["INSTANCE_ID"], srv.Env["HOSTNAME"])
		}
		if seen[srv.Env["HOSTNAME"]] {
			t.Fatalf("HOSTNAME %s twice", srv.Env["HOSTNAME"])
		}
		seen[srv.Env["HOSTNAME"]] = true
		if srv.Secrets["JOBS_DB_PASSWORD"] != "arn:rds-secret:password::" || !strings.HasSuffix(srv.Secrets["WORKSPACE_TOKEN"], ":workspace_token::") {
			t.Fatalf("secrets %v", srv.Secrets)
		}
		for _, c := range td.Containers {
			for k, v := range c.Env {
				if strings.Contains(v, "SECRETPREFIX") || strings.Contains(v, "TOKENVALUE") {
					t.Fatalf("container %s: %s holds a secret in plain text", c.Name, k)
				}
			}
		}
		if td.Containers[1].Secrets["LAMBDA_TRANSFORM_URL"] == "" || srv.Env["DEST_TRANSFORM_URL"] != "http://localhost:9190" {
			t.Fatalf("sidecar wiring: %v %v", td.Containers[1].Secrets, srv.Env["DEST_TRANSFORM_URL"])
		}
	}
}

func byAction(cs []engine.Change, a engine.Action) []engine.Change {
	var out []engine.Change
	for _, c := range cs {
		if c.Action == a {
			out = append(out, c)
		}
	}
	return out
}

// From nothing: shared resources, then each node's steps independent of the other nodes'.
func TestPlanNodesInParallel(t *testing.T) {
	d := testDesired(t, 3)
	o := &observed{Nodes: map[int]*nodeObs{}, Account: d.Account}
	cs, err := plan(o, d)
	if err != nil {
		t.Fatal(err)
	}
	dbs, svcs := byAction(cs, CreateInstance), byAction(cs, CreateService)
	if len(dbs) != 3 || len(svcs) != 3 {
		t.Fatalf("%d instances, %d services planned", len(dbs), len(svcs))
	}
	for _, db := range dbs {
		for _, need := range db.Needs {
			if strings.HasPrefix(need, "db-") || strings.HasPrefix(need, "svc-") {
				t.Fatalf("%s waits for another node's step %s", db.Name, need)
			}
		}
	}
	for _, s := range svcs {
		if slices.ContainsFunc(s.Needs, func(n string) bool { return strings.HasPrefix(n, "svc-") }) {
			t.Fatalf("%s waits for another service: %v", s.Name, s.Needs)
		}
	}
	if err := engineCheck(cs); err != nil {
		t.Fatal(err)
	}
}

// engineCheck runs the plan through the engine's own validation (no kinds called).
func engineCheck(cs []engine.Change) error {
	ids := map[string]bool{}
	for _, c := range cs {
		for _, n := range c.Needs {
			if !ids[n] {
				return &planError{c.Name + " needs " + n + ", which no earlier step is"}
			}
		}
		if c.ID != "" {
			ids[c.ID] = true
		}
	}
	return nil
}

type planError struct{ s string }

func (e *planError) Error() string { return e.s }

// Scale 3 -> 2: node 3 is drained, then its service, then its database go.
func TestPlanScaleDownDrainsFirst(t *testing.T) {
	d := testDesired(t, 2)
	o := &observed{Nodes: map[int]*nodeObs{}, Account: d.Account}
	for i := 1; i <= 3; i++ {
		in := &rdsapi.Instance{ID: d.Names.Node(i).DB, Status: "available", Address: "127.0.0.1", Port: 5432, SecretARN: "arn:s", StorageEncrypted: true,
			DeletionProtection: true, BackupRetention: 7}
		o.Nodes[i] = &nodeObs{Instance: in, Service: &ecsapi.Service{Name: d.Names.Node(i).Service, Desired: 1, GracePeriod: 120}, Active: []string{"arn:td/" + d.Names.Node(i).Family + ":1"}}
	}
	cs, err := plan(o, d)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range cs {
		if strings.HasSuffix(c.Name, "node-3") || strings.Contains(c.Name, "node-3:") {
			order = append(order, string(c.Action))
		}
	}
	want := []string{"DrainNode", "DeleteService", "DeregisterTaskDefinition", "DeleteTaskDefinitions", "DeleteDBInstance"}
	if !slices.Equal(order, want) {
		t.Fatalf("node 3 steps %v, want %v", order, want)
	}
	for _, c := range cs {
		if strings.Contains(c.Name, "node-1") || strings.Contains(c.Name, "node-2") {
			if c.Verb() == "delete" {
				t.Fatalf("a kept node is touched: %s", c)
			}
		}
	}
	if err := engineCheck(cs); err != nil {
		t.Fatal(err)
	}
}

// A destroy keeps each database as a final snapshot; with DeleteSnapshots it takes none
// and deletes the final snapshots earlier removals left (this stack's only), last.
func TestPlanDestroyDeleteSnapshots(t *testing.T) {
	d := testDesired(t, 1)
	n := d.Names
	tags := n.Tags()
	o := &observed{Nodes: map[int]*nodeObs{1: {Instance: &rdsapi.Instance{ID: n.Node(1).DB, Status: "available"}}}, Account: d.Account}
	snaps := []rdsapi.Snapshot{
		{ID: n.Node(3).DB + "-final-20261130-010203", InstanceID: n.Node(3).DB, Tags: tags},
		{ID: n.Node(3).DB + "-manual", InstanceID: n.Node(3).DB, Tags: tags},                                                       // not a final one
		{ID: "rudderctl-other-node-1-final-20261130-010203", InstanceID: "rudderctl-other-node-1", Tags: NamesFor("other").Tags()}, // another stack's
		{ID: n.Node(2).DB + "-final-20261130-010203", InstanceID: n.Node(2).DB},                                                    // untagged: not known to be ours
	}
	for _, s := range snaps {
		if n.isFinalSnapshot(s) {
			o.FinalSnapshots = append(o.FinalSnapshots, s)
		}
	}
	keep := planDestroy(o, n, DestroyOptions{})
	if !slices.ContainsFunc(keep, func(c engine.Change) bool { return c.Action == DeleteInstance && c.Reason == "with a final snapshot" }) {
		t.Fatalf("a plain destroy does not keep a final snapshot: %v", keep)
	}
	gone := planDestroy(o, n, DestroyOptions{DeleteSnapshots: true})
	var deleted []string
	for _, c := range gone {
		switch c.Action {
		case DeleteInstance:
			if !strings.HasSuffix(c.Target, "|"+skipFinalSnapshot) {
				t.Fatalf("with DeleteSnapshots the database still leaves a snapshot: %s (target %q)", c, c.Target)
			}
		case DeleteSnapshot:
			deleted = append(deleted, c.Name)
		}
	}
	if want := []string{n.Node(3).DB + "-final-20261130-010203"}; !slices.Equal(deleted, want) {
		t.Fatalf("snapshots deleted %v, want %v", deleted, want)
	}
	if gone[len(gone)-1].Action != DeleteSnapshot {
		t.Fatalf("the snapshots do not go last: %v", gone)
	}
	if err := engineCheck(gone); err != nil {
		t.Fatal(err)
	}
}
