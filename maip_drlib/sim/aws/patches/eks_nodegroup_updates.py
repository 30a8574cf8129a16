"""Patch: EKS node group config updates take time, are describable and validate scaling.

moto 5.2.5: ``update_nodegroup_config`` applies at once and returns an update that is already
``Successful`` (params typed ``ScalingConfig``), keeps no record of it: ``DescribeUpdate`` and
``ListUpdates`` answer 404 (no route). It accepts any scaling triple (desired > max too), and
``dict.update``s the node group's scaling config in place (moto shares one default dict between
node groups created without one).

Production: the update is ``InProgress`` and the node group ``UPDATING`` until it is
``Successful``; ``DescribeUpdate`` (GET /clusters/{name}/updates/{updateId}?nodegroupName=)
and ``ListUpdates`` answer it; params are ``MinSize``/``MaxSize``/``DesiredSize``; a triple
breaking ``0 <= min <= desired <= max`` (or max < 1) is ``InvalidParameterException``; a node
group that is not ACTIVE refuses another update (``ResourceInUseException``).

This patch does all that; the update completes after ``SimDurations.nodegroup_update_s``
simulated seconds (state advances lazily when the node group or its updates are described).
The scaling config is applied at the call (as moto does). With the ``nodegroup_update_fails``
fault an update ends ``Failed`` (error ``AsgInstanceLaunchFailures``) and the scaling config
goes back to what it was. Not supported: cluster updates in ``DescribeUpdate`` (only node group
updates are recorded), nextToken paging.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from maip_drlib.sim.aws import runtime
from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "eks_nodegroup_updates"
_UPDATES_ATTR = "maip_updates"
_PREVIOUS_ATTR = "maip_scaling_before_update"
_SCALING_PARAM_TYPES = {"minSize": "MinSize", "maxSize": "MaxSize", "desiredSize": "DesiredSize"}

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply", "scaling_problem"]


@dataclass
class RecordedUpdate:
    body: dict[str, Any]
    complete_at: float


def scaling_problem(scaling: dict[str, int]) -> str | None:
    """Production's rule for a node group scaling triple, or None when it holds."""
    low, desired, high = scaling.get("minSize"), scaling.get("desiredSize"), scaling.get("maxSize")
    if low is None or desired is None or high is None:
        return None
    if low < 0:
        return f"Minimum capacity {low} can't be negative"
    if high < 1:
        return f"Maximum capacity {high} must be at least 1"
    if low > high:
        return f"Minimum capacity {low} can't be greater than max size {high}"
    if desired > high:
        return f"Desired capacity {desired} can't be greater than max size {high}"
    if desired < low:
        return f"Minimum capacity {low} can't be greater than desired size {desired}"
    return None


def _updates(nodegroup: Any) -> dict[str, RecordedUpdate]:
    found = getattr(nodegroup, _UPDATES_ATTR, None)
    if found is None:
        found = {}
        setattr(nodegroup, _UPDATES_ATTR, found)
    return found


def _advance(nodegroup: Any) -> None:
    sim = runtime.current()
    now = sim.now()
    with sim.lock:
        running = False
        for update in _updates(nodegroup).values():
            if update.body["status"] == "InProgress":
                if now < update.complete_at:
                    running = True
                elif sim.faults.snapshot().nodegroup_update_fails:
                    _fail(nodegroup, update)
                else:
                    update.body["status"] = "Successful"
        if _updates(nodegroup):
            nodegroup.status = "UPDATING" if running else "ACTIVE"


def _fail(nodegroup: Any, update: RecordedUpdate) -> None:
    """The ``nodegroup_update_fails`` fault: the update ends Failed, the scaling unchanged."""
    previous = getattr(nodegroup, _PREVIOUS_ATTR, {}).pop(update.body["id"], None)
    if previous is not None:
        nodegroup.scaling_config = dict(previous)
    update.body["status"] = "Failed"
    update.body["errors"] = [{
        "errorCode": "AsgInstanceLaunchFailures",
        "errorMessage": "Could not launch On-Demand Instances. InsufficientInstanceCapacity "
                        "(simulated fault)",
        "resourceIds": [nodegroup.nodegroup_name],
    }]


def _find_nodegroup(backend: Any, cluster_name: str, nodegroup_name: str | None) -> Any:
    from moto.eks.exceptions import ResourceNotFoundException

    cluster = backend.clusters.get(cluster_name)
    nodegroup = cluster.nodegroups.get(nodegroup_name) if cluster and nodegroup_name else None
    if nodegroup is None:
        raise ResourceNotFoundException(
            clusterName=cluster_name,
            nodegroupName=nodegroup_name,
            fargateProfileName=None,
            addonName=None,
            message=f"No node group found for name: {nodegroup_name}.",
        )
    return nodegroup


