"""What a simulated node offers the scheduler: capacity and allocatable by EC2 instance type.

``INSTANCE_TYPES`` holds the vCPUs, memory and ENI limits of the instance types the
simulation uses (the seeded EKS node groups are ``m6i.xlarge``). The pod limit is the Amazon
VPC CNI's documented formula ``ENIs x (IPv4 addresses per ENI - 1) + 2`` (m5.large: 29,
m6i.xlarge: 58). Allocatable follows the EKS AMI's bootstrap reservations roughly:
kube-reserved CPU 6 % of the first core, 1 % of the second, 0.5 % of cores 3-4, 0.25 % of the
rest; kube-reserved memory 255 MiB + 11 MiB per pod; eviction threshold 100 MiB. The memory a
node reports as capacity is taken as 97 % of the nominal size (the kernel keeps the rest).

Not supported: prefix delegation (higher pod limits), custom max-pods, system-reserved,
DaemonSet pods' requests (aws-node, kube-proxy: not simulated as pods), ephemeral storage,
extended resources, instance types not in the table (``ValueError``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

DEFAULT_INSTANCE_TYPE = "m6i.xlarge"  # what sim/aws/seed.py gives the node groups
MIB = 1024 * 1024
_REPORTED_MEMORY_SHARE = 0.97
_EVICTION_HARD_MIB = 100


@dataclass(frozen=True)
class InstanceType:
    """EC2 figures of one instance type (EC2 User Guide, "Maximum IP addresses per ENI")."""

    name: str
    vcpus: int
    memory_mib: int
    enis: int
    ipv4_per_eni: int

    @property
    def max_pods(self) -> int:
        """The VPC CNI's pod limit without prefix delegation."""
        return self.enis * (self.ipv4_per_eni - 1) + 2


INSTANCE_TYPES: dict[str, InstanceType] = {item.name: item for item in (
    InstanceType("t3.medium", 2, 4096, 3, 6),
    InstanceType("m5.large", 2, 8192, 3, 10),
    InstanceType("m5.xlarge", 4, 16384, 4, 15),
    InstanceType("m5.2xlarge", 8, 32768, 4, 15),
    InstanceType("m6i.large", 2, 8192, 3, 10),
    InstanceType("m6i.xlarge", 4, 16384, 4, 15),
    InstanceType("m6i.2xlarge", 8, 32768, 4, 15),
)}


def instance_type(name: str) -> InstanceType:
    found = INSTANCE_TYPES.get(name)
    if found is None:
        raise ValueError(f"instance type {name!r} is not simulated; known: "
                         f"{', '.join(sorted(INSTANCE_TYPES))}")
    return found


def kube_reserved_cpu_millis(vcpus: int) -> int:
    """The EKS AMI's kube-reserved CPU for ``vcpus`` cores, in millicores."""
    shares = [(1, 0.06), (1, 0.01), (2, 0.005), (max(0, vcpus - 4), 0.0025)]
    left, reserved = vcpus, 0.0
    for cores, share in shares:
        used = min(cores, left)
        reserved += used * 1000 * share
        left -= used
    return round(reserved)


def node_resources(name: str) -> tuple[dict[str, str], dict[str, str]]:
    """(capacity, allocatable) of a node of instance type ``name``, as a kubelet reports them."""
    spec = instance_type(name)
    memory_mib = int(spec.memory_mib * _REPORTED_MEMORY_SHARE)
    reserved_mib = 255 + 11 * spec.max_pods + _EVICTION_HARD_MIB
    capacity = {"cpu": str(spec.vcpus), "memory": f"{memory_mib}Mi", "pods": str(spec.max_pods)}
    allocatable = {"cpu": f"{spec.vcpus * 1000 - kube_reserved_cpu_millis(spec.vcpus)}m",
                   "memory": f"{memory_mib - reserved_mib}Mi", "pods": str(spec.max_pods)}
    return capacity, allocatable


_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_SUFFIXES = {"": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
             "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(text: str | int | float) -> Decimal:
    """A Kubernetes resource quantity ("500m", "1Gi", "2") as a number of base units."""
    match = _QUANTITY.match(str(text).strip())
    if match is None or match.group(2) not in _SUFFIXES:
        raise ValueError(f"not a resource quantity: {text!r}")
    try:
        return Decimal(match.group(1)) * Decimal(_SUFFIXES[match.group(2)])
    except InvalidOperation as error:
        raise ValueError(f"not a resource quantity: {text!r}") from error


def cpu_millis(text: str | int | float) -> int:
    return int(quantity(text) * 1000)


def memory_bytes(text: str | int | float) -> int:
    return int(quantity(text))


@dataclass(frozen=True)
class Requests:
    """A pod's summed container requests."""

    cpu_millis: int = 0
    memory_bytes: int = 0


def pod_requests(pod: dict[str, Any]) -> Requests:
    """The sum of the pod's containers' ``resources.requests`` (init containers ignored)."""
    cpu = memory = 0
    for container in pod.get("spec", {}).get("containers", []):
        wanted = container.get("resources", {}).get("requests", {})
        cpu += cpu_millis(wanted["cpu"]) if "cpu" in wanted else 0
        memory += memory_bytes(wanted["memory"]) if "memory" in wanted else 0
    return Requests(cpu, memory)


def allocatable(node: dict[str, Any]) -> tuple[int, int, int]:
    """(CPU millicores, memory bytes, pods) a node offers the scheduler."""
    offered = node.get("status", {}).get("allocatable", {})
    return (cpu_millis(offered.get("cpu", "0")), memory_bytes(offered.get("memory", "0")),
            int(offered.get("pods", "0")))
