"""Reads a stack's nodes with boto3 and prints a JSON model on stdout.

Usage: read_nodes.py STACK. Endpoint, region and credentials come from the environment. Run
by TestNodesOnLocalCloud (localcloud_test.go), which checks the model is sound: databases
private, encrypted, deletion-protected; no plain-text secret in a task definition; nothing
open to the internet but the public load balancer's listener port.
"""

import json
import sys

import boto3

TAG_KEY = "rudderctl:stack"


def main(stack):
    rds, ec2, elb, ecs = boto3.client("rds"), boto3.client("ec2"), boto3.client("elbv2"), boto3.client("ecs")
    out = {"instances": [], "security_groups": [], "load_balancers": [], "task_definitions": []}
    prefix = f"rudderctl-{stack}-node-"
    for page in rds.get_paginator("describe_db_instances").paginate():
        for d in page["DBInstances"]:
            if d["DBInstanceIdentifier"].startswith(prefix):
                out["instances"].append({"id": d["DBInstanceIdentifier"], "public": d.get("PubliclyAccessible"),
                                         "encrypted": d.get("StorageEncrypted"), "deletion_protection": d.get("DeletionProtection"),
                                         "backups": d.get("BackupRetentionPeriod"),
                                         "managed_secret": (d.get("MasterUserSecret") or {}).get("SecretArn", "")})
    for page in ec2.get_paginator("describe_security_groups").paginate(Filters=[{"Name": f"tag:{TAG_KEY}", "Values": [stack]}]):
        for g in page["SecurityGroups"]:
            rules = []
            for p in g.get("IpPermissions", []):
                rules.append({"from": p.get("FromPort"), "to": p.get("ToPort"),
                              "cidrs": [r["CidrIp"] for r in p.get("IpRanges", [])] + [r["CidrIpv6"] for r in p.get("Ipv6Ranges", [])]})
            out["security_groups"].append({"id": g["GroupId"], "name": g["GroupName"], "ingress": rules})
    for page in elb.get_paginator("describe_load_balancers").paginate():
        for lb in page["LoadBalancers"]:
            ls = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
            out["load_balancers"].append({"name": lb["LoadBalancerName"], "scheme": lb["Scheme"], "groups": lb.get("SecurityGroups", []),
                                          "ports": [l["Port"] for l in ls]})
    # The nodes' task definitions and the user functions' (both must keep secrets out of
    # the plain environment).
    families = []
    for prefix in (f"rudderctl-{stack}-node", f"rudderctl-{stack}-functions"):
        families += ecs.list_task_definition_families(familyPrefix=prefix, status="ACTIVE")["families"]
    for fam in families:
        td = ecs.describe_task_definition(taskDefinition=fam)["taskDefinition"]
        for c in td["containerDefinitions"]:
            out["task_definitions"].append({"family": fam, "container": c["name"],
                                            "environment": {e["name"]: e["value"] for e in c.get("environment", [])},
                                            "secrets": {s["name"]: s["valueFrom"] for s in c.get("secrets", [])}})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
