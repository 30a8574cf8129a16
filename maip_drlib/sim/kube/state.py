"""Thread-safe in-memory state of ONE region's Kubernetes cluster.

Objects are plain dicts in the real JSON shapes, keyed by resource, namespace and name. Every
write bumps a cluster-wide resourceVersion, stamps it on the object and appends a watch
event. Reads return deep copies.

Pods end gracefully (``terminate_pod``): a deletion sets ``metadata.deletionTimestamp`` (when the
pod will be gone) and ``deletionGracePeriodSeconds`` (the pod's ``terminationGracePeriodSeconds``,
default 30, in simulated seconds; ``sim_clock`` turns them into real ones) and the pod stays,
Terminating, until ``finish_terminations`` removes it after its grace period. A pod not bound
to a node, or a grace period of 0, goes at once, as the API server does.

Not supported: ReplicaSets, finalizers, garbage collection, generateName on create,
resourceVersionMatch, event history longer than ``max_events``, containers that exit before
their grace period ends (a pod always takes its whole grace period).
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.kube import objects, podstatus
from maip_drlib.sim.kube.apierrors import (
    KubeApiError,
    already_exists,
    conflict,
    gone,
    invalid,
    not_found,
)
from maip_drlib.sim.kube.capacity import DEFAULT_INSTANCE_TYPE, instance_type
from maip_drlib.sim.kube.scheduler import Placement


@dataclass(frozen=True)
class ResourceInfo:
    kind: str
    namespaced: bool
    group: str = ""


RESOURCES: dict[str, ResourceInfo] = {
    "nodes": ResourceInfo("Node", namespaced=False),
    "namespaces": ResourceInfo("Namespace", namespaced=False),
    "pods": ResourceInfo("Pod", namespaced=True),
    "services": ResourceInfo("Service", namespaced=True),
    "deployments": ResourceInfo("Deployment", namespaced=True, group="apps"),
    "horizontalpodautoscalers": ResourceInfo("HorizontalPodAutoscaler", namespaced=True,
                                             group="autoscaling"),
}


@dataclass(frozen=True)
class WatchEvent:
    resource_version: int
    resource: str
    type: str  # ADDED, MODIFIED, DELETED
    object: dict[str, Any]


def _without_version(obj: dict[str, Any]) -> dict[str, Any]:
    trimmed = dict(obj)
    trimmed["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    return trimmed


class KubeCluster:
    """One region's cluster: nodes, namespaces, deployments, pods, services, HPAs."""

    def __init__(self, region: str = "us-east-1", *, nodegroup: str = "nodegroup",
                 max_events: int = 10_000, clock: Callable[[], float] = time.time,
                 sim_clock: SimClock | None = None,
                 node_instance_type: str = DEFAULT_INSTANCE_TYPE):
        self.region = region
        self._clock = clock
        self.sim_clock = sim_clock or SimClock()
        self.node_instance_type = instance_type(node_instance_type).name
        self._terminations: dict[tuple[str, str], float] = {}  # (ns, pod) -> monotonic end
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {
            resource: {} for resource in RESOURCES}
        self._version = 0
        self._events: deque[WatchEvent] = deque(maxlen=max_events)
        self._nodegroup = nodegroup
        self._node_serial = itertools.count()
        self._pod_serial = itertools.count()
        self._service_serial = itertools.count(10)
        self._node_index: dict[str, int] = {}
        for name in ("default", "kube-system", "kube-public"):
            self.create("namespaces", objects.namespace(name))

    # Generic access -------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._version

    def now(self) -> float:
        return self._clock()

    def list(self, resource: str, namespace: str | None = None
             ) -> tuple[list[dict[str, Any]], int]:
        """Objects of ``resource`` (in ``namespace``, or all), sorted, and the list version."""
        with self._lock:
            items = [obj for (ns, _), obj in sorted(self._objects[resource].items())
                     if namespace is None or ns == namespace]
            return copy.deepcopy(items), self._version

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        with self._lock:
            found = self._objects[resource].get((namespace or "", name))
            if found is None:
                raise not_found(resource, name, RESOURCES[resource].group)
            return copy.deepcopy(found)

    def create(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        with self._changed:
            meta = obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            if key in self._objects[resource]:
                raise already_exists(resource, meta["name"], RESOURCES[resource].group)
            if RESOURCES[resource].namespaced and \
                    ("", key[0]) not in self._objects["namespaces"]:
                raise not_found("namespaces", key[0])
            stored = copy.deepcopy(obj)
            stored["metadata"].setdefault("uid", str(uuid.uuid4()))
            stored["metadata"].setdefault("creationTimestamp", objects.timestamp(self.now()))
            return self._store(resource, key, stored, "ADDED")

    def replace(self, resource: str, obj: dict[str, Any], *,
                expected_version: str | None = None) -> dict[str, Any]:
        """Store ``obj`` over the existing object; a no-op write keeps the version."""
        with self._changed:
            meta = obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            current = self._objects[resource].get(key)
            if current is None:
                raise not_found(resource, meta["name"], RESOURCES[resource].group)
            if expected_version and expected_version != current["metadata"]["resourceVersion"]:
                raise conflict(resource, meta["name"], RESOURCES[resource].group)
            stored = copy.deepcopy(obj)
            for fixed in ("uid", "creationTimestamp"):
                stored["metadata"][fixed] = current["metadata"][fixed]
            if _without_version(stored) == _without_version(current):
                return copy.deepcopy(current)
            return self._store(resource, key, stored, "MODIFIED")

    def update(self, resource: str, namespace: str | None, name: str,
               change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Atomically apply ``change`` to a copy of the object and store the result."""
        with self._changed:
            obj = self.get(resource, namespace, name)
            change(obj)
            return self.replace(resource, obj)

    def delete(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        with self._changed:
            key = (namespace or "", name)
            if key not in self._objects[resource]:
                raise not_found(resource, name, RESOURCES[resource].group)
            removed = self._objects[resource].pop(key)
            if resource == "pods":
                self._terminations.pop(key, None)
            self._version += 1
            removed["metadata"]["resourceVersion"] = str(self._version)
            self._events.append(WatchEvent(self._version, resource, "DELETED",
                                           copy.deepcopy(removed)))
            self._changed.notify_all()
            return copy.deepcopy(removed)

    def _store(self, resource: str, key: tuple[str, str], stored: dict[str, Any],
               event_type: str) -> dict[str, Any]:
        self._version += 1
        stored["metadata"]["resourceVersion"] = str(self._version)
        self._objects[resource][key] = stored
        self._events.append(WatchEvent(self._version, resource, event_type,
                                       copy.deepcopy(stored)))
        self._changed.notify_all()
        return copy.deepcopy(stored)

    def events_after(self, version: int, timeout: float) -> list[WatchEvent]:
        """Events newer than ``version``, waiting up to ``timeout`` s for the first one.

        Raises a 410 Expired error when ``version`` is older than the kept history.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if self._events and version < self._events[0].resource_version - 1:
                    raise gone(f"too old resource version: {version} "
                               f"({self._events[0].resource_version - 1})")
                newer = [event for event in self._events if event.resource_version > version]
                remaining = deadline - time.monotonic()
                if newer or remaining <= 0:
                    return newer
                self._changed.wait(remaining)

    # Seeding and node control ------------------------------------------------------------

    def seed(self, namespace: str, deployments: Iterable[objects.DeploymentSpec], nodes: int,
             nodegroup: str, *, ready_pods: bool = True,
             max_pods_per_node: int | None = None) -> None:
        """Create the namespace, ``nodes`` Ready nodes, and per deployment a Service (and an
        HPA when the spec has HPA bounds); with ``ready_pods`` the pods that fit the nodes
        already run (``max_pods_per_node`` lowers the nodes' pod limit)."""
        with self._changed:
            self._nodegroup = nodegroup
            if ("", namespace) not in self._objects["namespaces"]:
                self.create("namespaces", objects.namespace(namespace))
            self.set_node_count(nodes, ready=True)
            placement = Placement.of(self.list("nodes")[0], self.list("pods")[0],
                                     max_pods_per_node)
            for spec in deployments:
                if spec.replicas < 0:
                    raise invalid("Deployment", spec.name, "spec.replicas",
                                  "must be greater than or equal to 0", "apps")
                created = self.create("deployments", objects.deployment(namespace, spec))
                serial = next(self._service_serial)
                ip = f"172.20.{serial // 250}.{serial % 250 + 1}"
                self.create("services", objects.service(namespace, spec, ip))
                if spec.hpa_max_replicas is not None:
                    self.create("horizontalpodautoscalers", objects.hpa(
                        namespace, spec, spec.hpa_min_replicas or 1, spec.hpa_max_replicas))
                pods = []
                for _ in range(spec.replicas if ready_pods else 0):
                    pod = objects.pod(created, self.new_pod_name(spec.name))
                    room, _ = placement.choose(pod)
                    if room is None:
                        break  # the controller creates the rest, Pending
                    pods.append(self._create_running_pod(pod, room.name))
                self.update("deployments", namespace, spec.name,
                            lambda dep, pods=pods: podstatus.update_deployment_status(
                                dep, pods, self.now()))

    def _create_running_pod(self, pod: dict[str, Any], node_name: str) -> dict[str, Any]:
        node = self.get("nodes", None, node_name)
        podstatus.mark_scheduled(pod, node_name, node["status"]["addresses"][0]["address"],
                                 self.now())
        podstatus.mark_running(pod, self.now())
        return self.create("pods", pod)

    def new_pod_name(self, deployment_name: str) -> str:
        serial = next(self._pod_serial)
        return (f"{deployment_name}-{objects.template_hash(deployment_name)}-"
                f"{objects.pod_suffix(deployment_name, serial)}")

    def _node_name(self, index: int) -> str:
        second = 0 if self.region == "us-east-1" else 1 + sum(self.region.encode()) % 200
        domain = "ec2.internal" if self.region == "us-east-1" else \
            f"{self.region}.compute.internal"
        return f"ip-10-{second}-{index // 200}-{index % 200 + 10}.{domain}"

    def node_names(self) -> list[str]:
        with self._lock:
            return [name for (_, name) in sorted(self._objects["nodes"])]

    def set_node_count(self, count: int, *, ready: bool = True) -> list[str]:
        """Add nodes (Ready or not) or remove the newest ones; returns the added names."""
        if count < 0:
            raise ValueError("node count must be >= 0")
        with self._changed:
            existing = sorted((name for (_, name) in self._objects["nodes"]),
                              key=lambda name: self._node_index.get(name, -1))
            for surplus in existing[count:][::-1]:
                self.delete("nodes", None, surplus)
                self._node_index.pop(surplus, None)
            added = []
            for _ in range(count - len(existing)):
                index = next(self._node_serial)
                name = self._node_name(index)
                node = objects.node(name, region=self.region, nodegroup=self._nodegroup,
                                    index=index, ready=ready,
                                    instance_type=self.node_instance_type)
                self._node_index[name] = index
                self.create("nodes", node)
                added.append(name)
            return added

    def set_nodes_ready(self, ready: bool, names: Iterable[str] | None = None) -> None:
        """Set the Ready condition of ``names`` (default: every node)."""
        with self._changed:
            chosen = list(names) if names is not None else self.node_names()
            for name in chosen:
                node = self.get("nodes", None, name)
                if objects.node_is_ready(node) == ready:
                    continue
                node["status"]["conditions"] = [
                    c for c in node["status"]["conditions"] if c["type"] != "Ready"
                ] + [objects.ready_condition(ready, self.now())]
                self.replace("nodes", node)

    def scale_deployment(self, namespace: str, name: str, replicas: int, *,
                         expected_version: str | None = None) -> dict[str, Any]:
        """Set ``spec.replicas`` (what the scale subresource does); returns the deployment."""
        if replicas < 0:
            raise invalid("Scale", name, "spec.replicas",
                          f"Invalid value: {replicas}: must be greater than or equal to 0",
                          "autoscaling")
        with self._changed:
            deployment = self.get("deployments", namespace, name)
            if expected_version and \
                    expected_version != deployment["metadata"]["resourceVersion"]:
                raise conflict("deployments", name, "apps")
            if deployment["spec"].get("replicas") != replicas:
                deployment["spec"]["replicas"] = replicas
                deployment["metadata"]["generation"] = \
                    deployment["metadata"].get("generation", 1) + 1
            return self.replace("deployments", deployment)

    # Graceful pod deletion -----------------------------------------------------------------

    def terminate_pod(self, namespace: str, name: str,
                      grace_seconds: int | None = None) -> dict[str, Any]:
        """Begin a pod's graceful deletion (see the module docstring); returns the pod as it
        is now (Terminating), or as it was when it went at once. A second request may only
        shorten the grace period, as on a real API server."""
        with self._changed:
            pod = self.get("pods", namespace, name)
            if grace_seconds is None:
                grace_seconds = int(pod["spec"].get("terminationGracePeriodSeconds",
                                                    objects.DEFAULT_TERMINATION_GRACE_S))
            if grace_seconds < 0:
                raise invalid("DeleteOptions", name, "gracePeriodSeconds",
                              f"Invalid value: {grace_seconds}: must be >= 0", "")
            if not pod["spec"].get("nodeName") or \
                    pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                grace_seconds = 0
            meta = pod["metadata"]
            current = meta.get("deletionGracePeriodSeconds")
            if grace_seconds == 0:
                return self._remove_pod(namespace, name)
            if current is not None and grace_seconds >= current:
                return pod
            real_s = self.sim_clock.real_seconds(grace_seconds)
            meta["deletionTimestamp"] = objects.timestamp(self.now() + real_s)
            meta["deletionGracePeriodSeconds"] = grace_seconds
            self._terminations[(namespace, name)] = time.monotonic() + real_s
            return self.replace("pods", pod)

    def finish_terminations(self) -> list[str]:
        """Remove the pods whose grace period has ended; returns their names."""
        with self._changed:
            now = time.monotonic()
            ended = [key for key, end in self._terminations.items() if end <= now]
            for namespace, name in ended:
                self._remove_pod(namespace, name)
            return [name for _, name in ended]

    def _remove_pod(self, namespace: str, name: str) -> dict[str, Any]:
        self._terminations.pop((namespace, name), None)
        try:
            return self.delete("pods", namespace, name)
        except KubeApiError as error:
            if error.code == 404:
                return {}
            raise

    def deployments_not_ready(self, namespace: str) -> tuple[int, list[str]]:
        """(deployments of ``namespace``, the names of those without a ready replica), read
        in place: the health endpoint and Route 53's checkers ask several times a second."""
        with self._lock:
            found = sorted((name, obj) for (ns, name), obj in self._objects["deployments"].items()
                           if ns == namespace)
            return len(found), [name for name, obj in found
                                if not (obj.get("status", {}).get("readyReplicas") or 0)]

    def pods_present(self, namespace: str) -> int:
        """Pods of ``namespace`` that exist, Terminating ones included (they may still write)."""
        with self._lock:
            return sum(1 for (ns, _) in self._objects["pods"] if ns == namespace)