def _update_config(original: Any) -> Any:
    def update_nodegroup_config(self: Any, cluster_name: str, nodegroup_name: str,
                                **kwargs: Any) -> dict[str, Any]:
        from moto.eks.exceptions import InvalidParameterException, ResourceInUseException

        nodegroup = _find_nodegroup(self, cluster_name, nodegroup_name)
        _advance(nodegroup)
        if nodegroup.status != "ACTIVE":
            raise ResourceInUseException(
                clusterName=cluster_name,
                nodegroupName=nodegroup_name,
                addonName=None,
                message=f"Nodegroup cannot be updated as it is currently not in Active State "
                f"(status {nodegroup.status})",
            )
        scaling = kwargs.get("scaling_config")
        if scaling:
            merged = {**nodegroup.scaling_config, **scaling}
            problem = scaling_problem(merged)
            if problem is not None:
                raise InvalidParameterException(
                    clusterName=cluster_name,
                    nodegroupName=nodegroup_name,
                    fargateProfileName=None,
                    addonName=None,
                    message=problem,
                )
            # Never mutate moto's shared default scaling dict in place.
            nodegroup.scaling_config = dict(nodegroup.scaling_config)
        previous_scaling = dict(nodegroup.scaling_config)
        body = original(self, cluster_name, nodegroup_name, **kwargs)
        params = [param for param in body["params"] if param["type"] != "ScalingConfig"]
        for key, value in (scaling or {}).items():
            if key in _SCALING_PARAM_TYPES:
                params.append({"type": _SCALING_PARAM_TYPES[key], "value": str(value)})
        body.update(id=str(uuid.uuid4()), status="InProgress", params=params)
        sim = runtime.current()
        with sim.lock:
            previous_by_id = getattr(nodegroup, _PREVIOUS_ATTR, None)
            if previous_by_id is None:
                previous_by_id = {}
                setattr(nodegroup, _PREVIOUS_ATTR, previous_by_id)
            previous_by_id[body["id"]] = previous_scaling
            _updates(nodegroup)[body["id"]] = RecordedUpdate(
                body=body, complete_at=sim.deadline_after(sim.durations.nodegroup_update_s)
            )
            nodegroup.status = "UPDATING"
        return dict(body)

    return update_nodegroup_config


def _describe_nodegroup(original: Any) -> Any:
    def describe_nodegroup(self: Any, cluster_name: str, nodegroup_name: str) -> Any:
        nodegroup = original(self, cluster_name, nodegroup_name)
        _advance(nodegroup)
        return nodegroup

    return describe_nodegroup


def _backend_describe_update(_: Any) -> Any:
    def describe_update(self: Any, cluster_name: str, update_id: str,
                        nodegroup_name: str | None) -> dict[str, Any]:
        from moto.eks.exceptions import ResourceNotFoundException

        nodegroup = _find_nodegroup(self, cluster_name, nodegroup_name)
        _advance(nodegroup)
        update = _updates(nodegroup).get(update_id)
        if update is None:
            raise ResourceNotFoundException(
                clusterName=cluster_name,
                nodegroupName=nodegroup_name,
                fargateProfileName=None,
                addonName=None,
                message=f"No update found for ID: {update_id}",
            )
        return dict(update.body)

    return describe_update


def _backend_list_updates(_: Any) -> Any:
    def list_updates(self: Any, cluster_name: str, nodegroup_name: str | None) -> list[str]:
        if nodegroup_name is None:
            return []
        nodegroup = _find_nodegroup(self, cluster_name, nodegroup_name)
        return list(_updates(nodegroup))

    return list_updates


def _response_describe_update(_: Any) -> Any:
    def describe_update(self: Any) -> Any:
        from moto.core.responses import ActionResult

        update = self.eks_backend.describe_update(
            cluster_name=self._get_param("name"),
            update_id=self._get_param("updateId"),
            nodegroup_name=self._get_param("nodegroupName"),
        )
        return ActionResult({"update": update})

    return describe_update


def _response_list_updates(_: Any) -> Any:
    def list_updates(self: Any) -> Any:
        from moto.core.responses import ActionResult

        update_ids = self.eks_backend.list_updates(
            cluster_name=self._get_param("name"),
            nodegroup_name=self._get_param("nodegroupName"),
        )
        return ActionResult({"updateIds": update_ids})

    return list_updates


def _add_routes() -> None:
    from moto.eks import urls

    handler = urls.url_paths["{0}/clusters$"]
    urls.url_paths.setdefault("{0}/clusters/(?P<name>[^/]+)/updates$", handler)
    urls.url_paths.setdefault("{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$",
                              handler)


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.eks.models import EKSBackend
    from moto.eks.responses import EKSResponse

    replace_method(EKSBackend, "update_nodegroup_config", _update_config)
    replace_method(EKSBackend, "describe_nodegroup", _describe_nodegroup)
    replace_method(EKSBackend, "describe_update", _backend_describe_update)
    replace_method(EKSBackend, "list_updates", _backend_list_updates)
    replace_method(EKSResponse, "describe_update", _response_describe_update)
    replace_method(EKSResponse, "list_updates", _response_list_updates)
    _add_routes()
