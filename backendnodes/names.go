// Package backendnodes deploys the node pairs: each node is one rudder-server (an ECS
// service with exactly one task) with its own PostgreSQL (an RDS instance), all behind one
// public application load balancer: `rudderctl deploy nodes --count N`. It is a component
// on the reconcile engine like container/ and internal/deploy/workspace: observe
// (read-only, by fixed names and the stack tag) -> plan (pure) -> apply (engine.Run under
// the stack lock, node steps in parallel). docs/NODES.md describes what it creates and why.
//
// A node's identity is its index i: service rudderctl-<stack>-node-<i> runs INSTANCE_ID=i,
// HOSTNAME=rudder-node-<i> against DB instance rudderctl-<stack>-node-<i>. Both are in the
// service's task definition, so a task ECS starts again after a crash is the same node.
package backendnodes

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rudderctl/rudderctl/container"
	"github.com/rudderctl/rudderctl/internal/awsapi/rdsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// ComponentName is the component's name (resource names, status).
const ComponentName = "nodes"

// Fixed values of a node's task.
const (
	ServerContainer  = "rudder-server"
	SidecarContainer = "sidecar"
	GatewayPort      = 8080
	SidecarPort      = 9190
	HealthPath       = "/health"
	DBUser           = "rudder"
	DBName           = "jobsdb"
	DBPort           = 5432
	PolicyName       = "rudderctl-execution"
	RolePath         = "/rudderctl/"
	LogStreamPrefix  = "ecs"
	// The JSON keys of the stack's nodes secret (what the nodes read as ECS secrets).
	KeyWorkspaceToken = "workspace_token"
	KeyConfigBackend  = "config_backend_url"
	KeyLambdaURL      = "lambda_transform_url"
)

// Names are the AWS names of one stack's nodes.
type Names struct {
	Stack        string
	Base         string // rudderctl-<stack>-nodes
	Cluster      string
	Role         string
	LogGroup     string
	NodesGroup   string // made by the user-functions deploy: the group its internal ALB admits
	GatewayGroup string // admits the public ALB on the gateway port
	DBGroup      string // admits the nodes' group on 5432
	ALBGroup     string // the public ALB's: the only group open to the internet
	SubnetGroup  string
	LoadBalancer string // <= 32 characters
	TargetGroup  string // <= 32 characters
	Secret       string // Secrets Manager: workspace token, CONFIG_BACKEND_URL, the Lambda URL
	DrainFamily  string // the one-off pending-jobs task
	Functions    container.Names
}

// NamesFor derives the names from the stack name.
func NamesFor(stackName string) Names {
	base := stack.ResourceName(stackName, ComponentName)
	fn := container.NamesFor(stackName)
	return Names{Stack: stackName, Base: base, Cluster: base, Role: base + "-exec", LogGroup: "/ecs/" + base,
		NodesGroup: fn.NodesGroup, GatewayGroup: base + "-gw", DBGroup: base + "-db", ALBGroup: base + "-alb",
		SubnetGroup: base, LoadBalancer: kinds.ELBName(stackName, "nodes"), TargetGroup: kinds.ELBName(stackName, "nodes-tg"),
		Secret: base, DrainFamily: base + "-pending", Functions: fn}
}

// Node are the names of node i.
type Node struct {
	Index      int
	Service    string // also the task definition family and the DB instance id
	Family     string
	DB         string
	InstanceID string
	Hostname   string
}

// Node is node i's names.
func (n Names) Node(i int) Node {
	name := stack.ResourceName(n.Stack, "node-"+strconv.Itoa(i))
	return Node{Index: i, Service: name, Family: name, DB: name, InstanceID: strconv.Itoa(i), Hostname: "rudder-node-" + strconv.Itoa(i)}
}

// nodeIndex is i of a node resource name, 0 when the name is not one of this stack's.
func (n Names) nodeIndex(name string) int {
	prefix := stack.ResourceName(n.Stack, "node-")
	if !strings.HasPrefix(name, prefix) {
		return 0
	}
	i, err := strconv.Atoi(strings.TrimPrefix(name, prefix))
	if err != nil || i < 1 || strconv.Itoa(i) != strings.TrimPrefix(name, prefix) {
		return 0
	}
	return i
}

// FinalSnapshot is the name of node i's final snapshot taken at removal (stamp: when).
func (n Names) FinalSnapshot(i int, stamp string) string {
	return fmt.Sprintf("%s-final-%s", n.Node(i).DB, stamp)
}

// isFinalSnapshot says whether s is a final snapshot of one of this stack's nodes: named
// so, of a node's instance, and tagged with this stack (tags are copied to snapshots).
func (n Names) isFinalSnapshot(s rdsapi.Snapshot) bool {
	i := n.nodeIndex(s.InstanceID)
	ours, _ := stack.TagState(s.Tags, n.Stack)
	return i > 0 && ours && strings.HasPrefix(s.ID, n.Node(i).DB+"-final-")
}

// Tags are put on everything the component creates.
func (n Names) Tags() map[string]string { return stack.ComponentTags(n.Stack, ComponentName) }
