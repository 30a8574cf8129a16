"""EKS: change a node group's scaling and wait for the update to finish.

Not supported: launch template, labels, taints or version updates.
"""

from __future__ import annotations

from maip_drlib.config import ScalingConfig
from maip_drlib.errors import ConfigError
from maip_drlib.facts import NodegroupUpdate
from maip_drlib.probes import aws_api
from maip_drlib.probes.eks import UPDATE_TERMINAL_FAILURES, describe_update
from maip_drlib.regions import RegionHandle
from maip_drlib.waits import WaitOutcome, WaitSpec, wait_for

DEFAULT_UPDATE_DEADLINE_S = 900.0


def update_nodegroup_scaling(
    handle: RegionHandle,
    cluster: str,
    nodegroup: str,
    scaling: ScalingConfig,
    *,
    deadline_s: float = DEFAULT_UPDATE_DEADLINE_S,
    poll_max_s: float = 15.0,
) -> WaitOutcome[NodegroupUpdate]:
    """``update-nodegroup-config --scaling-config``; waits until Successful, fails fast."""
    for problem in scaling.problems():
        raise ConfigError(f"refusing to scale {cluster}/{nodegroup}: {problem}",
                          key="scaling_config")
    with aws_api(handle, "eks"):
        response = handle.client("eks").update_nodegroup_config(
            clusterName=cluster,
            nodegroupName=nodegroup,
            scalingConfig={
                "minSize": scaling.min_size,
                "maxSize": scaling.max_size,
                "desiredSize": scaling.desired_size,
            },
        )
    update_id = str(response["update"]["id"])
    return wait_for_nodegroup_update(handle, cluster, nodegroup, update_id,
                                     deadline_s=deadline_s, poll_max_s=poll_max_s)


def wait_for_nodegroup_update(
    handle: RegionHandle, cluster: str, nodegroup: str, update_id: str, *,
    deadline_s: float = DEFAULT_UPDATE_DEADLINE_S, poll_max_s: float = 15.0,
) -> WaitOutcome[NodegroupUpdate]:
    spec = WaitSpec(
        description=f"node group update {update_id} of {cluster}/{nodegroup} in "
                    f"{handle.region} to succeed",
        deadline_s=deadline_s, poll_initial_s=1.0, poll_max_s=poll_max_s,
    )
    return wait_for(
        spec,
        lambda: describe_update(handle, cluster, nodegroup, update_id),
        success=lambda update: update.status == "Successful",
        failure=lambda update: (
            f"update status {update.status}" if update.status in UPDATE_TERMINAL_FAILURES
            else None
        ),
    )
