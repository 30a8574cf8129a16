"""Kubernetes probes over the official client: nodes, deployments, pods, services, HPAs.

Every call passes the handle's ``_request_timeout`` and lists are paginated (``limit`` and
``continue``); no per-object GET in loops. Requests go through the handle's ``ApiClient``
(its auth, TLS and token refresh) but answers are read as plain JSON: the typed API modules and
their pydantic models cost seconds to import and build in every fresh process, and memory in
proportion to the objects listed. ``nodes`` reports an API that does not answer as an
``ApiUnreachable`` fact (the runbook's "kubectl get nodes should time out" is an expected
outcome); the other probes raise ``Unreachable``.

The kubernetes package and urllib3 are imported inside the functions that talk to the API
(importing any part of the kubernetes package loads all of it: about 0.6 s), so importing the
probes costs nothing until a Kubernetes API is called.

``pods`` returns ``KubePodFact`` (a ``PodFact`` that also says whether the pod is Terminating
and why the scheduler left it Pending).

Not supported: label selectors given as expressions (deployments are matched to pods with
``matchLabels`` only), watches, custom resources, and namespaces other than the one asked for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from maip_drlib.errors import NotFound, Unreachable
from maip_drlib.facts import (
    ApiUnreachable,
    DeploymentFact,
    HpaFact,
    NodeFact,
    NodesFact,
    PodFact,
    ServiceFact,
    ServicePort,
)

if TYPE_CHECKING:
    from maip_drlib.regions import RegionHandle


@dataclass(frozen=True)
class KubePodFact(PodFact):
    """A pod with what the drill needs beyond ``PodFact``: its graceful deletion
    (``metadata.deletionTimestamp``: Terminating, still running and still connected to its
    databases until its grace period ends) and the scheduler's reason when it is not placed."""

    deletion_timestamp: str | None = None
    grace_period_s: int | None = None
    unschedulable: str | None = None  # the PodScheduled=False message

    @property
    def terminating(self) -> bool:
        return self.deletion_timestamp is not None

    @property
    def status(self) -> str:
        """What ``kubectl get pods`` shows in STATUS (Terminating, a waiting reason, phase)."""
        if self.terminating:
            return "Terminating"
        return self.waiting_reason if self.waiting_reason and self.node else self.phase

    def __str__(self) -> str:
        text = super().__str__()
        if self.terminating:
            text += (f" Terminating (grace {self.grace_period_s}s, gone by "
                     f"{self.deletion_timestamp})")
        if self.unschedulable:
            text += f" unschedulable: {self.unschedulable}"
        return text

PAGE_SIZE = 250
JSON = "application/json"


def _api_name(handle: RegionHandle) -> str:
    return f"kubernetes API ({handle.kube_context})"


def _unreachable(handle: RegionHandle, error: BaseException, started: float) -> Unreachable:
    from kubernetes.client.exceptions import ApiException

    if isinstance(error, ApiException):
        detail = f"HTTP {error.status} {error.reason}"
    else:
        detail = f"{type(error).__name__}: {error}"
    return Unreachable(
        f"{_api_name(handle)} in {handle.region} did not answer: {detail}",
        region=handle.region,
        target=_api_name(handle),
        elapsed_s=time.monotonic() - started,
    )


def request_json(handle: RegionHandle, method: str, path: str, *,
                 query: list[tuple[str, Any]] | None = None, body: Any = None,
                 content_type: str | None = None) -> dict[str, Any]:
    """One request through the handle's ApiClient; the answer as JSON, or ``ApiException``
    (status and reason) when it is not 2xx. Connection errors propagate (urllib3)."""
    from kubernetes.client.exceptions import ApiException

    api = handle.api_client
    headers = {"Accept": JSON}
    if content_type:
        headers["Content-Type"] = content_type
    method, url, headers, body, post = api.param_serialize(
        method=method, resource_path=path, query_params=query or [], header_params=headers,
        body=body, auth_settings=["BearerToken"])
    response = api.call_api(method, url, headers, body, post,
                            _request_timeout=handle.kube_request_timeout)
    data = response.read()
    text = data.decode("utf-8") if data else ""
    if not 200 <= response.status <= 299:
        raise ApiException.from_response(http_resp=response, body=text, data=None)
    return json.loads(text) if text else {}


