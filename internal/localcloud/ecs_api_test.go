package localcloud

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	ecsroom "github.com/rudderctl/rudderctl/internal/localcloud/ecs"
)

// waitLimit bounds an SDK waiter (a hung scheduler fails the test instead of hanging it).
const waitLimit = 3 * time.Minute

// Tick is the scheduler's period, which the waiters poll at.
func Tick() time.Duration { return ecsroom.Tick }

// fargateTaskDef is a minimal valid Fargate task definition of one container.
func fargateTaskDef(family, image string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ExecutionRoleArn: aws.String("arn:aws:iam::000000000000:role/exec"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Essential: aws.Bool(true),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(9090)}},
			Environment:  []ecstypes.KeyValuePair{{Name: aws.String("A"), Value: aws.String("1")}},
		}},
		Tags: []ecstypes.Tag{{Key: aws.String("rudderctl:stack"), Value: aws.String("t")}},
	}
}

func awsvpc(subnets ...string) *ecstypes.NetworkConfiguration {
	return &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: subnets}}
}

// TestECSControlPlane: clusters, task definition revisions and their validation, a
// service without tasks, tags and ECS's error shapes, through the real SDK.
func TestECSControlPlane(t *testing.T) {
	c := startCloud(t, Options{})
	// Retrying clients, as every real one: under load the SDK's transport can lose a
	// connection to a known client-side race (aws-sdk-go-v2#1825), which it retries.
	cfg := sdk(c, true).cfg
	cl := ecs.NewFromConfig(cfg)
	ctx := context.Background()
	subnets := defaultSubnets(t, ec2.NewFromConfig(cfg))

	_, err := cl.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"x"}})
	var cnf *ecstypes.ClusterNotFoundException
	if !asError(err, &cnf) {
		t.Fatalf("want ClusterNotFoundException, got %v", err)
	}
	co, err := cl.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c1"),
		Tags: []ecstypes.Tag{{Key: aws.String("rudderctl:stack"), Value: aws.String("t")}}})
	must(t, err)
	if got := aws.ToString(co.Cluster.ClusterArn); got != "arn:aws:ecs:eu-west-1:000000000000:cluster/c1" || aws.ToString(co.Cluster.Status) != "ACTIVE" {
		t.Fatalf("cluster %s %s", got, aws.ToString(co.Cluster.Status))
	}

	// Fargate's cpu/memory combinations, awsvpc and the execution role for awslogs.
	bad := fargateTaskDef("web", "img")
	bad.Memory = aws.String("4096")
	_, err = cl.RegisterTaskDefinition(ctx, bad)
	var ce *ecstypes.ClientException
	if !asError(err, &ce) || !strings.Contains(err.Error(), "256 CPU, 4096 memory") {
		t.Fatalf("256/4096: want ClientException, got %v", err)
	}
	bad = fargateTaskDef("web", "img")
	bad.NetworkMode = ecstypes.NetworkModeBridge
	_, err = cl.RegisterTaskDefinition(ctx, bad)
	wantCode(t, err, "ClientException")
	bad = fargateTaskDef("web", "img")
	bad.ExecutionRoleArn = nil
	bad.ContainerDefinitions[0].LogConfiguration = &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs,
		Options: map[string]string{"awslogs-group": "g", "awslogs-region": "eu-west-1"}}
	_, err = cl.RegisterTaskDefinition(ctx, bad)
	if !asError(err, &ce) || !strings.Contains(err.Error(), "execution role") {
		t.Fatalf("awslogs without execution role: %v", err)
	}

	r1, err := cl.RegisterTaskDefinition(ctx, fargateTaskDef("web", "img:1"))
	must(t, err)
	r2, err := cl.RegisterTaskDefinition(ctx, fargateTaskDef("web", "img:2"))
	must(t, err)
	if r1.TaskDefinition.Revision != 1 || r2.TaskDefinition.Revision != 2 {
		t.Fatalf("revisions %d %d", r1.TaskDefinition.Revision, r2.TaskDefinition.Revision)
	}
	pm := r2.TaskDefinition.ContainerDefinitions[0].PortMappings[0]
	if aws.ToInt32(pm.HostPort) != 9090 || pm.Protocol != ecstypes.TransportProtocolTcp {
		t.Fatalf("port mapping defaults: %+v", pm)
	}
	d, err := cl.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web"),
		Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
	must(t, err)
	if d.TaskDefinition.Revision != 2 || aws.ToString(d.TaskDefinition.ContainerDefinitions[0].Image) != "img:2" || len(d.Tags) != 1 {
		t.Fatalf("describe family: rev %d image %s tags %v", d.TaskDefinition.Revision, aws.ToString(d.TaskDefinition.ContainerDefinitions[0].Image), d.Tags)
	}
	_, err = cl.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:2")})
	must(t, err)
	d, err = cl.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	must(t, err)
	if d.TaskDefinition.Revision != 1 {
		t.Fatalf("after deregistering web:2 the family is revision %d", d.TaskDefinition.Revision)
	}
	lt, err := cl.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Status: ecstypes.TaskDefinitionStatusInactive})
	must(t, err)
	if len(lt.TaskDefinitionArns) != 1 || !strings.HasSuffix(lt.TaskDefinitionArns[0], ":task-definition/web:2") {
		t.Fatalf("inactive list %v", lt.TaskDefinitionArns)
	}

	del, err := cl.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"web:2", "web:1"}})
	must(t, err)
	if len(del.TaskDefinitions) != 1 || del.TaskDefinitions[0].Status != ecstypes.TaskDefinitionStatusDeleteInProgress ||
		len(del.Failures) != 1 || !strings.HasSuffix(aws.ToString(del.Failures[0].Arn), "web:1") {
		t.Fatalf("DeleteTaskDefinitions: %+v failures %+v", del.TaskDefinitions, del.Failures)
	}

	// A service: its first deployment, the validation of its inputs, tags.
	svcIn := &ecs.CreateServiceInput{
		Cluster: aws.String("c1"), ServiceName: aws.String("s1"), TaskDefinition: aws.String("web:1"),
		DesiredCount: aws.Int32(0), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: awsvpc(subnets[0]),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}},
		Tags: []ecstypes.Tag{{Key: aws.String("rudderctl:stack"), Value: aws.String("t")}},
	}
	badNet := *svcIn
	badNet.NetworkConfiguration = awsvpc("subnet-0123456789abcdef0")
	_, err = cl.CreateService(ctx, &badNet)
	if err == nil || !strings.Contains(err.Error(), "InvalidSubnetID.NotFound") {
		t.Fatalf("unknown subnet: %v", err)
	}
	noNet := *svcIn
	noNet.NetworkConfiguration = nil
	_, err = cl.CreateService(ctx, &noNet)
	wantCode(t, err, "InvalidParameterException")
	inactive := *svcIn
	inactive.TaskDefinition = aws.String("web:2")
	_, err = cl.CreateService(ctx, &inactive)
	wantCode(t, err, "ClientException")
	so, err := cl.CreateService(ctx, svcIn)
	must(t, err)
	if got := so.Service.Deployments; len(got) != 1 || aws.ToString(got[0].Status) != "PRIMARY" {
		t.Fatalf("deployments %+v", got)
	}
	_, err = cl.CreateService(ctx, svcIn)
	wantCode(t, err, "InvalidParameterException")

	// With nothing to run, the deployment completes and the service is steady.
	waitService(t, cl, "c1", "s1", "the steady state", func(s ecstypes.Service) bool {
		return eventSaid(s.Events, "has reached a steady state")
	})
	ds, err := cl.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: []string{"s1", "gone"},
		Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
	must(t, err)
	s := ds.Services[0]
	if s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted || len(s.Tags) != 1 ||
		!eventSaid(s.Events, "(service s1) has reached a steady state.") {
		t.Fatalf("service: rollout %s tags %v events %v", s.Deployments[0].RolloutState, s.Tags, eventMessages(s.Events))
	}
	if len(ds.Failures) != 1 || aws.ToString(ds.Failures[0].Reason) != "MISSING" {
		t.Fatalf("failures %+v", ds.Failures)
	}
	_, err = cl.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c1"), Service: aws.String("nope"), DesiredCount: aws.Int32(1)})
	var snf *ecstypes.ServiceNotFoundException
	if !asError(err, &snf) {
		t.Fatalf("want ServiceNotFoundException, got %v", err)
	}
	_, err = cl.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: s.ServiceArn, Tags: []ecstypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	must(t, err)
	tags, err := cl.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: s.ServiceArn})
	must(t, err)
	if len(tags.Tags) != 2 {
		t.Fatalf("tags %v", tags.Tags)
	}
	res := c.Resources("rudderctl:stack", "t")
	if len(res) != 3 {
		t.Fatalf("resources %+v", res)
	}
	_, err = cl.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("c1"), Service: aws.String("s1")})
	must(t, err)
	_, err = cl.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c1"), Service: aws.String("s1"), DesiredCount: aws.Int32(1)})
	if err == nil {
		t.Fatal("update of a deleted service succeeded")
	}
}

