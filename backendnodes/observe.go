package backendnodes

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/rudderctl/rudderctl/container"
	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ec2api"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/rdsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/secretsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
	"github.com/rudderctl/rudderctl/internal/deploy/workspace"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// The nodes' own security groups by part, in creation order (each admits the one before).
var groupParts = []string{"alb", "gw", "db"}

func (n Names) groupName(part string) string {
	switch part {
	case "alb":
		return n.ALBGroup
	case "gw":
		return n.GatewayGroup
	case "db":
		return n.DBGroup
	}
	return n.NodesGroup
}

// nodeObs is what exists of node i.
type nodeObs struct {
	Instance *rdsapi.Instance
	Service  *ecsapi.Service
	Current  *ecsapi.TaskDef // the service's revision
	Active   []string        // ACTIVE revisions of the family, oldest first
	Inactive []string
}

// observed is what exists (read-only calls only). nil = absent.
type observed struct {
	Account string
	Net     network
	In      stackInputs
	// Missing lists what the nodes need from the rest of the stack and is not there.
	Missing []string

	NodesGroup  *ec2api.SecurityGroup // the user-functions deploy's
	Groups      map[string]*ec2api.SecurityGroup
	Role        *kinds.Role
	Log         *kinds.LogGroup
	SubnetGroup *rdsapi.SubnetGroup
	Secret      *secretsapi.Secret
	SecretValue string
	kinds.LoadBalancing
	Cluster     *ecsapi.Cluster
	Nodes       map[int]*nodeObs
	Pending     []string // revisions of the pending-jobs family (ACTIVE and INACTIVE)
	PendingLive []string // its ACTIVE ones
	Bucket      *kinds.Bucket
	// FinalSnapshots are the final snapshots of this stack's nodes (read for a destroy
	// that deletes them only).
	FinalSnapshots []rdsapi.Snapshot
}

