"""A controller loop that plays the scheduler, kubelet, deployment and node controllers.

Each tick it: follows ``desired_node_count`` (new nodes turn Ready after
``node_start_seconds``); removes pods whose grace period ended; per deployment creates pods
toward ``spec.replicas`` or begins the graceful deletion of the surplus (Terminating pods
are not counted as the deployment's, as the ReplicaSet controller does not count them);
schedules pending pods on Ready nodes where their CPU and memory requests and a pod slot fit
(``scheduler``), else leaves them Pending with PodScheduled False/Unschedulable and the
scheduler's message; makes scheduled pods Ready ``pod_start_seconds`` after scheduling,
unless the region's ``pods_never_ready`` fault holds them in that waiting reason (restart
count rising for CrashLoopBackOff); marks pods on NotReady nodes not ready; deletes pods of
removed nodes at once (the pod garbage collector's force deletion); and writes deployment
and HPA status.

A settled cluster costs almost nothing: a tick is skipped while nothing it reads has changed
since a tick that changed nothing (the cluster's resource version, the region's faults, the
wanted node count) and nothing waits on a timer (a node or pod starting, a pod terminating or
not running); one tick runs at least every ``SETTLED_RECHECK_S`` regardless.

Not supported: rolling updates (a changed template does not replace pods), node draining
before a node group removes a node, eviction timeouts, affinity, taints beyond NotReady,
preemption, HPA autoscaling decisions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from maip_drlib.sim.faults import FaultState
from maip_drlib.sim.kube import objects, podstatus
from maip_drlib.sim.kube.apierrors import KubeApiError
from maip_drlib.sim.kube.scheduler import Placement
from maip_drlib.sim.kube.state import KubeCluster

log = logging.getLogger(__name__)
_JOIN_TIMEOUT_S = 3.0
# A settled cluster is reconciled at least this often (real seconds), whatever it reads: a
# backstop only (a change of what it reads, or a timer, reconciles at the next poll).
SETTLED_RECHECK_S = 5.0


def _owned_by(pod: dict[str, Any], deployment: dict[str, Any]) -> bool:
    if pod["metadata"].get("namespace") != deployment["metadata"]["namespace"]:
        return False
    labels = pod["metadata"].get("labels", {})
    selector = deployment["spec"]["selector"].get("matchLabels", {})
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _removal_order(pod: dict[str, Any]) -> tuple[bool, bool, bool, str, str]:
    """Sort key: pods to remove first (unscheduled, starting, not ready, newest)."""
    created = pod["metadata"].get("creationTimestamp", "")
    return (bool(pod["spec"].get("nodeName")), podstatus.pod_is_running(pod),
            podstatus.pod_is_ready(pod), _invert(created), _invert(pod["metadata"]["name"]))


def _invert(text: str) -> str:
    return "".join(chr(0x10FFFF - ord(char)) for char in text)


class KubeController:
    """Reconciles one ``KubeCluster`` in a background thread (or via ``reconcile_once``)."""

    def __init__(self, cluster: KubeCluster, *, faults: FaultState | None = None,
                 region: str | None = None, pod_start_seconds: float = 0.3,
                 node_start_seconds: float = 0.5, max_pods_per_node: int | None = None,
                 crash_restart_seconds: float = 1.0, poll_seconds: float = 0.05,
                 desired_node_count: Callable[[], int] | None = None):
        if poll_seconds <= 0 or poll_seconds > 0.1:
            raise ValueError("poll_seconds must be in (0, 0.1]")
        self.cluster = cluster
        self.faults = faults
        self.region = region or cluster.region
        self.pod_start_seconds = pod_start_seconds
        self.node_start_seconds = node_start_seconds
        self.max_pods_per_node = max_pods_per_node
        self.crash_restart_seconds = crash_restart_seconds
        self.poll_seconds = poll_seconds
        self.desired_node_count = desired_node_count
        self.last_error: BaseException | None = None
        self._scheduled_at: dict[str, float] = {}
        self._last_restart: dict[str, float] = {}
        self._node_ready_at: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # What the last tick that changed nothing saw (None: the next tick must run).
        self._settled_on: tuple[object, ...] | None = None
        self._settled_at = 0.0

    def start(self) -> KubeController:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"kube-controller-{self.region}")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(_JOIN_TIMEOUT_S)
            self._thread = None

    def __enter__(self) -> KubeController:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self._tick()
            except KubeApiError as error:  # an object vanished mid-tick: next tick fixes it
                self.last_error = error
                self._settled_on = None

    def _inputs(self) -> tuple[object, ...]:
        """What a tick reads besides the clock: the cluster's version, the region's faults,
        the wanted node count."""
        faults = None if self.faults is None else self.faults.snapshot().region(self.region)
        wanted = None
        if self.desired_node_count is not None:
            try:
                wanted = int(self.desired_node_count())
            except Exception:  # reported by the tick that runs next
                return (object(),)
        return (self.cluster.resource_version, faults, wanted)

    def _tick(self) -> None:
        """One reconcile, unless the cluster is settled (module docstring)."""
        now = time.monotonic()
        inputs = self._inputs()
        if inputs == self._settled_on and now - self._settled_at < SETTLED_RECHECK_S:
            return
        before = self.cluster.resource_version
        self.reconcile_once()
        quiet = self.cluster.resource_version == before and not self._waiting_on_timers()
        self._settled_on = self._inputs() if quiet else None
        self._settled_at = now

    def _waiting_on_timers(self) -> bool:
        """Whether a later tick would change something with no other input: a node or pod
        starting, a pod terminating or not running."""
        if self._node_ready_at:
            return True
        pods, _ = self.cluster.list("pods")
        return not all(podstatus.pod_is_running(pod) and not podstatus.pod_is_terminating(pod)
                       for pod in pods)

    # One tick ----------------------------------------------------------------------------

    def reconcile_once(self) -> None:
        now = time.monotonic()
        self._sync_nodes(now)
        fault = None
        if self.faults is not None:
            region_faults = self.faults.snapshot().region(self.region)
            fault = region_faults.pods_never_ready
            self._apply_nodes_fault(region_faults.nodes_not_ready)
        self.cluster.finish_terminations()
        nodes, _ = self.cluster.list("nodes")
        ready_nodes = {node["metadata"]["name"]: node["status"]["addresses"][0]["address"]
                       for node in nodes if objects.node_is_ready(node)}
        node_names = {node["metadata"]["name"] for node in nodes}
        pods, _ = self.cluster.list("pods")
        load = Placement.of(nodes, pods, self.max_pods_per_node)
        deployments, _ = self.cluster.list("deployments")
        for deployment in deployments:
            owned = [pod for pod in pods if _owned_by(pod, deployment)]
            owned = self._drop_orphans(owned, node_names, load)
            owned = [pod for pod in owned if not podstatus.pod_is_terminating(pod)]
            owned = self._resize(deployment, owned, load)
            context = (ready_nodes, load, fault, now)
            owned = [self._advance(pod, *context) for pod in owned]
            meta = deployment["metadata"]
            self.cluster.update("deployments", meta["namespace"], meta["name"],
                                lambda dep, owned=owned: podstatus.update_deployment_status(
                                    dep, owned, self.cluster.now()))
        self._update_hpas()
        known = {pod["metadata"]["uid"] for pod in self.cluster.list("pods")[0]}
        for tracked in (self._scheduled_at, self._last_restart):
            for uid in set(tracked) - known:
                del tracked[uid]

    def _sync_nodes(self, now: float) -> None:
        if self.desired_node_count is not None:
            try:
                wanted = int(self.desired_node_count())
            except Exception as error:  # a caller's callable may fail any way: keep going
                self.last_error = error
                log.warning("desired_node_count failed: %s", error)
                wanted = len(self.cluster.node_names())
            if wanted >= 0 and wanted != len(self.cluster.node_names()):
                added = self.cluster.set_node_count(wanted, ready=self.node_start_seconds <= 0)
                for name in added:
                    self._node_ready_at[name] = now + self.node_start_seconds
        existing = set(self.cluster.node_names())
        for name, ready_at in list(self._node_ready_at.items()):
            if name not in existing:
                del self._node_ready_at[name]
            elif now >= ready_at:
                self.cluster.set_nodes_ready(True, [name])
                del self._node_ready_at[name]

    def _apply_nodes_fault(self, not_ready: bool) -> None:
        """The ``nodes_not_ready`` fault: every node NotReady; when it ends, Ready again."""
        if not_ready:
            self.cluster.set_nodes_ready(False)
            self._nodes_faulted = True
        elif getattr(self, "_nodes_faulted", False):
            self._nodes_faulted = False
            pending = set(self._node_ready_at)
            self.cluster.set_nodes_ready(True, [name for name in self.cluster.node_names()
                                                if name not in pending])

    def _drop_orphans(self, owned: list[dict[str, Any]], node_names: set[str],
                      load: Placement) -> list[dict[str, Any]]:
        kept = []
        for pod in owned:
            node = pod["spec"].get("nodeName")
            if node and node not in node_names:
                self._force_delete(pod)
            else:
                kept.append(pod)
        return kept

    def _resize(self, deployment: dict[str, Any], owned: list[dict[str, Any]],
                load: Placement) -> list[dict[str, Any]]:
        desired = deployment["spec"].get("replicas", 1)
        if len(owned) > desired:
            ordered = sorted(owned, key=_removal_order)
            for pod in ordered[:len(owned) - desired]:
                self._terminate(pod, load)
            return ordered[len(owned) - desired:]
        for _ in range(desired - len(owned)):
            name = self.cluster.new_pod_name(deployment["metadata"]["name"])
            owned.append(self.cluster.create("pods", objects.pod(deployment, name)))
        return owned

    def _terminate(self, pod: dict[str, Any], load: Placement) -> None:
        """Graceful deletion (the pod keeps its node's resources until it is gone); an
        unscheduled pod goes at once and frees nothing."""
        try:
            self.cluster.terminate_pod(pod["metadata"]["namespace"], pod["metadata"]["name"])
        except KubeApiError:
            return  # already gone

    def _force_delete(self, pod: dict[str, Any]) -> None:
        try:
            self.cluster.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
        except KubeApiError:
            return  # already gone

    def _advance(self, pod: dict[str, Any], ready_nodes: dict[str, str], load: Placement,
                 fault: str | None, now: float) -> dict[str, Any]:
        original = pod
        pod = {**pod, "spec": dict(pod["spec"]), "status": dict(pod["status"])}
        uid, wall = pod["metadata"]["uid"], self.cluster.now()
        node = pod["spec"].get("nodeName")
        if not node:
            self._schedule(pod, load, now, wall)
        elif podstatus.pod_is_running(pod):
            pod["status"]["conditions"] = [dict(c) for c in pod["status"].get("conditions", [])]
            podstatus.set_ready_condition(pod, node in ready_nodes)
        elif node in ready_nodes:
            started = now >= self._scheduled_at.setdefault(uid, now) + self.pod_start_seconds
            if started and fault:
                self._hold(pod, fault, now, wall)
            elif started:
                podstatus.mark_running(pod, wall)
        if pod == original:
            return original
        try:
            return self.cluster.replace("pods", pod)
        except KubeApiError:
            return original

    def _schedule(self, pod: dict[str, Any], load: Placement, now: float, wall: float) -> None:
        room, message = load.choose(pod)
        if room is not None:
            podstatus.mark_scheduled(pod, room.name, room.address, wall)
            self._scheduled_at[pod["metadata"]["uid"]] = now
            return
        podstatus.mark_unschedulable(pod, message, wall)

    def _hold(self, pod: dict[str, Any], reason: str, now: float, wall: float) -> None:
        uid = pod["metadata"]["uid"]
        restarts = podstatus.restart_count(pod)
        if reason == "CrashLoopBackOff":
            last = self._last_restart.setdefault(uid, now)
            if now - last >= self.crash_restart_seconds:
                restarts += 1
                self._last_restart[uid] = now
        if podstatus.waiting_reason(pod) != reason or \
                restarts != podstatus.restart_count(pod):
            podstatus.mark_waiting(pod, reason, restarts, wall)

    def _update_hpas(self) -> None:
        for hpa in self.cluster.list("horizontalpodautoscalers")[0]:
            meta, ref = hpa["metadata"], hpa["spec"]["scaleTargetRef"]
            try:
                target = self.cluster.get("deployments", meta["namespace"], ref["name"])
            except KubeApiError:
                continue
            current = target.get("status", {}).get("replicas", 0)
            desired = target["spec"].get("replicas", 1)

            def change(obj: dict[str, Any], current: int = current, desired: int = desired
                       ) -> None:
                obj["status"] = {**obj.get("status", {}), "currentReplicas": current,
                                 "desiredReplicas": desired}

            self.cluster.update("horizontalpodautoscalers", meta["namespace"], meta["name"],
                                change)
