"""Builders of the JSON shapes a real API server returns: nodes, pods, deployments, ...

Shapes follow core/v1, apps/v1 and autoscaling/v2 closely enough for the official client's
models and for kubectl. Zero-valued deployment status counts are omitted, as the real
server does (``omitempty``): read them with a default of 0. Nodes report capacity and
allocatable of their instance type (``capacity``); the services' containers request CPU and
memory (``DeploymentSpec``) and their pods have a termination grace period. Not supported:
resource limits, volumes, probes, taints and tolerations, topology spread.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from maip_drlib.sim.kube.capacity import DEFAULT_INSTANCE_TYPE, node_resources

KUBELET_VERSION = "v1.29.15-eks-3abbec1"
NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"
POD_HASH_LABEL = "pod-template-hash"
# What each simulated service's container requests (simulated figures). Chosen so that the
# runbook's ``--replicas=4`` (32 pods, 16 vCPU requested) does not fit on the DR node group's
# 2 standby m6i.xlarge nodes (3920m allocatable each: 14 pods fit) and does fit once the node
# group has its failover size (8 nodes): the reason the runbook scales nodes first.
DEFAULT_CPU_REQUEST = "500m"
DEFAULT_MEMORY_REQUEST = "1Gi"
# Kubernetes' default terminationGracePeriodSeconds (simulated seconds).
DEFAULT_TERMINATION_GRACE_S = 30


@dataclass(frozen=True)
class DeploymentSpec:
    """What seeding creates for one service: a Deployment, its Service and optional HPA."""

    name: str
    replicas: int
    image: str
    port: int = 8080
    hpa_min_replicas: int | None = None
    hpa_max_replicas: int | None = None
    cpu_request: str = DEFAULT_CPU_REQUEST
    memory_request: str = DEFAULT_MEMORY_REQUEST
    termination_grace_seconds: int = DEFAULT_TERMINATION_GRACE_S


def timestamp(epoch_seconds: float | None = None) -> str:
    """RFC 3339 UTC with seconds, the format of ``metadata.creationTimestamp``."""
    moment = time.time() if epoch_seconds is None else epoch_seconds
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def parse_timestamp(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def template_hash(deployment_name: str) -> str:
    """A stable 10-character stand-in for the ReplicaSet's pod-template-hash."""
    return hashlib.sha256(deployment_name.encode()).hexdigest()[:10]


def pod_suffix(deployment_name: str, serial: int) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    digest = hashlib.sha256(f"{deployment_name}/{serial}".encode()).digest()
    return "".join(alphabet[byte % len(alphabet)] for byte in digest[:5])


def namespace(name: str) -> dict[str, Any]:
    return {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def node(name: str, *, region: str, nodegroup: str, index: int, ready: bool,
         instance_type: str = DEFAULT_INSTANCE_TYPE) -> dict[str, Any]:
    capacity, allocatable = node_resources(instance_type)
    zone = f"{region}{'abc'[index % 3]}"
    address = name.split(".")[0].removeprefix("ip-").replace("-", ".")
    machine_id = hashlib.sha256(name.encode()).hexdigest()
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": instance_type,
                "beta.kubernetes.io/instance-type": instance_type,
                "topology.kubernetes.io/region": region,
                "topology.kubernetes.io/zone": zone,
                NODEGROUP_LABEL: nodegroup,
                "eks.amazonaws.com/capacityType": "ON_DEMAND",
            },
        },
        "spec": {"providerID": f"aws:///{zone}/i-{hashlib.sha256(name.encode()).hexdigest()[:17]}"},
        "status": {
            "conditions": [ready_condition(ready)],
            "addresses": [
                {"type": "InternalIP", "address": address},
                {"type": "Hostname", "address": name},
            ],
            "capacity": capacity,
            "allocatable": allocatable,
            "nodeInfo": {
                "machineID": machine_id[:32],
                "systemUUID": f"ec2{machine_id[3:8]}-{machine_id[8:12]}-{machine_id[12:16]}-"
                              f"{machine_id[16:20]}-{machine_id[20:32]}",
                "bootID": machine_id[32:64],
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": KUBELET_VERSION,
                "osImage": "Amazon Linux 2023.6.20250115",
                "kernelVersion": "6.1.124-134.200.amzn2023.x86_64",
                "containerRuntimeVersion": "containerd://1.7.25",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def ready_condition(ready: bool, now: float | None = None) -> dict[str, Any]:
    stamp = timestamp(now)
    if ready:
        return {"type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "kubelet is posting ready status",
                "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}
    return {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
            "message": "Kubelet stopped posting node status.",
            "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}


def node_is_ready(node_object: dict[str, Any]) -> bool:
    for condition in node_object.get("status", {}).get("conditions", []):
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def deployment(ns: str, spec: DeploymentSpec) -> dict[str, Any]:
    labels = {"app": spec.name}
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {
            "name": spec.name, "namespace": ns, "generation": 1, "labels": dict(labels),
            "annotations": {"deployment.kubernetes.io/revision": "1"},
        },
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "containers": [{
                        "name": spec.name, "image": spec.image,
                        "ports": [{"containerPort": spec.port, "protocol": "TCP"}],
                        "imagePullPolicy": "IfNotPresent",
                        "resources": {"requests": {"cpu": spec.cpu_request,
                                                   "memory": spec.memory_request}},
                    }],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": spec.termination_grace_seconds,
                },
            },
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": {},
    }


def service(ns: str, spec: DeploymentSpec, cluster_ip: str) -> dict[str, Any]:
    return {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {"name": spec.name, "namespace": ns, "labels": {"app": spec.name}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": cluster_ip,
            "clusterIPs": [cluster_ip],
            "selector": {"app": spec.name},
            "ports": [{"name": "http", "protocol": "TCP", "port": 80,
                       "targetPort": spec.port}],
            "sessionAffinity": "None",
        },
        "status": {"loadBalancer": {}},
    }


def hpa(ns: str, spec: DeploymentSpec, min_replicas: int, max_replicas: int) -> dict[str, Any]:
    return {
        "kind": "HorizontalPodAutoscaler",
        "apiVersion": "autoscaling/v2",
        "metadata": {"name": spec.name, "namespace": ns},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                               "name": spec.name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
        },
        "status": {"currentReplicas": spec.replicas, "desiredReplicas": spec.replicas},
    }


