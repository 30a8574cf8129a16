"""The drill's wait for scaled deployments to be ready, saying why pods are not.

``wait_deployments_ready`` polls the namespace's deployments and, while some are not ready,
its pods: each observation (what the progress display and a timeout show) names the pods that
wait and why, e.g. ``18 Pending: 0/2 nodes are available: 2 Insufficient cpu.`` (the
scheduler's message: pods beyond the nodes' capacity wait for the node group to grow) or
``3 ImagePullBackOff``. ``pod_reasons`` gives the same summary once.

Not supported: reasons of pods not matched by a deployment's ``matchLabels``; events
(``kubectl describe`` shows FailedScheduling events: the pod condition carries the same
message).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from maip_drlib.errors import NotFound, Unreachable
from maip_drlib.facts import DeploymentFact
from maip_drlib.probes import kube as kube_probes
from maip_drlib.regions import RegionHandle
from maip_drlib.waits import WaitOutcome, WaitSpec, wait_for

if TYPE_CHECKING:
    from maip_drlib.actions.kube import DeploymentsReadiness

_SHOWN_REASONS = 4


def _reason(pod: kube_probes.KubePodFact) -> str:
    if pod.terminating:
        return "Terminating"
    if pod.unschedulable:
        return f"Pending: {pod.unschedulable.split(' preemption:')[0]}"
    return ",".join(pod.waiting_reasons) or pod.phase


def pod_reasons(handle: RegionHandle, namespace: str,
                deployments: Sequence[DeploymentFact] | None = None) -> str:
    """Pods not ready (of ``deployments`` when given), counted by why: a one-line summary."""
    try:
        pods = kube_probes.pods(handle, namespace)
    except (Unreachable, NotFound) as error:
        return f"pods unknown: {error}"
    selectors = [item.selector for item in deployments or ()]
    waiting = [pod for pod in pods if (not pod.ready or pod.terminating)
               and (not selectors or any(pod.matches(sel) for sel in selectors))]
    if not waiting:
        return "no pod waiting"
    counts = Counter(_reason(pod) for pod in waiting)
    shown = [f"{count} {reason}" for reason, count in counts.most_common(_SHOWN_REASONS)]
    rest = sum(counts.values()) - sum(count for _, count in counts.most_common(_SHOWN_REASONS))
    return "pods not ready: " + "; ".join(shown) + (f"; {rest} other" if rest else "")


@dataclass(frozen=True)
class ReadinessWithReasons:
    """One poll: the deployments against the replica count, and why pods wait."""

    readiness: DeploymentsReadiness
    reasons: str = ""

    @property
    def ready(self) -> bool:
        return not self.readiness.not_ready

    def __str__(self) -> str:
        return f"{self.readiness}; {self.reasons}" if self.reasons else str(self.readiness)


def observe(handle: RegionHandle, namespace: str, replicas: int) -> ReadinessWithReasons:
    from maip_drlib.actions.kube import DeploymentsReadiness

    readiness = DeploymentsReadiness(namespace, replicas,
                                     kube_probes.deployments(handle, namespace))
    if not readiness.not_ready:
        return ReadinessWithReasons(readiness)
    return ReadinessWithReasons(readiness,
                                pod_reasons(handle, namespace, readiness.not_ready))


def wait_deployments_ready(handle: RegionHandle, namespace: str, replicas: int, *,
                           deadline_s: float, poll_initial_s: float, poll_max_s: float
                           ) -> WaitOutcome[ReadinessWithReasons]:
    """Wait until every deployment of ``namespace`` has ``replicas`` ready; raises
    ``WaitTimeout`` whose last observation names the pods that wait and why."""
    return wait_for(
        WaitSpec(f"deployments in {namespace} ({handle.region}) to have {replicas} ready "
                 "replicas", deadline_s=deadline_s, poll_initial_s=poll_initial_s,
                 poll_max_s=poll_max_s),
        lambda: observe(handle, namespace, replicas),
        success=lambda observed: observed.ready,
    )
