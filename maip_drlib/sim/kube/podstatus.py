"""Pod and deployment status transitions, shared by seeding and the controller.

Each function mutates the pod or deployment dict it is given. Not supported: init
containers, multiple containers with differing states, readiness gates, eviction.
"""

from __future__ import annotations

import hashlib
from typing import Any

from maip_drlib.sim.kube.objects import qos_class, timestamp


def _ip_for(name: str, prefix: str = "10.0") -> str:
    digest = hashlib.sha256(name.encode()).digest()
    return f"{prefix}.{digest[0]}.{max(1, digest[1] % 254)}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _condition(kind: str, ok: bool, now: float, reason: str | None = None) -> dict[str, Any]:
    condition: dict[str, Any] = {"type": kind, "status": "True" if ok else "False",
                                 "lastProbeTime": None, "lastTransitionTime": timestamp(now)}
    if reason:
        condition["reason"] = reason
    return condition


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return pod["spec"].get("containers", [])


def mark_unschedulable(pod: dict[str, Any], message: str, now: float) -> None:
    """Pending, with PodScheduled False/Unschedulable (no Ready node with room)."""
    condition = _condition("PodScheduled", False, now, "Unschedulable")
    condition["message"] = message
    previous = pod["status"].get("conditions", [])
    if previous and previous[0].get("message") == message:
        condition["lastTransitionTime"] = previous[0]["lastTransitionTime"]
    pod["status"] = {"phase": "Pending", "conditions": [condition],
                     "qosClass": qos_class(pod["spec"])}


def mark_scheduled(pod: dict[str, Any], node_name: str, host_ip: str, now: float) -> None:
    """Bound to ``node_name``; containers are being created (not ready yet)."""
    pod["spec"]["nodeName"] = node_name
    pod["status"] = {
        "phase": "Pending",
        "hostIP": host_ip,
        "startTime": timestamp(now),
        "conditions": [
            _condition("PodScheduled", True, now),
            _condition("Initialized", True, now),
            _condition("Ready", False, now, "ContainersNotReady"),
            _condition("ContainersReady", False, now, "ContainersNotReady"),
        ],
        "containerStatuses": [
            {"name": container["name"], "image": container["image"], "imageID": "",
             "ready": False, "started": False, "restartCount": 0,
             "state": {"waiting": {"reason": "ContainerCreating"}}}
            for container in _containers(pod)
        ],
        "qosClass": qos_class(pod["spec"]),
    }


def mark_running(pod: dict[str, Any], now: float) -> None:
    """Running and Ready on its node."""
    name = pod["metadata"]["name"]
    status = pod["status"]
    status["phase"] = "Running"
    status["podIP"] = _ip_for(name)
    status["podIPs"] = [{"ip": status["podIP"]}]
    status["conditions"] = [
        _condition("PodScheduled", True, now),
        _condition("Initialized", True, now),
        _condition("Ready", True, now),
        _condition("ContainersReady", True, now),
    ]
    restarts = {entry["name"]: entry.get("restartCount", 0)
                for entry in status.get("containerStatuses", [])}
    status["containerStatuses"] = [
        {"name": container["name"], "image": container["image"],
         "imageID": f"{container['image']}@sha256:{_digest(container['image'])}",
         "containerID": f"containerd://{hashlib.sha256(name.encode()).hexdigest()}",
         "ready": True, "started": True, "restartCount": restarts.get(container["name"], 0),
         "state": {"running": {"startedAt": timestamp(now)}}}
        for container in _containers(pod)
    ]