def paged(handle: RegionHandle, source: str | Callable[..., Any],
          **kwargs: Any) -> Iterator[Any]:
    """Every item of a paginated list; connection failures and 5xx become Unreachable.

    ``source`` is an API path (items are JSON dicts) or, for older callers, a typed list
    method of the official client (items are its models; ``kwargs`` go to it).
    """
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError as Urllib3HTTPError

    started = time.monotonic()
    token: str | None = None
    while True:
        try:
            if isinstance(source, str):
                query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
                if token:
                    query.append(("continue", token))
                page = request_json(handle, "GET", source, query=query)
                items, token = page.get("items") or [], _get(page, "metadata", "continue")
            else:
                call_kwargs = dict(kwargs, limit=PAGE_SIZE,
                                   _request_timeout=handle.kube_request_timeout)
                if token:
                    call_kwargs["_continue"] = token
                typed = source(**call_kwargs)
                items = typed.items or []
                token = typed.metadata._continue if typed.metadata else None
        except ApiException as error:
            if error.status == 404:
                raise NotFound(
                    f"{_api_name(handle)} in {handle.region}: not found ({error.reason})"
                ) from error
            if error.status in (0, 401, 403) or (error.status or 0) >= 500:
                raise _unreachable(handle, error, started) from error
            raise
        except (Urllib3HTTPError, ValueError) as error:
            raise _unreachable(handle, error, started) from error
        yield from items
        if not token:
            return


def _get(mapping: Any, *keys: str) -> Any:
    """``mapping[k1][k2]...`` or None when any level is missing or null."""
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def nodes(handle: RegionHandle) -> NodesFact | ApiUnreachable:
    """Nodes and their Ready condition, or the fact that the API did not answer."""
    started = time.monotonic()
    try:
        items = list(paged(handle, "/api/v1/nodes"))
    except Unreachable as error:
        return ApiUnreachable(
            region=handle.region,
            target=_api_name(handle),
            error=str(error.__cause__ or error),
            elapsed_s=time.monotonic() - started,
        )
    facts = []
    for node in items:
        ready, reason = False, "no Ready condition"
        for condition in _get(node, "status", "conditions") or []:
            if condition.get("type") == "Ready":
                ready = condition.get("status") == "True"
                reason = None if ready else (condition.get("reason")
                                             or f"Ready={condition.get('status')}")
        facts.append(NodeFact(name=_get(node, "metadata", "name"), ready=ready, reason=reason))
    return NodesFact(region=handle.region, context=handle.kube_context, nodes=tuple(facts))


def deployments(handle: RegionHandle, namespace: str) -> tuple[DeploymentFact, ...]:
    facts = []
    for item in paged(handle, f"/apis/apps/v1/namespaces/{namespace}/deployments"):
        replicas = _get(item, "spec", "replicas")
        selector = _get(item, "spec", "selector", "matchLabels")
        facts.append(
            DeploymentFact(
                namespace=namespace,
                name=_get(item, "metadata", "name"),
                desired=int(replicas if replicas is not None else 1),
                ready=int(_get(item, "status", "readyReplicas") or 0),
                available=int(_get(item, "status", "availableReplicas") or 0),
                updated=int(_get(item, "status", "updatedReplicas") or 0),
                selector=tuple(sorted((selector or {}).items())),
            )
        )
    return tuple(facts)


def container_images(handle: RegionHandle, namespace: str) -> tuple[tuple[str, str, str], ...]:
    """(deployment, container, image reference) of every container of every deployment of
    ``namespace``, init containers first; one paginated list."""
    found = []
    for item in paged(handle, f"/apis/apps/v1/namespaces/{namespace}/deployments"):
        pod_spec = _get(item, "spec", "template", "spec") or {}
        for container in ((pod_spec.get("initContainers") or [])
                          + (pod_spec.get("containers") or [])):
            found.append((str(_get(item, "metadata", "name")), str(container.get("name")),
                          str(container.get("image"))))
    return tuple(found)


