"""Reads a stack's user-functions service with boto3 and prints a JSON model on stdout.

Usage: read_functions.py STACK. Endpoint, region and credentials come from the environment
(AWS_ENDPOINT_URL, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID...). Run by TestBoto3ReadsModel
(awsclients_test.go), which checks the model is sound: the load balancer internal, no
ingress open to the world, the execution role trusted by ecs-tasks only with named actions,
no secret in the task definition's plain environment, tags on everything.
"""

import json
import sys
import urllib.parse

import boto3

TAG_KEY = "rudderctl:stack"


def tags_of(items, key="Key", value="Value"):
    return {t[key]: t[value] for t in items or []}


def as_list(v):
    return v if isinstance(v, list) else [v]


def main(stack):
    base = f"rudderctl-{stack}-functions"
    ec2, elb, ecs = boto3.client("ec2"), boto3.client("elbv2"), boto3.client("ecs")
    iam, logs, ecr = boto3.client("iam"), boto3.client("logs"), boto3.client("ecr")
    aas, sm = boto3.client("application-autoscaling"), boto3.client("secretsmanager")
    out = {}

    groups = []
    for page in ec2.get_paginator("describe_security_groups").paginate(
            Filters=[{"Name": f"tag:{TAG_KEY}", "Values": [stack]}]):
        for g in page["SecurityGroups"]:
            ingress = []
            for p in g.get("IpPermissions", []):
                ingress.append({"protocol": p.get("IpProtocol"), "from": p.get("FromPort"), "to": p.get("ToPort"),
                                "cidrs": [r["CidrIp"] for r in p.get("IpRanges", [])] + [r["CidrIpv6"] for r in p.get("Ipv6Ranges", [])],
                                "groups": [u["GroupId"] for u in p.get("UserIdGroupPairs", [])]})
            groups.append({"id": g["GroupId"], "name": g["GroupName"], "ingress": ingress, "tags": tags_of(g.get("Tags"))})
    out["security_groups"] = groups

    lbs = []
    for page in elb.get_paginator("describe_load_balancers").paginate():
        for lb in page["LoadBalancers"]:
            t = elb.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
            if tags_of(t).get(TAG_KEY) != stack:
                continue
            listeners = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
            lbs.append({"name": lb["LoadBalancerName"], "scheme": lb["Scheme"], "dns": lb["DNSName"],
                        "security_groups": lb.get("SecurityGroups", []), "tags": tags_of(t),
                        "listeners": [{"port": l["Port"], "protocol": l["Protocol"]} for l in listeners]})
    out["load_balancers"] = lbs

    tgs = []
    for page in elb.get_paginator("describe_target_groups").paginate():
        for g in page["TargetGroups"]:
            t = elb.describe_tags(ResourceArns=[g["TargetGroupArn"]])["TagDescriptions"][0]["Tags"]
            if tags_of(t).get(TAG_KEY) != stack:
                continue
            attrs = {a["Key"]: a["Value"] for a in elb.describe_target_group_attributes(TargetGroupArn=g["TargetGroupArn"])["Attributes"]}
            tgs.append({"name": g["TargetGroupName"], "target_type": g["TargetType"], "port": g["Port"],
                        "health_path": g.get("HealthCheckPath"), "deregistration_delay": attrs.get("deregistration_delay.timeout_seconds"),
                        "tags": tags_of(t)})
    out["target_groups"] = tgs

    role = iam.get_role(RoleName=base + "-exec")["Role"]
    trust = sorted({p for s in role["AssumeRolePolicyDocument"]["Statement"] for p in as_list(s["Principal"].get("Service", []))})
    statements = []
    for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]
        if isinstance(doc, str):
            doc = json.loads(urllib.parse.unquote(doc))
        for s in doc["Statement"]:
            statements.append({"actions": as_list(s["Action"]), "resources": as_list(s["Resource"])})
    out["execution_role"] = {"trusted_services": trust, "statements": statements,
                             "attached": [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]],
                             "tags": tags_of(iam.list_role_tags(RoleName=role["RoleName"])["Tags"])}

    cl = ecs.describe_clusters(clusters=[base], include=["TAGS"])["clusters"][0]
    svc = ecs.describe_services(cluster=base, services=[base], include=["TAGS"])["services"][0]
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"], include=["TAGS"])
    c = td["taskDefinition"]["containerDefinitions"][0]
    out["cluster"] = {"name": cl["clusterName"], "tags": tags_of(cl.get("tags"), "key", "value")}
    out["service"] = {"name": svc["serviceName"], "launch_type": svc.get("launchType"),
                      "public_ip": svc["networkConfiguration"]["awsvpcConfiguration"].get("assignPublicIp"),
                      "circuit_breaker": svc["deploymentConfiguration"].get("deploymentCircuitBreaker"),
                      "tags": tags_of(svc.get("tags"), "key", "value")}
    out["task_definition"] = {"arn": td["taskDefinition"]["taskDefinitionArn"], "task_role": td["taskDefinition"].get("taskRoleArn"),
                              "execution_role": td["taskDefinition"].get("executionRoleArn"), "image": c["image"],
                              "port": c["portMappings"][0]["containerPort"], "health": c.get("healthCheck", {}).get("command"),
                              "log_driver": c.get("logConfiguration", {}).get("logDriver"),
                              "environment": {e["name"]: e["value"] for e in c.get("environment", [])},
                              "secrets": {e["name"]: e["valueFrom"] for e in c.get("secrets", [])},
                              "tags": tags_of(td.get("tags"), "key", "value")}
    secret = sm.describe_secret(SecretId=base)
    out["secret"] = {"arn": secret["ARN"], "tags": tags_of(secret.get("Tags"))}
    targets = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[f"service/{base}/{base}"])["ScalableTargets"]
    out["scalable_target"] = {"min": targets[0]["MinCapacity"], "max": targets[0]["MaxCapacity"]} if targets else None

    repo = ecr.describe_repositories(repositoryNames=[f"rudderctl-{stack}/rudderctl"])["repositories"][0]
    out["repository"] = {"name": repo["repositoryName"], "tags": tags_of(ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]),
                         "lifecycle": bool(ecr.get_lifecycle_policy(repositoryName=repo["repositoryName"]).get("lifecyclePolicyText"))}
    groups = logs.describe_log_groups(logGroupNamePrefix="/ecs/" + base)["logGroups"]
    out["log_group"] = {"name": groups[0]["logGroupName"], "tags": logs.list_tags_for_resource(resourceArn=groups[0]["arn"].removesuffix(":*"))["tags"]}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
