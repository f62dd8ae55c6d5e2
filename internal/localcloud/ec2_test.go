package localcloud

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

func ec2Filter(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: aws.String(name), Values: values}
}

func TestEC2DefaultVPCAndSubnets(t *testing.T) {
	c := startCloud(t, Options{})
	cl := ec2.NewFromConfig(sdk(c, false).cfg)
	ctx := context.Background()
	vpcs, err := cl.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{ec2Filter("is-default", "true")}})
	must(t, err)
	if len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "172.31.0.0/16" || !aws.ToBool(vpcs.Vpcs[0].IsDefault) {
		t.Fatalf("default VPC: %+v", vpcs.Vpcs)
	}
	vpc := aws.ToString(vpcs.Vpcs[0].VpcId)
	subnets, err := cl.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		ec2Filter("vpc-id", vpc), ec2Filter("default-for-az", "true")}})
	must(t, err)
	want := map[string]string{"eu-west-1a": "172.31.0.0/20", "eu-west-1b": "172.31.16.0/20", "eu-west-1c": "172.31.32.0/20"}
	if len(subnets.Subnets) != 3 {
		t.Fatalf("want 3 default subnets, got %d", len(subnets.Subnets))
	}
	for _, s := range subnets.Subnets {
		if want[aws.ToString(s.AvailabilityZone)] != aws.ToString(s.CidrBlock) || aws.ToString(s.VpcId) != vpc {
			t.Errorf("subnet %s in %s: %s", aws.ToString(s.SubnetId), aws.ToString(s.AvailabilityZone), aws.ToString(s.CidrBlock))
		}
	}
	one, err := cl.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{aws.ToString(subnets.Subnets[1].SubnetId)}})
	must(t, err)
	if len(one.Subnets) != 1 || aws.ToString(one.Subnets[0].AvailabilityZone) != "eu-west-1b" {
		t.Fatalf("by id: %+v", one.Subnets)
	}
	_, err = cl.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0000000000000000"}})
	wantCode(t, err, "InvalidSubnetID.NotFound")
	_, err = cl.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-0000000000000000"}})
	wantCode(t, err, "InvalidVpcID.NotFound")
	azs, err := cl.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	must(t, err)
	if len(azs.AvailabilityZones) != 3 || azs.AvailabilityZones[0].State != ec2types.AvailabilityZoneStateAvailable || aws.ToString(azs.AvailabilityZones[0].ZoneId) != "euw1-az1" {
		t.Fatalf("zones: %+v", azs.AvailabilityZones)
	}
	// Another region has its own default VPC.
	other, err := cl.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}, func(o *ec2.Options) { o.Region = "us-east-1" })
	must(t, err)
	if len(other.Vpcs) != 1 || aws.ToString(other.Vpcs[0].VpcId) == vpc {
		t.Fatalf("us-east-1 VPC: %+v", other.Vpcs)
	}
}

