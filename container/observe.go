package container

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/appscalingapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ec2api"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecrapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/secretsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/kinds"
	"github.com/rudderctl/rudderctl/internal/deploy/workspace"
	"github.com/rudderctl/rudderctl/internal/stack"
)

// The security groups by their part ("nodes", "alb", "tasks"), in creation order.
var groupParts = []string{"nodes", "alb", "tasks"}

func (n Names) groupName(part string) string {
	switch part {
	case "alb":
		return n.ALBGroup
	case "tasks":
		return n.TasksGroup
	}
	return n.NodesGroup
}

// observed is what exists (read-only calls only). nil = absent.
type observed struct {
	Account string
	Net     network

	// The workspace the functions read their code from ("" = none deployed).
	ConfigBackend, Secret string

	// FnSecret is the stack's functions secret (the workspace URL the tasks read);
	// FnSecretValue its value ("" unless it exists and is not scheduled for deletion).
	FnSecret      *secretsapi.Secret
	FnSecretValue string

	Role   *kinds.Role
	Log    *kinds.LogGroup
	Groups map[string]*ec2api.SecurityGroup // by part
	kinds.LoadBalancing
	Cluster *ecsapi.Cluster
	// Latest is the newest ACTIVE revision of the family; Current the service's.
	Latest, Current *ecsapi.TaskDef
	Active          []string // ACTIVE revisions' ARNs, oldest first
	Inactive        []string
	Service         *ecsapi.Service
	Scaling         *appscalingapi.Target
	Policy          *appscalingapi.Policy
	Repo            *ecrapi.Repository
	Lifecycle       string
	ImageDigest     string
	Bucket          *kinds.Bucket
}

// observe reads the stack's user-functions service. net: the VPC and subnets asked for
// (zero = the default VPC and its subnets; VPC "-" = none: no security group to read).
func observe(ctx context.Context, c *awsapi.Session, n Names, want network) (*observed, error) {
	o := &observed{Groups: map[string]*ec2api.SecurityGroup{}}
	var err error
	if o.Account, err = c.AccountID(ctx); err != nil {
		return nil, err
	}
	switch {
	case want.AsIs:
		o.Net = want
	case want.VPC != noVPC:
		if o.Net, err = resolveNetwork(ctx, c, want); err != nil {
			return nil, err
		}
	}
	if err := o.readWorkspace(ctx, c, n.Stack); err != nil {
		return nil, err
	}
	if err := o.readSecret(ctx, c, n); err != nil {
		return nil, err
	}
	if o.Role, err = kinds.ObserveRole(ctx, c, n.Role, n.Stack, PolicyName); err != nil {
		return nil, err
	}
	if o.Log, err = kinds.ObserveLogGroup(ctx, c, n.LogGroup, n.Stack); err != nil {
		return nil, err
	}
	for _, part := range groupParts {
		if want.VPC == noVPC {
			break
		}
		g, err := awsapi.Absent(c.EC2().FindSecurityGroup(ctx, o.Net.VPC, n.groupName(part)))
		if err != nil {
			return nil, awsapi.Explain("read security group "+n.groupName(part), err)
		}
		if g != nil {
			o.Groups[part] = g
		}
	}
	if o.LoadBalancing, err = kinds.ObserveLoadBalancing(ctx, c, n.LoadBalancer, n.TargetGroup); err != nil {
		return nil, err
	}
	if err := o.readECS(ctx, c, n); err != nil {
		return nil, err
	}
	if err := o.readRepository(ctx, c, n); err != nil {
		return nil, err
	}
	o.Bucket, err = kinds.ObserveBucket(ctx, c, stack.BucketName(n.Stack, o.Account, c.Region), n.Stack)
	return o, err
}

// noVPC asks observe not to look at EC2 (a destroy of a stack without security groups).
const noVPC = "-"

// resolveNetwork checks the configured VPC and subnets, or finds the default VPC and its
// default subnets.
func resolveNetwork(ctx context.Context, c *awsapi.Session, want network) (network, error) {
	if want.VPC != "" && len(want.Subnets) > 0 {
		// Configured: checked to exist, in that VPC.
		subs, err := c.EC2().FindSubnets(ctx, want.Subnets)
		if errors.Is(err, awsapi.ErrNotFound) {
			return network{}, fmt.Errorf("ecs.subnets refused: %v; list subnets that exist in %s", err, want.VPC)
		}
		if err != nil {
			return network{}, awsapi.Explain("read the configured subnets", err)
		}
		for _, s := range subs {
			if s.VPC != want.VPC {
				return network{}, fmt.Errorf("ecs.subnets refused: subnet %s is in %s, not in ecs.vpc %s; list subnets of that VPC", s.ID, s.VPC, want.VPC)
			}
		}
		return want, nil
	}
	vpc := want.VPC
	if vpc == "" {
		v, err := c.EC2().DefaultVPC(ctx)
		if errors.Is(err, awsapi.ErrNotFound) {
			return network{}, fmt.Errorf("no default VPC in %s: the service needs a VPC and subnets; set ecs.vpc and ecs.subnets in rudderctl.yaml", c.Region)
		}
		if err != nil {
			return network{}, awsapi.Explain("find the default VPC", err)
		}
		vpc = v
	}
	subs, err := c.EC2().Subnets(ctx, vpc)
	if err != nil {
		return network{}, awsapi.Explain("list the subnets of "+vpc, err)
	}
	net := network{VPC: vpc}
	for _, s := range subs {
		if s.Default || want.VPC != "" {
			net.Subnets = append(net.Subnets, s.ID)
		}
	}
	sort.Strings(net.Subnets) // as the service reads them back
	if len(net.Subnets) < 2 {
		return network{}, fmt.Errorf("VPC %s has %d usable subnets: an application load balancer needs subnets in 2 availability zones; set ecs.subnets in rudderctl.yaml", vpc, len(net.Subnets))
	}
	return net, nil
}

