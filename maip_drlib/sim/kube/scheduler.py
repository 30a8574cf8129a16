"""The simulated kube-scheduler's filter and score: pods fit nodes by requests and pod count.

A pod fits a node that is Ready, schedulable, has a free pod slot and room for its CPU and
memory requests beside every pod bound to it (Terminating pods still count, as on a real
node until their containers are gone). Among the nodes that fit, the least allocated CPU share
wins (the default LeastAllocated score, roughly). A pod that fits nowhere gets the scheduler's
FitError message, e.g. ``0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes
are available: 2 No preemption victims found for incoming pod.``; a NotReady node is reported
by its taint (``node.kubernetes.io/unreachable``, what the node lifecycle controller adds).

Not supported: taints other than the not-ready/unreachable ones, tolerations, affinity,
topology spread, priority and preemption (no victim is ever chosen), scheduling gates.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from maip_drlib.sim.kube import capacity
from maip_drlib.sim.kube.objects import node_is_ready

_UNREACHABLE = "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"
_UNSCHEDULABLE = "node(s) were unschedulable"
_NOT_HELPFUL = "Preemption is not helpful for scheduling"
_NO_VICTIMS = "No preemption victims found for incoming pod"


@dataclass
class NodeRoom:
    """What one node offers and what its bound pods already take."""

    name: str
    address: str
    ready: bool
    cordoned: bool
    cpu_millis: int
    memory_bytes: int
    pods: int
    used_cpu: int = 0
    used_memory: int = 0
    used_pods: int = 0

    def reasons(self, wanted: capacity.Requests, max_pods: int | None) -> list[str]:
        """Why the pod does not fit here (empty: it fits)."""
        if not self.ready:
            return [_UNREACHABLE]
        if self.cordoned:
            return [_UNSCHEDULABLE]
        found = []
        limit = self.pods if max_pods is None else min(self.pods, max_pods)
        if self.used_pods + 1 > limit:
            found.append("Too many pods")
        if self.used_cpu + wanted.cpu_millis > self.cpu_millis:
            found.append("Insufficient cpu")
        if self.used_memory + wanted.memory_bytes > self.memory_bytes:
            found.append("Insufficient memory")
        return found

    def take(self, wanted: capacity.Requests) -> None:
        self.used_cpu += wanted.cpu_millis
        self.used_memory += wanted.memory_bytes
        self.used_pods += 1

    def give_back(self, wanted: capacity.Requests) -> None:
        self.used_cpu -= wanted.cpu_millis
        self.used_memory -= wanted.memory_bytes
        self.used_pods -= 1


@dataclass
class Placement:
    """The nodes of one controller tick and their usage; updated as pods bind and go."""

    nodes: dict[str, NodeRoom] = field(default_factory=dict)
    max_pods_per_node: int | None = None

    @classmethod
    def of(cls, nodes: list[dict[str, Any]], pods: list[dict[str, Any]],
           max_pods_per_node: int | None = None) -> Placement:
        rooms = {}
        for node in nodes:
            cpu, memory, pod_limit = capacity.allocatable(node)
            name = node["metadata"]["name"]
            addresses = node.get("status", {}).get("addresses", [])
            rooms[name] = NodeRoom(name, addresses[0]["address"] if addresses else "",
                                   node_is_ready(node),
                                   bool(node.get("spec", {}).get("unschedulable")),
                                   cpu, memory, pod_limit)
        placement = cls(rooms, max_pods_per_node)
        for pod in pods:
            placement.bound(pod)
        return placement

    def bound(self, pod: dict[str, Any]) -> None:
        room = self.nodes.get(pod.get("spec", {}).get("nodeName") or "")
        if room is not None:
            room.take(capacity.pod_requests(pod))

    def released(self, pod: dict[str, Any]) -> None:
        room = self.nodes.get(pod.get("spec", {}).get("nodeName") or "")
        if room is not None:
            room.give_back(capacity.pod_requests(pod))

    def choose(self, pod: dict[str, Any]) -> tuple[NodeRoom | None, str]:
        """The node the pod goes to (taken), or None and the FitError message."""
        wanted = capacity.pod_requests(pod)
        fits, reasons = [], Counter[str]()
        for room in sorted(self.nodes.values(), key=lambda item: item.name):
            why = room.reasons(wanted, self.max_pods_per_node)
            if why:
                reasons.update(why)
            else:
                fits.append(room)
        if fits:
            chosen = min(fits, key=lambda room: (
                (room.used_cpu + wanted.cpu_millis) / max(room.cpu_millis, 1), room.used_pods))
            chosen.take(wanted)
            return chosen, ""
        return None, fit_error(len(self.nodes), reasons)


def fit_error(total: int, reasons: Counter[str]) -> str:
    """The scheduler's message for a pod no node takes (its reasons counted over nodes)."""
    if not total:
        return "no nodes available to schedule pods"
    listed = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
    helpless = sum(count for reason, count in reasons.items()
                   if reason in (_UNREACHABLE, _UNSCHEDULABLE))
    preemption = [f"{count} {text}" for count, text in
                  ((helpless, _NOT_HELPFUL), (total - helpless, _NO_VICTIMS)) if count]
    return (f"0/{total} nodes are available: {listed}. preemption: 0/{total} nodes are "
            f"available: {', '.join(sorted(preemption))}.")