def mark_waiting(pod: dict[str, Any], reason: str, restart_count: int, now: float) -> None:
    """Not ready, with ``reason`` as the container's waiting reason (a fault)."""
    status = pod["status"]
    crashing = reason == "CrashLoopBackOff"
    status["phase"] = "Running" if crashing else "Pending"
    status["conditions"] = [
        _condition("PodScheduled", True, now),
        _condition("Initialized", True, now),
        _condition("Ready", False, now, "ContainersNotReady"),
        _condition("ContainersReady", False, now, "ContainersNotReady"),
    ]
    entries = []
    for container in _containers(pod):
        if crashing:
            message = f"back-off 5m0s restarting failed container={container['name']}"
        else:
            message = f'Back-off pulling image "{container["image"]}"'
        entry: dict[str, Any] = {
            "name": container["name"], "image": container["image"], "imageID": "",
            "ready": False, "started": False, "restartCount": restart_count,
            "state": {"waiting": {"reason": reason, "message": message}},
        }
        if crashing and restart_count:
            entry["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error",
                                                 "finishedAt": timestamp(now)}}
        entries.append(entry)
    status["containerStatuses"] = entries


def set_ready_condition(pod: dict[str, Any], ready: bool) -> None:
    """Flip only the pod's Ready condition (what the node controller does for lost nodes)."""
    for condition in pod["status"].get("conditions", []):
        if condition["type"] == "Ready":
            condition["status"] = "True" if ready else "False"
            if ready:
                condition.pop("reason", None)
            else:
                condition["reason"] = "NodeNotReady" if pod_is_running(pod) else \
                    condition.get("reason", "ContainersNotReady")


def pod_is_terminating(pod: dict[str, Any]) -> bool:
    """Graceful deletion requested (``metadata.deletionTimestamp``): not an active pod."""
    return bool(pod.get("metadata", {}).get("deletionTimestamp"))


def pod_is_ready(pod: dict[str, Any]) -> bool:
    return any(condition["type"] == "Ready" and condition["status"] == "True"
               for condition in pod.get("status", {}).get("conditions", []))


def pod_is_running(pod: dict[str, Any]) -> bool:
    statuses = pod.get("status", {}).get("containerStatuses", [])
    return bool(statuses) and all("running" in entry.get("state", {}) for entry in statuses)


def waiting_reason(pod: dict[str, Any]) -> str | None:
    for entry in pod.get("status", {}).get("containerStatuses", []):
        waiting = entry.get("state", {}).get("waiting")
        if waiting:
            return waiting.get("reason")
    return None


def restart_count(pod: dict[str, Any]) -> int:
    return sum(entry.get("restartCount", 0)
               for entry in pod.get("status", {}).get("containerStatuses", []))


def update_deployment_status(deployment: dict[str, Any], pods: list[dict[str, Any]],
                             now: float) -> None:
    """Set status counts and conditions from ``pods``; zero counts are omitted."""
    desired = deployment["spec"].get("replicas", 1)
    ready = sum(1 for pod in pods if pod_is_ready(pod))
    max_unavailable = desired // 4
    available_ok = ready >= desired - max_unavailable
    previous = {c["type"]: c for c in deployment.get("status", {}).get("conditions", [])}
    counts = {"replicas": len(pods), "updatedReplicas": len(pods), "readyReplicas": ready,
              "availableReplicas": ready, "unavailableReplicas": max(0, desired - ready)}
    status: dict[str, Any] = {"observedGeneration": deployment["metadata"].get("generation", 1)}
    status.update({key: value for key, value in counts.items() if value})
    progressing_reason = "NewReplicaSetAvailable" if ready >= desired else "ReplicaSetUpdated"
    conditions = [
        ("Available", available_ok,
         "MinimumReplicasAvailable" if available_ok else "MinimumReplicasUnavailable",
         "Deployment has minimum availability." if available_ok
         else "Deployment does not have minimum availability."),
        ("Progressing", True, progressing_reason,
         f'ReplicaSet "{deployment["metadata"]["name"]}" has successfully progressed.'),
    ]
    status["conditions"] = []
    for kind, ok, reason, message in conditions:
        text = "True" if ok else "False"
        old = previous.get(kind)
        changed = old is None or old.get("status") != text or old.get("reason") != reason
        since = timestamp(now) if changed else old["lastTransitionTime"]
        status["conditions"].append({
            "type": kind, "status": text, "reason": reason, "message": message,
            "lastUpdateTime": since, "lastTransitionTime": since,
        })
    deployment["status"] = status