// waitService polls DescribeServices until cond holds (bounded by waitLimit, a guard
// against a hung scheduler, not a timing assertion).
func waitService(t *testing.T, cl *ecs.Client, cluster, service, what string, cond func(ecstypes.Service) bool) ecstypes.Service {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		out, err := cl.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
		must(t, err)
		if len(out.Services) == 1 && cond(out.Services[0]) {
			return out.Services[0]
		}
		if time.Now().After(deadline) {
			s := out.Services[0]
			t.Fatalf("service %s never reached %s; events: %q", service, what, eventMessages(s.Events))
		}
		time.Sleep(Tick())
	}
}

func eventMessages(evs []ecstypes.ServiceEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

func eventSaid(evs []ecstypes.ServiceEvent, sub string) bool {
	for _, e := range evs {
		if strings.Contains(aws.ToString(e.Message), sub) {
			return true
		}
	}
	return false
}

// TestECSFaults: injected faults in ECS's and Application Auto Scaling's shapes, which the
// SDK's retryer retries.
func TestECSFaults(t *testing.T) {
	c := startCloud(t, Options{Faults: "throttle=1"})
	cfg := sdk(c, false).cfg
	ec, as := ecs.NewFromConfig(cfg), aas.NewFromConfig(cfg)
	ctx := context.Background()
	_, err := ec.ListClusters(ctx, &ecs.ListClustersInput{})
	wantCode(t, err, "ThrottlingException")
	_, err = as.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs})
	wantCode(t, err, "ThrottlingException")
	must(t, c.SetFaults("error=1"))
	_, err = ec.ListClusters(ctx, &ecs.ListClustersInput{})
	var se *ecstypes.ServerException
	if !asError(err, &se) {
		t.Fatalf("want ServerException, got %v", err)
	}
	_, err = as.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs})
	wantCode(t, err, "InternalServiceException")
	// Half the calls throttled or failing: a retrying client still creates the cluster once.
	must(t, c.SetFaults("throttle=0.3,error=0.2,seed=7"))
	_, err = ecs.NewFromConfig(sdk(c, true).cfg).CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("f")})
	must(t, err)
	must(t, c.SetFaults(""))
	out, err := ec.ListClusters(ctx, &ecs.ListClustersInput{})
	must(t, err)
	if len(out.ClusterArns) != 1 {
		t.Fatalf("clusters %v", out.ClusterArns)
	}
}