def hpa_as_v1(hpa_v2: dict[str, Any]) -> dict[str, Any]:
    """The autoscaling/v1 view of an autoscaling/v2 HPA (CPU target only)."""
    spec = hpa_v2["spec"]
    target = None
    for metric in spec.get("metrics", []):
        resource = metric.get("resource", {})
        if resource.get("name") == "cpu":
            target = resource.get("target", {}).get("averageUtilization")
    v1_spec: dict[str, Any] = {"scaleTargetRef": spec["scaleTargetRef"],
                               "minReplicas": spec.get("minReplicas", 1),
                               "maxReplicas": spec["maxReplicas"]}
    if target is not None:
        v1_spec["targetCPUUtilizationPercentage"] = target
    status = hpa_v2.get("status", {})
    return {"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v1",
            "metadata": hpa_v2["metadata"], "spec": v1_spec,
            "status": {"currentReplicas": status.get("currentReplicas", 0),
                       "desiredReplicas": status.get("desiredReplicas", 0)}}


def pod(deployment_object: dict[str, Any], name: str) -> dict[str, Any]:
    """A new, unscheduled pod of ``deployment_object``; the controller moves it on."""
    meta = deployment_object["metadata"]
    template = deployment_object["spec"]["template"]
    pod_hash = template_hash(meta["name"])
    labels = dict(template.get("metadata", {}).get("labels", {}))
    labels[POD_HASH_LABEL] = pod_hash
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "generateName": f"{meta['name']}-{pod_hash}-",
            "namespace": meta["namespace"],
            "labels": labels,
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": f"{meta['name']}-{pod_hash}", "uid": meta.get("uid", ""),
                "controller": True, "blockOwnerDeletion": True,
            }],
        },
        "spec": {**template["spec"], "schedulerName": "default-scheduler"},
        "status": {"phase": "Pending", "qosClass": qos_class(template["spec"])},
    }


def qos_class(pod_spec: dict[str, Any]) -> str:
    """BestEffort without requests, else Burstable (the simulation sets no limits)."""
    containers = pod_spec.get("containers", [])
    if any(container.get("resources", {}).get("requests") for container in containers):
        return "Burstable"
    return "BestEffort"


def scale(deployment_object: dict[str, Any]) -> dict[str, Any]:
    """The autoscaling/v1 Scale of a deployment (its scale subresource)."""
    meta = deployment_object["metadata"]
    selector = deployment_object["spec"]["selector"].get("matchLabels", {})
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {key: meta[key] for key in
                     ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                     if key in meta},
        "spec": {"replicas": deployment_object["spec"].get("replicas", 1)},
        "status": {
            "replicas": deployment_object.get("status", {}).get("replicas", 0),
            "selector": ",".join(f"{key}={value}" for key, value in sorted(selector.items())),
        },
    }