def _waiting_reasons(pod: dict[str, Any]) -> tuple[str, ...]:
    reasons: list[str] = []
    status = pod.get("status")
    if not status:
        return ()
    for container in ((status.get("initContainerStatuses") or [])
                      + (status.get("containerStatuses") or [])):
        reason = _get(container, "state", "waiting", "reason")
        if reason:
            reasons.append(reason)
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            reasons.append(condition.get("reason") or "Unschedulable")
    return tuple(dict.fromkeys(reasons))


def _unschedulable(pod: dict[str, Any]) -> str | None:
    for condition in _get(pod, "status", "conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return str(condition.get("message") or condition.get("reason") or "Unschedulable")
    return None


def pods(handle: RegionHandle, namespace: str) -> tuple[KubePodFact, ...]:
    """Pods of ``namespace``, Terminating ones included (``KubePodFact.terminating``)."""
    facts = []
    for pod in paged(handle, f"/api/v1/namespaces/{namespace}/pods"):
        conditions = _get(pod, "status", "conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        restarts = sum(int(container.get("restartCount") or 0)
                       for container in _get(pod, "status", "containerStatuses") or [])
        owners = _get(pod, "metadata", "ownerReferences") or []
        grace = _get(pod, "metadata", "deletionGracePeriodSeconds")
        facts.append(
            KubePodFact(
                deletion_timestamp=_get(pod, "metadata", "deletionTimestamp"),
                grace_period_s=int(grace) if grace is not None else None,
                unschedulable=_unschedulable(pod),
                namespace=namespace,
                name=_get(pod, "metadata", "name"),
                phase=str(_get(pod, "status", "phase") or "Unknown"),
                ready=ready,
                restarts=restarts,
                waiting_reasons=_waiting_reasons(pod),
                node=_get(pod, "spec", "nodeName"),
                owner=f"{owners[0].get('kind')}/{owners[0].get('name')}" if owners else None,
                labels=tuple(sorted((_get(pod, "metadata", "labels") or {}).items())),
            )
        )
    return tuple(facts)


def services(handle: RegionHandle, namespace: str) -> tuple[ServiceFact, ...]:
    facts = []
    for service in paged(handle, f"/api/v1/namespaces/{namespace}/services"):
        spec = service.get("spec") or {}
        ports = tuple(
            ServicePort(
                port=int(port["port"]),
                protocol=str(port.get("protocol") or "TCP"),
                target_port=(str(port["targetPort"]) if port.get("targetPort") is not None
                             else None),
                node_port=port.get("nodePort"),
            )
            for port in spec.get("ports") or []
        )
        ingress = _get(service, "status", "loadBalancer", "ingress") or []
        external = tuple(entry.get("hostname") or entry.get("ip") for entry in ingress
                         if entry.get("hostname") or entry.get("ip"))
        facts.append(
            ServiceFact(
                namespace=namespace,
                name=_get(service, "metadata", "name"),
                type=str(spec.get("type") or "ClusterIP"),
                cluster_ip=spec.get("clusterIP"),
                ports=ports,
                external_addresses=external,
            )
        )
    return tuple(facts)


def hpas(handle: RegionHandle, namespace: str) -> tuple[HpaFact, ...]:
    facts = []
    path = f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers"
    for hpa in paged(handle, path):
        target = _get(hpa, "spec", "scaleTargetRef") or {}
        facts.append(
            HpaFact(
                namespace=namespace,
                name=_get(hpa, "metadata", "name"),
                target_kind=str(target.get("kind")),
                target_name=str(target.get("name")),
                min_replicas=_get(hpa, "spec", "minReplicas"),
                max_replicas=int(_get(hpa, "spec", "maxReplicas")),
                current_replicas=_get(hpa, "status", "currentReplicas"),
                desired_replicas=_get(hpa, "status", "desiredReplicas"),
            )
        )
    return tuple(facts)
