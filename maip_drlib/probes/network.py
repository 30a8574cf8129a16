"""VPC capacity and the DR load balancer's targets.

``nodegroup_placement`` and ``subnets``: the subnets a node group launches into and their free
IP addresses. ``target_health``: every target group of a load balancer and the health of its
registered targets (ELBv2).

Not supported: secondary CIDRs and custom networking of the VPC CNI (pods in other subnets
than their node), prefix delegation (a /28 per node instead of one address per pod), IPv6,
subnets shared from another account;
Network Load Balancer target groups of type alb (their health is the ALB's).
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from maip_drlib.errors import NotFound
from maip_drlib.facts_platform import SubnetFact, TargetHealthFact
from maip_drlib.probes import aws_api, error_code
from maip_drlib.regions import RegionHandle


@dataclass(frozen=True)
class NodegroupPlacement:
    """Where a managed node group launches nodes, and which instance types."""

    cluster: str
    nodegroup: str
    region: str
    subnet_ids: tuple[str, ...]
    instance_types: tuple[str, ...]


def nodegroup_placement(handle: RegionHandle, cluster: str, nodegroup: str) -> NodegroupPlacement:
    try:
        with aws_api(handle, "eks"):
            data = handle.client("eks").describe_nodegroup(
                clusterName=cluster, nodegroupName=nodegroup)["nodegroup"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise NotFound(f"node group {cluster}/{nodegroup} not found in "
                           f"{handle.region}") from error
        raise
    return NodegroupPlacement(
        cluster=cluster, nodegroup=nodegroup, region=handle.region,
        subnet_ids=tuple(str(s) for s in data.get("subnets") or ()),
        instance_types=tuple(str(t) for t in data.get("instanceTypes") or ()),
    )


def subnets(handle: RegionHandle, subnet_ids: tuple[str, ...]) -> tuple[SubnetFact, ...]:
    """The named subnets and their free addresses (paginated)."""
    if not subnet_ids:
        return ()
    facts = []
    try:
        with aws_api(handle, "ec2"):
            pages = handle.client("ec2").get_paginator("describe_subnets").paginate(
                SubnetIds=list(subnet_ids))
            for page in pages:
                for subnet in page.get("Subnets", []):
                    facts.append(SubnetFact(
                        subnet_id=str(subnet["SubnetId"]), region=handle.region,
                        availability_zone=str(subnet.get("AvailabilityZone", "?")),
                        cidr=str(subnet.get("CidrBlock", "?")),
                        free_addresses=int(subnet.get("AvailableIpAddressCount", 0)),
                    ))
    except ClientError as error:
        if error_code(error) == "InvalidSubnetID.NotFound":
            raise NotFound(f"subnets {', '.join(subnet_ids)} not all found in "
                           f"{handle.region}: {error}") from error
        raise
    return tuple(facts)


def target_health(handle: RegionHandle, load_balancer_arn: str) -> tuple[TargetHealthFact, ...]:
    """The health of every registered target of every target group of the load balancer."""
    elbv2 = handle.client("elbv2")
    facts = []
    try:
        with aws_api(handle, "elbv2"):
            pages = elbv2.get_paginator("describe_target_groups").paginate(
                LoadBalancerArn=load_balancer_arn)
            groups = [group for page in pages for group in page.get("TargetGroups", [])]
            for group in groups:
                described = elbv2.describe_target_health(
                    TargetGroupArn=group["TargetGroupArn"]).get("TargetHealthDescriptions", [])
                facts.append(TargetHealthFact(
                    target_group=str(group.get("TargetGroupName", group["TargetGroupArn"])),
                    region=handle.region,
                    targets=tuple(
                        (f"{d['Target']['Id']}:{d['Target'].get('Port', '?')}",
                         str(d.get("TargetHealth", {}).get("State", "unknown")))
                        for d in described),
                ))
    except ClientError as error:
        if error_code(error) in ("LoadBalancerNotFound", "TargetGroupNotFound"):
            raise NotFound(f"target groups of {load_balancer_arn} not found in "
                           f"{handle.region}: {error}") from error
        raise
    return tuple(facts)
