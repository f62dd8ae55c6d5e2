package localcloud

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// netFixture is a stack's network as the deploy makes it: an internal ALB whose group
// accepts the nodes' group only, tasks that accept the ALB's group only.
func netFixture(t *testing.T, c *Cloud) *albEnv {
	e := newALB(t, c, "cli")
	ctx := context.Background()
	nodes, err := e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("nodes"), Description: aws.String("nodes"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: []ec2types.Tag{{Key: aws.String("rudderctl:stack"), Value: aws.String("cli")}}}}})
	must(t, err)
	_, err = e.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(e.group), IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(albPort), ToPort: aws.Int32(albPort),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: nodes.GroupId}}}}})
	must(t, err)
	return e
}

func TestELBv2EC2AWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("the AWS CLI is slow to start")
	}
	c := startCloud(t, Options{})
	e := netFixture(t, c)
	run := awsCLI(t, c.Endpoint())
	lbs := run("elbv2", "describe-load-balancers", "--region", "eu-west-1", "--page-size", "1")["LoadBalancers"].([]any)
	if len(lbs) != 1 || lbs[0].(map[string]any)["Scheme"] != "internal" || lbs[0].(map[string]any)["DNSName"] != e.dnsName {
		t.Fatalf("describe-load-balancers: %v", lbs)
	}
	ls := run("elbv2", "describe-listeners", "--region", "eu-west-1", "--load-balancer-arn", e.lbARN)["Listeners"].([]any)
	if len(ls) != 1 || ls[0].(map[string]any)["DefaultActions"].([]any)[0].(map[string]any)["TargetGroupArn"] != e.tgARN {
		t.Fatalf("describe-listeners: %v", ls)
	}
	sgs := run("ec2", "describe-security-groups", "--region", "eu-west-1", "--group-ids", e.group)["SecurityGroups"].([]any)
	perms := sgs[0].(map[string]any)["IpPermissions"].([]any)
	if len(perms) != 1 || len(perms[0].(map[string]any)["UserIdGroupPairs"].([]any)) != 1 || len(perms[0].(map[string]any)["IpRanges"].([]any)) != 0 {
		t.Fatalf("describe-security-groups: %v", sgs)
	}
	tagged := run("ec2", "describe-security-groups", "--region", "eu-west-1", "--filters", "Name=tag:rudderctl:stack,Values=cli")["SecurityGroups"].([]any)
	if len(tagged) != 1 || tagged[0].(map[string]any)["GroupName"] != "nodes" {
		t.Fatalf("by tag: %v", tagged)
	}
	vpcs := run("ec2", "describe-vpcs", "--region", "eu-west-1", "--filters", "Name=is-default,Values=true")["Vpcs"].([]any)
	if len(vpcs) != 1 || vpcs[0].(map[string]any)["CidrBlock"] != "172.31.0.0/16" {
		t.Fatalf("describe-vpcs: %v", vpcs)
	}
	// An error comes back in EC2's shape, with its code.
	cmd := exec.Command("aws", "--endpoint-url", c.Endpoint(), "--region", "eu-west-1", "ec2", "delete-security-group", "--group-id", "sg-00000000000000000")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_CONFIG_FILE="+filepath.Join(t.TempDir(), "none"))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "InvalidGroup.NotFound") {
		t.Fatalf("delete-security-group of a missing group: %v %s", err, out)
	}
}

// boto3Network reads the ALB and its security groups through boto3's paginators.
const boto3Network = `
import json, os, boto3
kw = dict(endpoint_url=os.environ["ENDPOINT"], region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
elb, ec2 = boto3.client("elbv2", **kw), boto3.client("ec2", **kw)
lbs = [lb for pg in elb.get_paginator("describe_load_balancers").paginate(PaginationConfig={"PageSize": 1}) for lb in pg["LoadBalancers"]]
out = {"lbs": [], "groups": {}}
for lb in lbs:
    tgs = elb.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
    tags = elb.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
    out["lbs"].append({"name": lb["LoadBalancerName"], "scheme": lb["Scheme"], "state": lb["State"]["Code"], "groups": lb["SecurityGroups"],
        "tgs": [(tg["TargetGroupName"], tg["TargetType"], tg["HealthCheckPath"]) for tg in tgs], "tags": {t["Key"]: t["Value"] for t in tags}})
for pg in ec2.get_paginator("describe_security_groups").paginate(PaginationConfig={"PageSize": 5}):
    for g in pg["SecurityGroups"]:
        out["groups"][g["GroupName"]] = {
            "open": [r["CidrIp"] for p in g["IpPermissions"] for r in p["IpRanges"]],
            "from_groups": [p2["GroupId"] for p in g["IpPermissions"] for p2 in p["UserIdGroupPairs"]],
            "egress": [r["CidrIp"] for p in g["IpPermissionsEgress"] for r in p["IpRanges"]]}
rules = ec2.describe_security_group_rules()["SecurityGroupRules"]
out["rules"] = len(rules)
print(json.dumps(out))
`

func TestELBv2EC2Boto3(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(py, "-c", "import boto3").Run()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3 with boto3 is needed (pip install boto3): %v", err)
		}
		t.Skipf("python3 with boto3 not available: %v", err)
	}
	c := startCloud(t, Options{})
	e := netFixture(t, c)
	cmd := exec.Command(py, "-c", boto3Network)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	home := t.TempDir()
	cmd.Env = append(env, "ENDPOINT="+c.Endpoint(), "AWS_CONFIG_FILE="+filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"))
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("boto3: %v\n%s", err, stderr)
	}
	var got struct {
		LBs []struct {
			Name, Scheme, State string
			Groups              []string
			TGs                 [][]string
			Tags                map[string]string
		} `json:"lbs"`
		Groups map[string]struct {
			Open       []string `json:"open"`
			FromGroups []string `json:"from_groups"`
			Egress     []string `json:"egress"`
		} `json:"groups"`
		Rules int `json:"rules"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("boto3 output: %v\n%s", err, out)
	}
	if len(got.LBs) != 1 || got.LBs[0].Scheme != "internal" || got.LBs[0].Groups[0] != e.group || got.LBs[0].Tags["rudderctl:stack"] != "cli" ||
		len(got.LBs[0].TGs) != 1 || got.LBs[0].TGs[0][1] != "ip" || got.LBs[0].TGs[0][2] != "/health" {
		t.Fatalf("load balancers: %+v", got.LBs)
	}
	alb := got.Groups["cli-alb"]
	if len(alb.Open) != 0 || len(alb.FromGroups) != 1 || len(alb.Egress) != 1 || alb.Egress[0] != "0.0.0.0/0" {
		t.Fatalf("the ALB's group: %+v", alb)
	}
	if len(got.Groups) != 3 || got.Rules != 5 { // default (2 rules), cli-alb (2), nodes (1)
		t.Fatalf("groups %v, %d rules", got.Groups, got.Rules)
	}
}
