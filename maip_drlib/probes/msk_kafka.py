"""MSK facts the Kafka side needs (read-only): a replicator's topic naming, a cluster's brokers.

``replicator_naming`` reads ``DescribeReplicator`` of the DR region's replicator (name contains
``topology.replicator_name_contains``) and picks the replication from the primary's cluster to
the DR cluster: its source cluster alias and ``TopicNameConfiguration`` (production's default,
``PREFIXED_WITH_SOURCE_CLUSTER_ALIAS``, when absent) tell the name a topic has in DR; its
``ConsumerGroupReplication`` tells which consumer groups are copied and whether their offsets
are synced (``SynchroniseConsumerGroupOffsets``; absent reads as false).
``bootstrap_brokers`` reads ``GetBootstrapBrokers`` for the listener a client uses.

Not supported: more than one replicator copying the same topic (the first RUNNING one whose
clusters match wins), MSK Serverless, cross-account replicators.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from maip_drlib.config import Topology
from maip_drlib.errors import NotFound
from maip_drlib.probes import aws_api
from maip_drlib.probes import msk as msk_probes
from maip_drlib.regions import RegionHandle

PREFIXED = "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS"
IDENTICAL = "IDENTICAL"
# The GetBootstrapBrokers field of each listener (botocore kafka 2018-11-14).
LISTENER_FIELDS = {
    ("iam", True): "BootstrapBrokerStringSaslIam",
    ("none", True): "BootstrapBrokerStringTls",
    ("none", False): "BootstrapBrokerString",
}


@dataclass(frozen=True)
class ReplicatorNaming:
    """How a replicator names the topics it copies into the DR cluster."""

    replicator: str
    state: str
    source_alias: str
    mode: str  # PREFIXED or IDENTICAL
    source_cluster_arn: str = ""
    target_cluster_arn: str = ""
    groups_to_replicate: tuple[str, ...] = ()
    groups_to_exclude: tuple[str, ...] = ()
    syncs_group_offsets: bool = False
    detects_new_groups: bool = False

    def copies_group(self, group: str) -> bool:
        """Whether consumer group ``group`` matches the replication's group patterns."""
        if any(re.fullmatch(pattern, group) for pattern in self.groups_to_exclude):
            return False
        return any(re.fullmatch(pattern, group) for pattern in self.groups_to_replicate)

    def target_topic(self, topic: str) -> str:
        """``<alias>.<topic>`` (prefixed, production's default) or ``topic`` (identical)."""
        return topic if self.mode == IDENTICAL else f"{self.source_alias}.{topic}"

    def __str__(self) -> str:
        alias = f" (source alias {self.source_alias!r})" if self.source_alias else ""
        return f"replicator {self.replicator} {self.state}: topic names {self.mode}{alias}"


def cluster_arn(handle: RegionHandle, name: str) -> str:
    """The ARN of the region's MSK cluster ``name`` (``NotFound`` when it is not there)."""
    found = {fact.name: fact for fact in msk_probes.clusters(handle, (name,))}
    if name not in found or not found[name].arn:
        raise NotFound(f"MSK cluster {name} not found in {handle.region}")
    return found[name].arn


def _naming(item: dict[str, Any], info: dict[str, Any]) -> ReplicatorNaming:
    clusters = {cluster.get("KafkaClusterAlias"): cluster.get("AmazonMskCluster", {}) or {}
                for cluster in item.get("KafkaClusters", [])}
    naming = (info.get("TopicReplication", {}) or {}).get("TopicNameConfiguration", {}) or {}
    source = str(info.get("SourceKafkaClusterAlias") or "")
    target = info.get("TargetKafkaClusterAlias")
    groups = info.get("ConsumerGroupReplication", {}) or {}
    return ReplicatorNaming(
        replicator=str(item.get("ReplicatorName", "")),
        state=str(item.get("ReplicatorState", "UNKNOWN")), source_alias=source,
        mode=str(naming.get("Type") or PREFIXED),
        source_cluster_arn=str(clusters.get(source, {}).get("MskClusterArn", "")),
        target_cluster_arn=str(clusters.get(target, {}).get("MskClusterArn", "")),
        groups_to_replicate=_strings(groups.get("ConsumerGroupsToReplicate")),
        groups_to_exclude=_strings(groups.get("ConsumerGroupsToExclude")),
        syncs_group_offsets=groups.get("SynchroniseConsumerGroupOffsets") is True,
        detects_new_groups=groups.get("DetectAndCopyNewConsumerGroups") is True)


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def replicator_naming(handle: RegionHandle, topology: Topology,
                      dr_cluster_arn: str | None = None) -> ReplicatorNaming:
    """The naming of the replication into the DR cluster (``handle``: the DR region).

    ``NotFound`` when no replicator's name contains the topology's fragment."""
    found = msk_probes.replicators(handle, topology.replicator_name_contains)
    if not found:
        raise NotFound(f"no MSK replicator whose name contains "
                       f"{topology.replicator_name_contains!r} in {handle.region}")
    candidates: list[ReplicatorNaming] = []
    with aws_api(handle, "kafka"):
        for replicator in found:
            item = handle.client("kafka").describe_replicator(ReplicatorArn=replicator.arn)
            candidates += [_naming(item, info) for info in item.get("ReplicationInfoList", [])]
    if not candidates:
        raise NotFound(f"MSK replicator {found[0].name} in {handle.region} has no replication")
    if dr_cluster_arn:
        matching = [c for c in candidates if c.target_cluster_arn == dr_cluster_arn]
        candidates = matching or candidates
    running = [c for c in candidates if c.state == "RUNNING"]
    return (running or candidates)[0]


def bootstrap_brokers(handle: RegionHandle, arn: str, *, auth: str, tls: bool) -> str | None:
    """The cluster's ``host:port,...`` for the listener of ``auth``/``tls`` (None: the
    cluster has no such listener)."""
    field = LISTENER_FIELDS.get((auth, tls))
    if field is None:
        return None
    with aws_api(handle, "kafka"):
        answer = handle.client("kafka").get_bootstrap_brokers(ClusterArn=arn)
    value = answer.get(field)
    return str(value) if value else None
