"""The API operations on a ``KubeCluster``: list (with selectors and pagination), get,
deployment and scale updates, pod deletion (graceful: ``KubeCluster.terminate_pod``). The
HTTP handler parses; this module decides.

Not supported: create (POST) of any resource, deletion of anything but pods, dry runs,
``resourceVersionMatch``, ``sendInitialEvents``, status subresources.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from maip_drlib.sim.kube import objects, tables
from maip_drlib.sim.kube.apierrors import bad_request, conflict, gone, invalid
from maip_drlib.sim.kube.discovery import ServedResource
from maip_drlib.sim.kube.patching import apply_patch
from maip_drlib.sim.kube.selectors import field_selector, label_selector
from maip_drlib.sim.kube.state import KubeCluster


@dataclass(frozen=True)
class Target:
    """What a request path names."""

    group_version: str
    resource: ServedResource
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


def present(group_version: str, obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` as ``group_version`` serves it (autoscaling/v1 HPAs are converted)."""
    if group_version == "autoscaling/v1" and obj.get("kind") == "HorizontalPodAutoscaler":
        return objects.hpa_as_v1(obj)
    return obj


def matcher(query: dict[str, str]) -> Callable[[dict[str, Any]], bool]:
    by_label = label_selector(query.get("labelSelector"))
    by_field = field_selector(query.get("fieldSelector"))
    return lambda obj: by_label(obj) and by_field(obj)


def _key(obj: dict[str, Any]) -> str:
    return f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(decoded["rv"]), str(decoded["after"])
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise bad_request("continue key is not valid") from error


def _encode_continue(version: int, after: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"rv": version, "after": after}).encode()
                                    ).decode()


def list_objects(cluster: KubeCluster, target: Target, query: dict[str, str],
                 accept: str | None) -> dict[str, Any]:
    """A ``<Kind>List`` (or a Table) with ``limit``/``continue`` pagination."""
    items, version = cluster.list(target.resource.store, target.namespace)
    wanted = matcher(query)
    items = [item for item in items if wanted(item)]
    if token := query.get("continue"):
        version, after = _decode_continue(token)
        if cluster.resource_version - version > 100_000:
            raise gone("The provided continue parameter is too old")
        items = [item for item in items if _key(item) > after]
    meta: dict[str, Any] = {"resourceVersion": str(version)}
    limit = _non_negative_int(query.get("limit"), "limit")
    if limit and len(items) > limit:
        meta["continue"] = _encode_continue(version, _key(items[limit - 1]))
        meta["remainingItemCount"] = len(items) - limit
        items = items[:limit]
    items = [present(target.group_version, item) for item in items]
    if tables.wants_table(accept):
        return tables.table(target.resource.store, items, list_meta=meta,
                            include_object=query.get("includeObject", "Metadata"),
                            now=cluster.now())
    return {"kind": f"{target.resource.kind}List", "apiVersion": target.group_version,
            "metadata": meta, "items": items}


def _non_negative_int(text: str | None, name: str) -> int:
    if text in (None, ""):
        return 0
    try:
        value = int(text)
    except ValueError as error:
        raise bad_request(f"invalid {name}: {text!r}") from error
    if value < 0:
        raise bad_request(f"invalid {name}: {text!r}")
    return value


def get_object(cluster: KubeCluster, target: Target, query: dict[str, str],
               accept: str | None) -> dict[str, Any]:
    obj = present(target.group_version,
                  cluster.get(target.resource.store, target.namespace, target.name or ""))
    if tables.wants_table(accept):
        return tables.table(target.resource.store, [obj], now=cluster.now(),
                            include_object=query.get("includeObject", "Metadata"))
    return obj


def _replicas_of(body: dict[str, Any], kind: str, name: str) -> int:
    replicas = body.get("spec", {}).get("replicas")
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        raise invalid(kind, name, "spec.replicas", f"Invalid value: {replicas!r}: must be an "
                      "integer", "autoscaling" if kind == "Scale" else "apps")
    if replicas < 0:
        raise invalid(kind, name, "spec.replicas", f"Invalid value: {replicas}: must be "
                      "greater than or equal to 0", "autoscaling" if kind == "Scale" else "apps")
    return replicas