// readWorkspace finds the workspace's URL (CONFIG_BACKEND_URL) and the stack's secret.
func (o *observed) readWorkspace(ctx context.Context, c *awsapi.Session, stackName string) error {
	shown, err := workspace.GetEndpoints(ctx, c, stackName, true)
	if errors.Is(err, workspace.ErrNotDeployed) {
		return nil
	}
	if err != nil {
		return err
	}
	hidden, err := workspace.GetEndpoints(ctx, c, stackName, false)
	if err != nil {
		return err
	}
	o.ConfigBackend = shown.ConfigBackendURL
	o.Secret = strings.TrimPrefix(shown.ConfigBackendURL, strings.TrimSuffix(hidden.ConfigBackendURL, "<secret>"))
	return nil
}

// readSecret reads the functions secret and, unless it is being deleted, its value.
func (o *observed) readSecret(ctx context.Context, c *awsapi.Session, n Names) error {
	var err error
	if o.FnSecret, o.FnSecretValue, err = c.Secrets().Observe(ctx, n.Secret); err != nil {
		return awsapi.Explain("read secret "+n.Secret, err)
	}
	return nil
}

func (o *observed) readECS(ctx context.Context, c *awsapi.Session, n Names) error {
	var err error
	if o.Cluster, err = awsapi.Absent(c.ECS().FindCluster(ctx, n.Cluster)); err != nil {
		return awsapi.Explain("read ECS cluster "+n.Cluster, err)
	}
	if o.Active, err = c.ECS().TaskDefinitionARNs(ctx, n.Family, "ACTIVE"); err != nil {
		return awsapi.Explain("list the task definitions of "+n.Family, err)
	}
	if o.Inactive, err = c.ECS().TaskDefinitionARNs(ctx, n.Family, "INACTIVE"); err != nil {
		return awsapi.Explain("list the task definitions of "+n.Family, err)
	}
	if len(o.Active) > 0 {
		if o.Latest, err = c.ECS().FindTaskDefinition(ctx, o.Active[len(o.Active)-1]); err != nil {
			return awsapi.Explain("read task definition "+n.Family, err)
		}
	}
	if o.Cluster == nil {
		return nil
	}
	if o.Service, err = awsapi.Absent(c.ECS().FindService(ctx, n.Cluster, n.Service)); err != nil {
		return awsapi.Explain("read ECS service "+n.Service, err)
	}
	if o.Service != nil && o.Service.TaskDef != "" {
		if o.Latest != nil && o.Service.TaskDef == o.Latest.ARN {
			o.Current = o.Latest
		} else if o.Current, err = awsapi.Absent(c.ECS().FindTaskDefinition(ctx, o.Service.TaskDef)); err != nil {
			return awsapi.Explain("read task definition "+o.Service.TaskDef, err)
		}
	}
	if o.Service != nil {
		if o.Scaling, err = awsapi.Absent(c.AppScaling().FindTarget(ctx, n.ScalingTarget)); err != nil {
			return awsapi.Explain("read the scalable target of "+n.Service, err)
		}
		if o.Policy, err = awsapi.Absent(c.AppScaling().FindPolicy(ctx, n.ScalingTarget, ScalingPolicyName)); err != nil {
			return awsapi.Explain("read the scaling policy of "+n.Service, err)
		}
	}
	return nil
}

func (o *observed) readRepository(ctx context.Context, c *awsapi.Session, n Names) error {
	var err error
	if o.Repo, err = awsapi.Absent(c.ECR().FindRepository(ctx, n.Repository)); err != nil || o.Repo == nil {
		return awsapi.Explain("read ECR repository "+n.Repository, err)
	}
	if o.Lifecycle, err = c.ECR().LifecyclePolicy(ctx, n.Repository); err != nil && !errors.Is(err, awsapi.ErrNotFound) {
		return awsapi.Explain("read the lifecycle policy of "+n.Repository, err)
	}
	if o.ImageDigest, err = c.ECR().ImageDigest(ctx, n.Repository, ImageTag); err != nil && !errors.Is(err, awsapi.ErrNotFound) {
		return awsapi.Explain("read image "+n.Repository+":"+ImageTag, err)
	}
	return nil
}
