"""Kubernetes: ``kubectl scale deployment --all -n <ns> --replicas=N``, then wait until ready.

Every deployment is scaled through the scale subresource (PATCH ``.../scale``, JSON merge
patch) with bounded concurrency; the wait lists deployments once per poll. On timeout the error
names the deployments not ready and the waiting reasons of their pods (matched by ``matchLabels``).

Not supported: HPAs that fight the new replica count (an HPA with a higher minimum wins; the
readiness check then sees more replicas, which still passes), StatefulSets, label selectors.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from maip_drlib.errors import CheckFailed, NotFound, Unreachable, WaitTimeout
from maip_drlib.facts import DeploymentFact, PodFact
from maip_drlib.probes.kube import deployments, pods, request_json
from maip_drlib.regions import RegionHandle
from maip_drlib.waits import WaitOutcome, WaitSpec, wait_for

DEFAULT_CONCURRENCY = 8
MERGE_PATCH = "application/merge-patch+json"
DEFAULT_READY_DEADLINE_S = 600.0


@dataclass(frozen=True)
class DeploymentsReadiness:
    """One poll of the wait: every deployment against the replica count asked for."""

    namespace: str
    replicas: int
    deployments: tuple[DeploymentFact, ...]

    @property
    def not_ready(self) -> tuple[DeploymentFact, ...]:
        return tuple(
            item for item in self.deployments
            if item.desired < self.replicas or item.ready < self.replicas
            or item.available < self.replicas
        )

    def __str__(self) -> str:
        pending = self.not_ready
        if not pending:
            return f"all {len(self.deployments)} deployments in {self.namespace} ready"
        names = ", ".join(f"{item.name} ({item.ready}/{self.replicas} ready)" for item in pending)
        return f"{len(pending)}/{len(self.deployments)} not ready in {self.namespace}: {names}"


def _scale_one(handle: RegionHandle, namespace: str, name: str, replicas: int) -> str | None:
    try:
        request_json(handle, "PATCH",
                     f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
                     body={"spec": {"replicas": replicas}}, content_type=MERGE_PATCH)
    except ApiException as error:
        return f"{name}: HTTP {error.status} {error.reason}"
    except Urllib3HTTPError as error:
        return f"{name}: {type(error).__name__}: {error}"
    return None


def scale_deployments(handle: RegionHandle, namespace: str, replicas: int, *,
                      concurrency: int = DEFAULT_CONCURRENCY) -> int:
    """``kubectl scale deployment --all``: one paginated list, then one scale PATCH per
    deployment, ``concurrency`` at a time; returns how many were scaled (no wait)."""
    if replicas < 0:
        raise CheckFailed("replica count must be >= 0", expected=">= 0", observed=replicas)
    names = [item.name for item in deployments(handle, namespace)]
    if not names:
        raise NotFound(f"no deployments in namespace {namespace} ({handle.kube_context}, "
                       f"{handle.region})")
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(names)))) as pool:
        failures = [problem for problem in pool.map(
            lambda name: _scale_one(handle, namespace, name, replicas), names
        ) if problem]
    if failures:
        raise CheckFailed(
            f"could not scale {len(failures)}/{len(names)} deployments: {'; '.join(failures)}",
            region=handle.region, resource=f"{handle.kube_context}/{namespace}",
        )
    return len(names)


def scale_all_deployments(
    handle: RegionHandle,
    namespace: str,
    replicas: int,
    *,
    deadline_s: float = DEFAULT_READY_DEADLINE_S,
    concurrency: int = DEFAULT_CONCURRENCY,
    poll_max_s: float = 5.0,
    poll_initial_s: float | None = None,
) -> WaitOutcome[DeploymentsReadiness]:
    """Scale every deployment of ``namespace`` to ``replicas`` and wait until all are ready.

    The wait polls first after ``poll_initial_s`` (default: 0.1 s, at most ``poll_max_s``),
    backing off to ``poll_max_s``: pods that start fast are noticed within one short poll.
    """
    count = scale_deployments(handle, namespace, replicas, concurrency=concurrency)
    spec = WaitSpec(
        description=f"{count} deployments in {namespace} ({handle.region}) to have "
                    f"{replicas} ready replicas",
        deadline_s=deadline_s, poll_max_s=poll_max_s,
        poll_initial_s=min(poll_max_s, 0.1 if poll_initial_s is None else poll_initial_s),
    )
    try:
        return wait_for(
            spec,
            lambda: DeploymentsReadiness(namespace, replicas, deployments(handle, namespace)),
            success=lambda readiness: not readiness.not_ready,
        )
    except WaitTimeout as timeout:
        raise _explained_timeout(handle, namespace, timeout) from timeout


def _explained_timeout(handle: RegionHandle, namespace: str,
                       timeout: WaitTimeout) -> WaitTimeout:
    readiness = timeout.last_observed
    if not isinstance(readiness, DeploymentsReadiness):
        return timeout
    try:
        pod_facts: tuple[PodFact, ...] = pods(handle, namespace)
    except (Unreachable, NotFound):
        pod_facts = ()
    details = []
    for deployment in readiness.not_ready:
        reasons = sorted({
            reason for pod in pod_facts if pod.matches(deployment.selector)
            for reason in pod.waiting_reasons
        })
        details.append(f"{deployment.name}: pods waiting on {', '.join(reasons) or 'nothing'}")
    message = f"{timeout}; {'; '.join(details)}" if details else str(timeout)
    return WaitTimeout(message, last_observed=readiness, elapsed_s=timeout.elapsed_s)
