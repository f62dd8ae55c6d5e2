"""Reads a deployed rudderctl stack with boto3 and prints a JSON summary on stdout.

Usage: read_stack.py STACK. Endpoint, region and credentials come from the environment
(AWS_ENDPOINT_URL, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID...). Run by TestAWSClientsReadStack
(awsclients_test.go), which checks that the summary names everything the stack has.

Every list call goes through a paginator where botocore has one, with a page size of 1 so
that the local cloud's pagination is exercised, not only its first page.
"""

import json
import sys

import boto3
from botocore.config import Config

PAGE = {"PageSize": 1}


def pages(client, op, key, **kwargs):
    """Every item under key of every page of op (a plain call when there is no paginator)."""
    if not client.can_paginate(op):
        raise SystemExit(f"botocore has no paginator for {client.meta.service_model.service_name}:{op}; "
                         "call it directly in read_stack.py")
    out = []
    for page in client.get_paginator(op).paginate(PaginationConfig=PAGE, **kwargs):
        out.extend(page.get(key, []))
    return out


def read_iam(iam, prefix):
    roles = []
    for role in pages(iam, "list_roles", "Roles"):
        name = role["RoleName"]
        if not name.startswith(prefix):
            continue
        inline = {}
        for policy in pages(iam, "list_role_policies", "PolicyNames", RoleName=name):
            doc = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            inline[policy] = sorted({a for s in doc["Statement"] for a in as_list(s["Action"])})
        attached = [p["PolicyArn"] for p in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)]
        tags = {t["Key"]: t["Value"] for t in pages(iam, "list_role_tags", "Tags", RoleName=name)}
        got = iam.get_role(RoleName=name)["Role"]
        trust = sorted({p for s in got["AssumeRolePolicyDocument"]["Statement"] for p in as_list(s["Principal"].get("Service", []))})
        roles.append({"name": name, "arn": role["Arn"], "inline_policies": inline, "attached_policies": attached,
                      "tags": tags, "trusted_services": trust})
    return roles


def read_logs(logs, prefix):
    groups = []
    for g in pages(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=prefix):
        arn = g["arn"].removesuffix(":*")
        tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
        groups.append({"name": g["logGroupName"], "retention_days": g.get("retentionInDays"), "tags": tags})
    return groups


def read_lambda(lam, prefix):
    functions = []
    for f in pages(lam, "list_functions", "Functions"):
        name = f["FunctionName"]
        if not name.startswith(prefix):
            continue
        versions = [v["Version"] for v in pages(lam, "list_versions_by_function", "Versions", FunctionName=name)]
        aliases = {a["Name"]: a["FunctionVersion"] for a in pages(lam, "list_aliases", "Aliases", FunctionName=name)}
        # The stack's resource policy is on the alias (API Gateway invokes the alias).
        sids = {}
        for qualifier in [None, *aliases]:
            kwargs = {"FunctionName": name} | ({"Qualifier": qualifier} if qualifier else {})
            try:
                policy = json.loads(lam.get_policy(**kwargs)["Policy"])
            except lam.exceptions.ResourceNotFoundException:
                continue
            sids[qualifier or "$LATEST"] = sorted(s["Sid"] for s in policy["Statement"])
        tags = lam.list_tags(Resource=f["FunctionArn"]).get("Tags", {})
        functions.append({"name": name, "arn": f["FunctionArn"], "versions": versions, "aliases": aliases,
                          "policy_sids": sids, "tags": tags})
    return functions


def read_apis(apigw, name_prefix):
    apis = []
    for api in pages(apigw, "get_apis", "Items"):
        if not api["Name"].startswith(name_prefix):
            continue
        api_id = api["ApiId"]
        apis.append({
            "id": api_id,
            "name": api["Name"],
            "tags": api.get("Tags", {}),
            "integrations": [{"id": i["IntegrationId"], "uri": i.get("IntegrationUri", "")}
                             for i in pages(apigw, "get_integrations", "Items", ApiId=api_id)],
            "routes": [{"key": r["RouteKey"], "target": r.get("Target", "")}
                       for r in pages(apigw, "get_routes", "Items", ApiId=api_id)],
            "stages": [s["StageName"] for s in pages(apigw, "get_stages", "Items", ApiId=api_id)],
        })
    return apis


def read_s3(s3, prefix):
    buckets = []
    for b in pages(s3, "list_buckets", "Buckets"):
        name = b["Name"]
        if not name.startswith(prefix):
            continue
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
        objects = [o["Key"] for o in pages(s3, "list_objects_v2", "Contents", Bucket=name)]
        buckets.append({"name": name, "tags": tags, "objects": objects})
    return buckets


def as_list(v):
    return v if isinstance(v, list) else [v]


def main():
    stack = sys.argv[1]
    prefix = f"rudderctl-{stack}-"
    cfg = Config(retries={"mode": "standard"}, s3={"addressing_style": "path"})
    client = lambda service: boto3.client(service, config=cfg)
    summary = {
        "account": client("sts").get_caller_identity()["Account"],
        "roles": read_iam(client("iam"), prefix),
        "log_groups": read_logs(client("logs"), "/aws/lambda/" + prefix),
        "functions": read_lambda(client("lambda"), prefix),
        "apis": read_apis(client("apigatewayv2"), prefix),
        "buckets": read_s3(client("s3"), prefix),
    }
    json.dump(summary, sys.stdout, indent=2, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