func TestEC2SecurityGroups(t *testing.T) {
	c := startCloud(t, Options{})
	cl := ec2.NewFromConfig(sdk(c, false).cfg)
	ctx := context.Background()
	vpcs, err := cl.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	must(t, err)
	vpc := vpcs.Vpcs[0].VpcId
	mk := func(name string) string {
		out, err := cl.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name + " group"),
			VpcId: vpc, TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup,
				Tags: []ec2types.Tag{{Key: aws.String("rudderctl:stack"), Value: aws.String("s1")}}}}})
		must(t, err)
		return aws.ToString(out.GroupId)
	}
	alb, tasks := mk("alb"), mk("tasks")
	_, err = cl.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("alb"), Description: aws.String("x"), VpcId: vpc})
	wantCode(t, err, "InvalidGroup.Duplicate")
	_, err = cl.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("x"), Description: aws.String("x"), VpcId: aws.String("vpc-000000000000000aa")})
	wantCode(t, err, "InvalidVpcID.NotFound")

	// tasks accept 9090 only from the ALB's group.
	perm := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(9090), ToPort: aws.Int32(9090),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(alb), Description: aws.String("from the ALB")}}}
	auth, err := cl.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(tasks), IpPermissions: []ec2types.IpPermission{perm}})
	must(t, err)
	if len(auth.SecurityGroupRules) != 1 || aws.ToString(auth.SecurityGroupRules[0].ReferencedGroupInfo.GroupId) != alb {
		t.Fatalf("authorize answer: %+v", auth.SecurityGroupRules)
	}
	_, err = cl.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(tasks), IpPermissions: []ec2types.IpPermission{perm}})
	wantCode(t, err, "InvalidPermission.Duplicate")
	_, err = cl.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(alb), IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}})
	must(t, err)

	// Read back: filters by name, VPC and tag; the default egress rule is there.
	got, err := cl.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		ec2Filter("vpc-id", aws.ToString(vpc)), ec2Filter("tag:rudderctl:stack", "s1"), ec2Filter("group-name", "task*")}})
	must(t, err)
	if len(got.SecurityGroups) != 1 || aws.ToString(got.SecurityGroups[0].GroupId) != tasks {
		t.Fatalf("filtered groups: %+v", got.SecurityGroups)
	}
	sg := got.SecurityGroups[0]
	if len(sg.IpPermissions) != 1 || len(sg.IpPermissions[0].UserIdGroupPairs) != 1 || aws.ToString(sg.IpPermissions[0].UserIdGroupPairs[0].GroupId) != alb ||
		aws.ToInt32(sg.IpPermissions[0].FromPort) != 9090 {
		t.Fatalf("ingress: %+v", sg.IpPermissions)
	}
	if len(sg.IpPermissionsEgress) != 1 || aws.ToString(sg.IpPermissionsEgress[0].IpProtocol) != "-1" || aws.ToString(sg.IpPermissionsEgress[0].IpRanges[0].CidrIp) != "0.0.0.0/0" {
		t.Fatalf("egress: %+v", sg.IpPermissionsEgress)
	}
	rules, err := cl.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{Filters: []ec2types.Filter{ec2Filter("group-id", tasks)}})
	must(t, err)
	if len(rules.SecurityGroupRules) != 2 {
		t.Fatalf("rules of tasks: %+v", rules.SecurityGroupRules)
	}

	// The ALB's group is referenced by the tasks' rule: it cannot go first.
	_, err = cl.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(alb)})
	wantCode(t, err, "DependencyViolation")
	_, err = cl.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(tasks), IpPermissions: []ec2types.IpPermission{perm}})
	must(t, err)
	_, err = cl.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(tasks), IpPermissions: []ec2types.IpPermission{perm}})
	wantCode(t, err, "InvalidPermission.NotFound")
	_, err = cl.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(alb)})
	must(t, err)
	_, err = cl.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{alb}})
	wantCode(t, err, "InvalidGroup.NotFound")

	// Tags: resources carry them; DeleteTags removes them.
	if res := c.Resources("rudderctl:stack", "s1"); len(res) != 1 || res[0].Type != "security-group" {
		t.Fatalf("resources: %+v", res)
	}
	_, err = cl.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{tasks}, Tags: []ec2types.Tag{{Key: aws.String("rudderctl:stack")}}})
	must(t, err)
	if res := c.Resources("rudderctl:stack", ""); len(res) != 0 {
		t.Fatalf("resources after DeleteTags: %+v", res)
	}
	_, err = cl.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"sg-00000000000000000"}, Tags: []ec2types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	wantCode(t, err, "InvalidGroup.NotFound")
	def, err := cl.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"default"}})
	must(t, err)
	_, err = cl.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: def.SecurityGroups[0].GroupId})
	wantCode(t, err, "CannotDelete")
}

// TestEC2ELBv2Faults: injected faults come back in each service's own error shape, with
// codes the SDK retries.
func TestEC2ELBv2Faults(t *testing.T) {
	c := startCloud(t, Options{Faults: "throttle=1"})
	cfg := sdk(c, false).cfg
	ec, lb := ec2.NewFromConfig(cfg), elb.NewFromConfig(cfg)
	ctx := context.Background()
	_, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	wantCode(t, err, "RequestLimitExceeded")
	_, err = lb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	wantCode(t, err, "Throttling")
	must(t, c.SetFaults("error=1"))
	_, err = ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	wantCode(t, err, "InternalError")
	_, err = lb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	wantCode(t, err, "InternalFailure")
	// With the SDK's retryer and some faults, calls succeed.
	must(t, c.SetFaults("throttle=0.3,error=0.1,seed=7"))
	cl := sdk(c, true)
	cl.cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 20; o.MaxBackoff = 5 * time.Millisecond })
	}
	ec, lb = ec2.NewFromConfig(cl.cfg), elb.NewFromConfig(cl.cfg)
	for range 20 {
		_, err := ec.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
		must(t, err)
		_, err = lb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
		must(t, err)
	}
}
