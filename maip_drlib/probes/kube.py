"""Kubernetes probes over the official client: nodes, deployments, pods, services, HPAs.

Every call passes the handle's ``_request_timeout`` and lists are paginated (``limit`` and
``_continue``); no per-object GET in loops. ``nodes`` reports an API that does not answer as an
``ApiUnreachable`` fact (the runbook's "kubectl get nodes should time out" is an expected
outcome); the other probes raise ``Unreachable``.

Not supported: label selectors given as expressions (deployments are matched to pods with
``matchLabels`` only), watches, custom resources, and namespaces other than the one asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as Urllib3HTTPError

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
from maip_drlib.regions import RegionHandle

PAGE_SIZE = 250


def _api_name(handle: RegionHandle) -> str:
    return f"kubernetes API ({handle.kube_context})"


def _unreachable(handle: RegionHandle, error: BaseException, started: float) -> Unreachable:
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


def paged(handle: RegionHandle, list_call: Callable[..., Any], **kwargs: Any) -> Iterator[Any]:
    """Every item of a paginated list call; connection failures and 5xx become Unreachable."""
    started = time.monotonic()
    token: str | None = None
    while True:
        call_kwargs = dict(kwargs, limit=PAGE_SIZE, _request_timeout=handle.kube_request_timeout)
        if token:
            call_kwargs["_continue"] = token
        try:
            page = list_call(**call_kwargs)
        except ApiException as error:
            if error.status == 404:
                raise NotFound(
                    f"{_api_name(handle)} in {handle.region}: not found ({error.reason})"
                ) from error
            if error.status in (0, 401, 403) or (error.status or 0) >= 500:
                raise _unreachable(handle, error, started) from error
            raise
        except Urllib3HTTPError as error:
            raise _unreachable(handle, error, started) from error
        yield from page.items or []
        token = page.metadata._continue if page.metadata else None
        if not token:
            return


def _core(handle: RegionHandle) -> client.CoreV1Api:
    return client.CoreV1Api(handle.api_client)


def nodes(handle: RegionHandle) -> NodesFact | ApiUnreachable:
    """Nodes and their Ready condition, or the fact that the API did not answer."""
    started = time.monotonic()
    try:
        items = list(paged(handle, _core(handle).list_node))
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
        for condition in (node.status.conditions if node.status else None) or []:
            if condition.type == "Ready":
                ready = condition.status == "True"
                reason = None if ready else (condition.reason or f"Ready={condition.status}")
        facts.append(NodeFact(name=node.metadata.name, ready=ready, reason=reason))
    return NodesFact(region=handle.region, context=handle.kube_context, nodes=tuple(facts))


def deployments(handle: RegionHandle, namespace: str) -> tuple[DeploymentFact, ...]:
    apps = client.AppsV1Api(handle.api_client)
    facts = []
    for item in paged(handle, apps.list_namespaced_deployment, namespace=namespace):
        status = item.status
        selector = item.spec.selector.match_labels if item.spec and item.spec.selector else None
        facts.append(
            DeploymentFact(
                namespace=namespace,
                name=item.metadata.name,
                desired=int(item.spec.replicas if item.spec.replicas is not None else 1),
                ready=int((status.ready_replicas if status else 0) or 0),
                available=int((status.available_replicas if status else 0) or 0),
                updated=int((status.updated_replicas if status else 0) or 0),
                selector=tuple(sorted((selector or {}).items())),
            )
        )
    return tuple(facts)


def _waiting_reasons(pod: Any) -> tuple[str, ...]:
    reasons: list[str] = []
    status = pod.status
    if status is None:
        return ()
    for container in (status.init_container_statuses or []) + (status.container_statuses or []):
        waiting = container.state.waiting if container.state else None
        if waiting and waiting.reason:
            reasons.append(waiting.reason)
    for condition in status.conditions or []:
        if condition.type == "PodScheduled" and condition.status == "False":
            reasons.append(condition.reason or "Unschedulable")
    return tuple(dict.fromkeys(reasons))


def pods(handle: RegionHandle, namespace: str) -> tuple[PodFact, ...]:
    facts = []
    for pod in paged(handle, _core(handle).list_namespaced_pod, namespace=namespace):
        status = pod.status
        ready = any(
            condition.type == "Ready" and condition.status == "True"
            for condition in (status.conditions if status else None) or []
        )
        restarts = sum(
            int(container.restart_count or 0)
            for container in (status.container_statuses if status else None) or []
        )
        owners = pod.metadata.owner_references or []
        facts.append(
            PodFact(
                namespace=namespace,
                name=pod.metadata.name,
                phase=str((status.phase if status else None) or "Unknown"),
                ready=ready,
                restarts=restarts,
                waiting_reasons=_waiting_reasons(pod),
                node=pod.spec.node_name if pod.spec else None,
                owner=f"{owners[0].kind}/{owners[0].name}" if owners else None,
                labels=tuple(sorted((pod.metadata.labels or {}).items())),
            )
        )
    return tuple(facts)


def services(handle: RegionHandle, namespace: str) -> tuple[ServiceFact, ...]:
    facts = []
    for service in paged(handle, _core(handle).list_namespaced_service, namespace=namespace):
        spec = service.spec
        ports = tuple(
            ServicePort(
                port=int(port.port),
                protocol=str(port.protocol or "TCP"),
                target_port=str(port.target_port) if port.target_port is not None else None,
                node_port=port.node_port,
            )
            for port in (spec.ports if spec else None) or []
        )
        ingress = (
            service.status.load_balancer.ingress
            if service.status and service.status.load_balancer else None
        ) or []
        external = tuple(entry.hostname or entry.ip for entry in ingress if entry.hostname
                         or entry.ip)
        facts.append(
            ServiceFact(
                namespace=namespace,
                name=service.metadata.name,
                type=str((spec.type if spec else None) or "ClusterIP"),
                cluster_ip=spec.cluster_ip if spec else None,
                ports=ports,
                external_addresses=external,
            )
        )
    return tuple(facts)


def hpas(handle: RegionHandle, namespace: str) -> tuple[HpaFact, ...]:
    autoscaling = client.AutoscalingV2Api(handle.api_client)
    facts = []
    for hpa in paged(handle, autoscaling.list_namespaced_horizontal_pod_autoscaler,
                      namespace=namespace):
        target = hpa.spec.scale_target_ref
        facts.append(
            HpaFact(
                namespace=namespace,
                name=hpa.metadata.name,
                target_kind=str(target.kind),
                target_name=str(target.name),
                min_replicas=hpa.spec.min_replicas,
                max_replicas=int(hpa.spec.max_replicas),
                current_replicas=hpa.status.current_replicas if hpa.status else None,
                desired_replicas=hpa.status.desired_replicas if hpa.status else None,
            )
        )
    return tuple(facts)
