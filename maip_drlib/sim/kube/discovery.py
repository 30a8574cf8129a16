"""Discovery documents: ``/version``, ``/api``, ``/apis`` and per-group resource lists.

Answers are the legacy (unaggregated) shapes with ``Content-Type: application/json``; clients
that ask for aggregated discovery (``as=APIGroupDiscoveryList``) fall back to them, as they
do with older servers. Not supported: aggregated discovery, OpenAPI v2/v3 (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maip_drlib.sim.kube.objects import KUBELET_VERSION

READ = ["get", "list", "watch"]


@dataclass(frozen=True)
class ServedResource:
    """One resource as a group/version serves it; ``store`` names the KubeCluster resource."""

    name: str
    singular: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    store: str = ""


GROUP_VERSIONS: dict[str, list[ServedResource]] = {
    "v1": [
        ServedResource("namespaces", "namespace", "Namespace", False, tuple(READ), ("ns",),
                       "namespaces"),
        ServedResource("nodes", "node", "Node", False, tuple(READ), ("no",), "nodes"),
        ServedResource("pods", "pod", "Pod", True, (*READ, "delete"), ("po",), "pods"),
        ServedResource("services", "service", "Service", True, tuple(READ), ("svc",),
                       "services"),
    ],
    "apps/v1": [
        ServedResource("deployments", "deployment", "Deployment", True,
                       (*READ, "patch", "update"), ("deploy",), "deployments"),
    ],
    "autoscaling/v2": [
        ServedResource("horizontalpodautoscalers", "horizontalpodautoscaler",
                       "HorizontalPodAutoscaler", True, tuple(READ), ("hpa",),
                       "horizontalpodautoscalers"),
    ],
    "autoscaling/v1": [
        ServedResource("horizontalpodautoscalers", "horizontalpodautoscaler",
                       "HorizontalPodAutoscaler", True, tuple(READ), ("hpa",),
                       "horizontalpodautoscalers"),
    ],
}
GROUPS: dict[str, list[str]] = {"apps": ["v1"], "autoscaling": ["v2", "v1"]}


def served(group_version: str, resource: str) -> ServedResource | None:
    for candidate in GROUP_VERSIONS.get(group_version, []):
        if candidate.name == resource:
            return candidate
    return None


def version_info() -> dict[str, str]:
    git_version = KUBELET_VERSION.split("-")[0]
    major, minor, _ = git_version.removeprefix("v").split(".")
    return {"major": major, "minor": f"{minor}+", "gitVersion": f"{git_version}-eks-sim",
            "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.22.8",
            "compiler": "gc", "platform": "linux/amd64"}


def core_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def _group(name: str) -> dict[str, Any]:
    versions = [{"groupVersion": f"{name}/{version}", "version": version}
                for version in GROUPS[name]]
    return {"name": name, "versions": versions, "preferredVersion": versions[0]}


def group_list() -> dict[str, Any]:
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group(name) for name in GROUPS]}


def group(name: str) -> dict[str, Any] | None:
    if name not in GROUPS:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}


def resource_list(group_version: str) -> dict[str, Any] | None:
    if group_version not in GROUP_VERSIONS:
        return None
    resources: list[dict[str, Any]] = []
    for entry in GROUP_VERSIONS[group_version]:
        resource: dict[str, Any] = {
            "name": entry.name, "singularName": entry.singular, "namespaced": entry.namespaced,
            "kind": entry.kind, "verbs": list(entry.verbs),
        }
        if entry.short_names:
            resource["shortNames"] = list(entry.short_names)
        if entry.name in ("pods", "deployments", "services"):
            resource["categories"] = ["all"]
        resources.append(resource)
        if entry.name == "deployments":
            resources.append({"name": "deployments/scale", "singularName": "",
                              "namespaced": True, "group": "autoscaling", "version": "v1",
                              "kind": "Scale", "verbs": ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": resources}