// indices are the node indices found, ascending.
func (o *observed) indices() []int {
	var out []int
	for i := range o.Nodes {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

func (o *observed) node(i int) *nodeObs {
	if o.Nodes[i] == nil {
		return &nodeObs{}
	}
	return o.Nodes[i]
}

// observe reads the stack's nodes and what they need. upTo: node indices probed at least
// up to it (the count asked for).
func observe(ctx context.Context, c *awsapi.Session, n Names, upTo int) (*observed, error) {
	o := &observed{Groups: map[string]*ec2api.SecurityGroup{}, Nodes: map[int]*nodeObs{}}
	var err error
	if o.Account, err = c.AccountID(ctx); err != nil {
		return nil, err
	}
	if err := o.readStack(ctx, c, n); err != nil {
		return nil, err
	}
	if o.Role, err = kinds.ObserveRole(ctx, c, n.Role, n.Stack, PolicyName); err != nil {
		return nil, err
	}
	if o.Log, err = kinds.ObserveLogGroup(ctx, c, n.LogGroup, n.Stack); err != nil {
		return nil, err
	}
	if err := o.readNetwork(ctx, c, n); err != nil {
		return nil, err
	}
	if err := o.readSecret(ctx, c, n); err != nil {
		return nil, err
	}
	if o.LoadBalancing, err = kinds.ObserveLoadBalancing(ctx, c, n.LoadBalancer, n.TargetGroup); err != nil {
		return nil, err
	}
	if err := o.readNodes(ctx, c, n, upTo); err != nil {
		return nil, err
	}
	o.Bucket, err = kinds.ObserveBucket(ctx, c, stack.BucketName(n.Stack, o.Account, c.Region), n.Stack)
	return o, err
}

// readStack reads the transformer, the workspace and the user-functions service: the nodes
// call all three, and a node's gateway does not open before the transformer answers.
func (o *observed) readStack(ctx context.Context, c *awsapi.Session, n Names) error {
	if e, err := transformer.GetEndpoint(ctx, c, n.Stack, true); err == nil {
		o.In.LambdaURL = e.DestTransformURL
		o.In.Secret = strings.TrimPrefix(e.DestTransformURL, e.URL+"/")
	} else if errors.Is(err, transformer.ErrNotDeployed) {
		o.Missing = append(o.Missing, "the Lambda transformer (rudderctl deploy transformer --lambda)")
	} else {
		return err
	}
	if e, err := workspace.GetEndpoints(ctx, c, n.Stack, true); err == nil && e.ConfigBackendURL != "" {
		o.In.ConfigBackend, o.In.Token = e.ConfigBackendURL, e.WorkspaceToken
	} else if err == nil || errors.Is(err, workspace.ErrNotDeployed) {
		o.Missing = append(o.Missing, "the workspace (rudderctl deploy workspace)")
	} else {
		return err
	}
	if e, err := container.GetEndpoints(ctx, c, n.Stack); err == nil {
		o.In.UserTransformURL = e.UserTransformURL
	} else if errors.Is(err, container.ErrNotDeployed) {
		o.Missing = append(o.Missing, "the user functions on ECS (rudderctl deploy transformer --ecs)")
	} else {
		return err
	}
	repo, err := awsapi.Absent(c.ECR().FindRepository(ctx, n.Functions.Repository))
	if err != nil {
		return awsapi.Explain("read ECR repository "+n.Functions.Repository, err)
	}
	if repo != nil {
		if _, err := c.ECR().ImageDigest(ctx, n.Functions.Repository, container.ImageTag); err == nil {
			o.In.Image = repo.URI + ":" + container.ImageTag
		} else if !errors.Is(err, awsapi.ErrNotFound) {
			return awsapi.Explain("read image "+n.Functions.Repository, err)
		}
	}
	if o.In.Image == "" && o.In.UserTransformURL != "" {
		o.Missing = append(o.Missing, "rudderctl's own image in "+n.Functions.Repository+" (rudderctl deploy transformer --ecs pushes it)")
	}
	return nil
}

// readNetwork finds the nodes' group (the user-functions deploy makes it) and takes its
// VPC; the subnets are the user-functions service's.
func (o *observed) readNetwork(ctx context.Context, c *awsapi.Session, n Names) error {
	groups, err := c.EC2().GroupsTagged(ctx, stack.TagKey, n.Stack)
	if err != nil {
		return awsapi.Explain("list the security groups of stack "+n.Stack, err)
	}
	for i := range groups {
		g := &groups[i]
		if g.Name == n.NodesGroup {
			o.NodesGroup = g
			o.Net.VPC = g.VPC
		}
		for _, part := range groupParts {
			if g.Name == n.groupName(part) {
				o.Groups[part] = g
				if o.Net.VPC == "" {
					o.Net.VPC = g.VPC
				}
			}
		}
	}
	if o.NodesGroup == nil && o.In.UserTransformURL != "" {
		o.Missing = append(o.Missing, "the nodes' security group "+n.NodesGroup+" (rudderctl deploy transformer --ecs makes it)")
	}
	if s, err := awsapi.Absent(c.ECS().FindService(ctx, n.Functions.Cluster, n.Functions.Service)); err != nil {
		return awsapi.Explain("read ECS service "+n.Functions.Service, err)
	} else if s != nil {
		o.Net.Subnets = s.Subnets
	}
	if o.SubnetGroup, err = awsapi.Absent(c.RDS().FindSubnetGroup(ctx, n.SubnetGroup)); err != nil {
		return awsapi.Explain("read DB subnet group "+n.SubnetGroup, err)
	}
	return nil
}

func (o *observed) readSecret(ctx context.Context, c *awsapi.Session, n Names) error {
	var err error
	if o.Secret, o.SecretValue, err = c.Secrets().Observe(ctx, n.Secret); err != nil {
		return awsapi.Explain("read secret "+n.Secret, err)
	}
	return nil
}

// readNodes finds every node: its DB instance (listed by name), its service and task
// definition revisions (probed by index up to the highest known).
func (o *observed) readNodes(ctx context.Context, c *awsapi.Session, n Names, upTo int) error {
	insts, err := c.RDS().ListInstances(ctx)
	if err != nil {
		return awsapi.Explain("list DB instances", err)
	}
	high := upTo
	for k := range insts {
		if i := n.nodeIndex(insts[k].ID); i > 0 {
			o.nodeAt(i).Instance = &insts[k]
			high = max(high, i)
		}
	}
	if o.Cluster, err = awsapi.Absent(c.ECS().FindCluster(ctx, n.Cluster)); err != nil {
		return awsapi.Explain("read ECS cluster "+n.Cluster, err)
	}
	// Probe one past the highest: a service whose instance is gone already (an
	// interrupted removal) is still found.
	for i := 1; i <= high+1; i++ {
		node := n.Node(i)
		active, err := c.ECS().TaskDefinitionARNs(ctx, node.Family, "ACTIVE")
		if err != nil {
			return awsapi.Explain("list the task definitions of "+node.Family, err)
		}
		inactive, err := c.ECS().TaskDefinitionARNs(ctx, node.Family, "INACTIVE")
		if err != nil {
			return awsapi.Explain("list the task definitions of "+node.Family, err)
		}
		var svc *ecsapi.Service
		if o.Cluster != nil {
			if svc, err = awsapi.Absent(c.ECS().FindService(ctx, n.Cluster, node.Service)); err != nil {
				return awsapi.Explain("read ECS service "+node.Service, err)
			}
		}
		if len(active)+len(inactive) == 0 && svc == nil && o.Nodes[i] == nil {
			continue
		}
		no := o.nodeAt(i)
		no.Active, no.Inactive, no.Service = active, inactive, svc
		if svc != nil && svc.TaskDef != "" {
			if no.Current, err = awsapi.Absent(c.ECS().FindTaskDefinition(ctx, svc.TaskDef)); err != nil {
				return awsapi.Explain("read task definition "+svc.TaskDef, err)
			}
		}
		high = max(high, i)
	}
	for _, status := range []string{"ACTIVE", "INACTIVE"} {
		arns, err := c.ECS().TaskDefinitionARNs(ctx, n.DrainFamily, status)
		if err != nil {
			return awsapi.Explain("list the task definitions of "+n.DrainFamily, err)
		}
		o.Pending = append(o.Pending, arns...)
		if status == "ACTIVE" {
			o.PendingLive = arns
		}
	}
	return nil
}

func (o *observed) nodeAt(i int) *nodeObs {
	if o.Nodes[i] == nil {
		o.Nodes[i] = &nodeObs{}
	}
	return o.Nodes[i]
}

// errMissing refuses a deploy whose prerequisites are not up.
func errMissing(stackName string, missing []string) error {
	return fmt.Errorf("deploy nodes refused: stack %q lacks %s; a node's gateway opens only once the transformer answers and the workspace loads, and its user functions run on ECS: deploy those first (in this order: transformer --lambda, workspace, transformer --ecs), then run deploy nodes again", stackName, strings.Join(missing, ", "))
}

// observeForDestroy is observe, plus the nodes' final snapshots when they go too.
func observeForDestroy(ctx context.Context, c *awsapi.Session, n Names, opts DestroyOptions) (*observed, error) {
	o, err := observe(ctx, c, n, 0)
	if err != nil || !opts.DeleteSnapshots {
		return o, err
	}
	snaps, err := c.RDS().ListSnapshots(ctx, "")
	if err != nil {
		return nil, awsapi.Explain("list the DB snapshots", err)
	}
	for _, s := range snaps {
		if n.isFinalSnapshot(s) {
			o.FinalSnapshots = append(o.FinalSnapshots, s)
		}
	}
	return o, nil
}