def _parse_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except json.JSONDecodeError as error:
        raise bad_request(f"invalid JSON body: {error}") from error
    if not isinstance(parsed, dict):
        raise bad_request("the request body must be a JSON object")
    return parsed


def get_scale(cluster: KubeCluster, target: Target) -> dict[str, Any]:
    return objects.scale(cluster.get("deployments", target.namespace, target.name or ""))


def put_scale(cluster: KubeCluster, target: Target, body: bytes) -> dict[str, Any]:
    scale = _parse_body(body)
    name = target.name or ""
    replicas = _replicas_of(scale, "Scale", name)
    expected = scale.get("metadata", {}).get("resourceVersion") or None
    return objects.scale(cluster.scale_deployment(target.namespace or "", name, replicas,
                                                  expected_version=expected))


def patch_scale(cluster: KubeCluster, target: Target, body: bytes,
                content_type: str) -> dict[str, Any]:
    name = target.name or ""

    def change(deployment: dict[str, Any]) -> None:
        current = objects.scale(deployment)
        patched = apply_patch(current, body, content_type)
        if patched["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise conflict("deployments", name, "apps")
        _set_replicas(deployment, _replicas_of(patched, "Scale", name))

    return objects.scale(cluster.update("deployments", target.namespace, name, change))


def _set_replicas(deployment: dict[str, Any], replicas: int) -> None:
    if deployment["spec"].get("replicas") != replicas:
        deployment["spec"]["replicas"] = replicas
        deployment["metadata"]["generation"] = deployment["metadata"].get("generation", 1) + 1


def _accept_deployment(current: dict[str, Any], proposed: dict[str, Any], name: str) -> None:
    """Validate ``proposed`` and fold its spec and labels into ``current`` (in place)."""
    meta = proposed.get("metadata", {})
    if meta.get("name", name) != name or \
            meta.get("namespace", current["metadata"]["namespace"]) != \
            current["metadata"]["namespace"]:
        raise bad_request("the name and namespace of the object do not match the request")
    version = meta.get("resourceVersion")
    if version and version != current["metadata"]["resourceVersion"]:
        raise conflict("deployments", name, "apps")
    spec = proposed.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("template"), dict):
        raise invalid("Deployment", name, "spec.template", "Required value", "apps")
    _replicas_of({"spec": {"replicas": spec.get("replicas", 1)}}, "Deployment", name)
    if spec.get("selector") != current["spec"]["selector"]:
        raise invalid("Deployment", name, "spec.selector", "field is immutable", "apps")
    if spec != current["spec"]:
        current["spec"] = spec
        current["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
    for field in ("labels", "annotations"):
        if field in meta:
            current["metadata"][field] = meta[field]


def put_deployment(cluster: KubeCluster, target: Target, body: bytes) -> dict[str, Any]:
    proposed = _parse_body(body)
    name = target.name or ""
    return cluster.update("deployments", target.namespace, name,
                          lambda current: _accept_deployment(current, proposed, name))


def patch_deployment(cluster: KubeCluster, target: Target, body: bytes,
                     content_type: str) -> dict[str, Any]:
    name = target.name or ""

    def change(current: dict[str, Any]) -> None:
        _accept_deployment(current, apply_patch(current, body, content_type), name)

    return cluster.update("deployments", target.namespace, name, change)


def delete_pod(cluster: KubeCluster, target: Target, query: dict[str, str] | None = None,
               body: bytes = b"") -> dict[str, Any]:
    """Graceful deletion: the pod (Terminating) as it is now; ``gracePeriodSeconds`` from the
    query or a ``DeleteOptions`` body overrides the pod's own grace period (0: at once)."""
    options = _parse_body(body) if body.strip() else {}
    grace = (query or {}).get("gracePeriodSeconds")
    if grace is None and options.get("gracePeriodSeconds") is not None:
        grace = str(options["gracePeriodSeconds"])
    seconds = None
    if grace not in (None, ""):
        try:
            seconds = int(grace)
        except ValueError as error:
            raise bad_request(f"invalid gracePeriodSeconds: {grace!r}") from error
    pod = cluster.terminate_pod(target.namespace or "", target.name or "", seconds)
    return pod or cluster_status_success(target)


def cluster_status_success(target: Target) -> dict[str, Any]:
    """The ``Status`` a DELETE answers when the object went at once."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": target.name, "kind": "pods"}}
