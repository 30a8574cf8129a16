"""EKS control plane: cluster status, node group status, scaling and updates in progress.

Not supported: Fargate profiles, add-ons, managed node group launch templates; at most
``MAX_UPDATES_DESCRIBED`` of a node group's updates are described (newest as listed first).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from maip_drlib.config import ScalingConfig
from maip_drlib.errors import NotFound
from maip_drlib.facts import ClusterStatus, NodegroupState, NodegroupUpdate
from maip_drlib.probes import aws_api, error_code
from maip_drlib.regions import RegionHandle

MAX_UPDATES_DESCRIBED = 25
UPDATE_TERMINAL_FAILURES = frozenset({"Failed", "Cancelled"})


def cluster_status(handle: RegionHandle, cluster: str) -> ClusterStatus:
    try:
        with aws_api(handle, "eks"):
            data = handle.client("eks").describe_cluster(name=cluster)["cluster"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise NotFound(f"EKS cluster {cluster} not found in {handle.region}") from error
        raise
    return ClusterStatus(
        name=cluster,
        region=handle.region,
        status=str(data.get("status", "UNKNOWN")),
        version=data.get("version"),
        endpoint=data.get("endpoint"),
    )


def describe_update(handle: RegionHandle, cluster: str, nodegroup: str,
                    update_id: str) -> NodegroupUpdate:
    try:
        with aws_api(handle, "eks"):
            update = handle.client("eks").describe_update(
                name=cluster, updateId=update_id, nodegroupName=nodegroup
            )["update"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise NotFound(
                f"EKS update {update_id} of {cluster}/{nodegroup} not found in {handle.region}"
            ) from error
        raise
    return _update_fact(update)


def _update_fact(update: dict[str, Any]) -> NodegroupUpdate:
    errors = tuple(
        f"{item.get('errorCode', '?')}: {item.get('errorMessage', '')}".strip()
        for item in update.get("errors", [])
    )
    return NodegroupUpdate(
        update_id=str(update.get("id", "")),
        update_type=str(update.get("type", "")),
        status=str(update.get("status", "")),
        errors=errors,
    )


def list_update_ids(handle: RegionHandle, cluster: str, nodegroup: str) -> list[str]:
    ids: list[str] = []
    kwargs: dict[str, Any] = {"name": cluster, "nodegroupName": nodegroup}
    with aws_api(handle, "eks"):
        while True:
            page = handle.client("eks").list_updates(**kwargs)
            ids.extend(page.get("updateIds", []))
            token = page.get("nextToken")
            if not token or len(ids) >= MAX_UPDATES_DESCRIBED:
                break
            kwargs["nextToken"] = token
    return ids[:MAX_UPDATES_DESCRIBED]


def nodegroup_state(handle: RegionHandle, cluster: str, nodegroup: str, *,
                    include_updates: bool = True) -> NodegroupState:
    try:
        with aws_api(handle, "eks"):
            data = handle.client("eks").describe_nodegroup(
                clusterName=cluster, nodegroupName=nodegroup
            )["nodegroup"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise NotFound(
                f"EKS node group {nodegroup} of {cluster} not found in {handle.region}"
            ) from error
        raise
    raw_scaling = data.get("scalingConfig") or {}
    scaling = None
    if {"minSize", "maxSize", "desiredSize"} <= raw_scaling.keys():
        scaling = ScalingConfig(
            min_size=int(raw_scaling["minSize"]),
            max_size=int(raw_scaling["maxSize"]),
            desired_size=int(raw_scaling["desiredSize"]),
        )
    in_progress: tuple[NodegroupUpdate, ...] = ()
    if include_updates:
        updates = [describe_update(handle, cluster, nodegroup, update_id)
                   for update_id in list_update_ids(handle, cluster, nodegroup)]
        in_progress = tuple(update for update in updates if update.status == "InProgress")
    return NodegroupState(
        cluster=cluster,
        name=nodegroup,
        region=handle.region,
        status=str(data.get("status", "UNKNOWN")),
        scaling=scaling,
        updates_in_progress=in_progress,
    )
