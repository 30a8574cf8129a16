"""Server-side ``Table`` responses (meta.k8s.io/v1), what ``kubectl get`` prints.

Columns and cells follow the API server's printers for nodes, namespaces, pods, services,
deployments and HPAs, so kubectl shows STATUS Ready/NotReady, pod READY and RESTARTS, etc.
Not supported: the ``-o wide`` columns of pods' nominated node and readiness gates.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from maip_drlib.sim.kube import podstatus
from maip_drlib.sim.kube.objects import node_is_ready, parse_timestamp

Row = list[Any]
_NAME = ("Name", "string", "name", 0, "Name must be unique within a namespace.")
_AGE = ("Age", "string", "", 0, "CreationTimestamp is the time this object was created.")


def human_age(seconds: float) -> str:
    """kubectl's short duration: 45s, 3m20s, 12m, 4h5m, 20h, 3d4h, 12d, 2y30d."""
    seconds = max(0, int(seconds))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y{days % 365}d"


def _age(obj: dict[str, Any], now: float) -> str:
    created = obj["metadata"].get("creationTimestamp")
    return human_age(now - parse_timestamp(created)) if created else "<unknown>"


def _node_row(obj: dict[str, Any], now: float) -> Row:
    status = "Ready" if node_is_ready(obj) else "NotReady"
    if obj.get("spec", {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = obj["metadata"].get("labels", {})
    roles = sorted(key.split("/", 1)[1] for key in labels
                   if key.startswith("node-role.kubernetes.io/"))
    info = obj["status"].get("nodeInfo", {})
    addresses = {a["type"]: a["address"] for a in obj["status"].get("addresses", [])}
    return [obj["metadata"]["name"], status, ",".join(roles) or "<none>", _age(obj, now),
            info.get("kubeletVersion", ""), addresses.get("InternalIP", "<none>"),
            addresses.get("ExternalIP", "<none>"), info.get("osImage", ""),
            info.get("kernelVersion", ""), info.get("containerRuntimeVersion", "")]


def _namespace_row(obj: dict[str, Any], now: float) -> Row:
    return [obj["metadata"]["name"], obj.get("status", {}).get("phase", "Active"),
            _age(obj, now)]


def _pod_row(obj: dict[str, Any], now: float) -> Row:
    statuses = obj.get("status", {}).get("containerStatuses", [])
    containers = obj["spec"].get("containers", [])
    ready = sum(1 for entry in statuses if entry.get("ready"))
    reason = podstatus.waiting_reason(obj) or obj.get("status", {}).get("phase", "Pending")
    if obj["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    restarts = str(podstatus.restart_count(obj))
    return [obj["metadata"]["name"], f"{ready}/{len(containers)}", reason, restarts,
            _age(obj, now), obj.get("status", {}).get("podIP", "<none>"),
            obj["spec"].get("nodeName", "<none>"), "<none>", "<none>"]


def _service_row(obj: dict[str, Any], now: float) -> Row:
    spec = obj["spec"]
    ports = ",".join(f"{port['port']}/{port.get('protocol', 'TCP')}"
                     for port in spec.get("ports", []))
    selector = ",".join(f"{k}={v}" for k, v in sorted(spec.get("selector", {}).items()))
    return [obj["metadata"]["name"], spec.get("type", "ClusterIP"),
            spec.get("clusterIP", "None"), "<none>", ports or "<none>", _age(obj, now),
            selector or "<none>"]


def _deployment_row(obj: dict[str, Any], now: float) -> Row:
    spec, status = obj["spec"], obj.get("status", {})
    containers = spec["template"]["spec"].get("containers", [])
    selector = ",".join(f"{k}={v}" for k, v in
                        sorted(spec["selector"].get("matchLabels", {}).items()))
    return [obj["metadata"]["name"],
            f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0),
            _age(obj, now), ",".join(c["name"] for c in containers),
            ",".join(c["image"] for c in containers), selector]


def _hpa_row(obj: dict[str, Any], now: float) -> Row:
    spec, status = obj["spec"], obj.get("status", {})
    ref = spec["scaleTargetRef"]
    targets = []
    for metric in spec.get("metrics", []):
        resource = metric.get("resource", {})
        target = resource.get("target", {}).get("averageUtilization")
        if target is not None:
            targets.append(f"{resource.get('name')}: <unknown>/{target}%")
    return [obj["metadata"]["name"], f"{ref['kind']}/{ref['name']}",
            ", ".join(targets) or "<none>", str(spec.get("minReplicas", 1)),
            spec["maxReplicas"],
            status.get("currentReplicas", 0), _age(obj, now)]


Column = tuple[str, str, str, int, str]
PRINTERS: dict[str, tuple[list[Column], Callable[[dict[str, Any], float], Row]]] = {
    "nodes": ([_NAME, ("Status", "string", "", 0, "The status of the node"),
               ("Roles", "string", "", 0, "The roles of the node"), _AGE,
               ("Version", "string", "", 0, "Kubelet Version reported by the node."),
               ("Internal-IP", "string", "", 1, "List of internal IPs for the node."),
               ("External-IP", "string", "", 1, "List of external IPs for the node."),
               ("OS-Image", "string", "", 1, "OS image reported by the node."),
               ("Kernel-Version", "string", "", 1, "Kernel version reported by the node."),
               ("Container-Runtime", "string", "", 1, "Container runtime of the node.")],
              _node_row),
    "namespaces": ([_NAME, ("Status", "string", "", 0, "The status of the namespace"), _AGE],
                   _namespace_row),
    "pods": ([_NAME, ("Ready", "string", "", 0, "The aggregate readiness state."),
              ("Status", "string", "", 0, "The aggregate status of the containers."),
              ("Restarts", "string", "", 0, "The number of times the containers restarted."),
              _AGE, ("IP", "string", "", 1, "IP address allocated to the pod."),
              ("Node", "string", "", 1, "Name of the Node this pod is assigned to."),
              ("Nominated Node", "string", "", 1, "Name of the nominated node."),
              ("Readiness Gates", "string", "", 1, "Pod readiness gates.")], _pod_row),
    "services": ([_NAME, ("Type", "string", "", 0, "How the service is exposed."),
                  ("Cluster-IP", "string", "", 0, "The cluster IP of the service."),
                  ("External-IP", "string", "", 0, "External IPs of the service."),
                  ("Port(s)", "string", "", 0, "The ports of the service."), _AGE,
                  ("Selector", "string", "", 1, "The service's pod selector.")],
                 _service_row),
    "deployments": ([_NAME, ("Ready", "string", "", 0, "Ready pods / desired replicas."),
                     ("Up-to-date", "integer", "", 0, "Total updated replicas."),
                     ("Available", "integer", "", 0, "Total available replicas."), _AGE,
                     ("Containers", "string", "", 1, "Names of each container."),
                     ("Images", "string", "", 1, "Images of each container."),
                     ("Selector", "string", "", 1, "Label query over pods.")],
                    _deployment_row),
    "horizontalpodautoscalers": (
        [_NAME, ("Reference", "string", "", 0, "The scale target."),
         ("Targets", "string", "", 0, "The current and target metric values."),
         ("MinPods", "string", "", 0, "Lower limit of replicas."),
         ("MaxPods", "integer", "", 0, "Upper limit of replicas."),
         ("Replicas", "integer", "", 0, "Current number of replicas."), _AGE], _hpa_row),
}


def _partial_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"]}


def wants_table(accept: str | None) -> bool:
    return bool(accept) and "as=Table" in accept and "g=meta.k8s.io" in accept


def table(resource: str, items: list[dict[str, Any]], *, include_object: str = "Metadata",
          list_meta: dict[str, Any] | None = None, now: float | None = None) -> dict[str, Any]:
    """A ``Table`` of ``items``; ``include_object`` is None, Metadata or Object."""
    columns, printer = PRINTERS[resource]
    moment = time.time() if now is None else now
    rows = []
    for obj in items:
        row: dict[str, Any] = {"cells": printer(obj, moment)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = _partial_metadata(obj)
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta or {},
        "columnDefinitions": [
            {"name": name, "type": kind, "format": fmt, "description": text,
             "priority": priority}
            for name, kind, fmt, priority, text in columns
        ],
        "rows": rows,
    }
