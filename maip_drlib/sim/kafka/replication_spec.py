"""What a SIMULATED MSK Replicator copies, read from the simulated MSK API (moto, in-process).

``moto_replications(region)`` reads the replicators of ``region`` (a replicator lives in its
target cluster's region) through the backend methods the ``msk_replicators`` patch adds:
their state (the fault state's ``replicator_state``), the source cluster alias, the topic
name mode and the topic patterns. Production's defaults apply when a field is absent:
``TopicNameConfiguration`` ``PREFIXED_WITH_SOURCE_CLUSTER_ALIAS``, ``TopicsToReplicate``
nothing, ``TopicsToExclude`` nothing; ``ConsumerGroupReplication``: groups matching
``ConsumerGroupsToReplicate`` and not ``ConsumerGroupsToExclude``, offsets synced only with
``SynchroniseConsumerGroupOffsets`` true and groups created after the first round only with
``DetectAndCopyNewConsumerGroups`` true (both read as false when absent: the API documents
no default). Not supported: ``CopyTopicConfigurations``, ``DetectAndCopyNewTopics`` (every
topic matching is copied), starting positions (``StartingPosition``: the simulated replicator
always starts at the earliest offset), ``ConsumerGroupOffsetSyncMode`` ENHANCED
(bidirectional), accounts other than moto's default one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIXED = "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS"
IDENTICAL = "IDENTICAL"
MSKMR_HEADER = "__mskmr"
_ACCOUNT_ID = "123456789012"  # moto's default account


@dataclass(frozen=True)
class ReplicationSpec:
    """One replication (a replicator's ``ReplicationInfoList`` item), as the copy needs it."""

    replicator_name: str
    state: str
    source_cluster_arn: str
    target_cluster_arn: str
    source_alias: str
    name_mode: str = PREFIXED
    topics_to_replicate: tuple[str, ...] = ()
    topics_to_exclude: tuple[str, ...] = ()
    groups_to_replicate: tuple[str, ...] = ()
    groups_to_exclude: tuple[str, ...] = ()
    sync_group_offsets: bool = False
    detect_new_groups: bool = False

    def copies(self, topic: str) -> bool:
        """Whether ``topic`` of the source is copied (internal ``__`` topics never are)."""
        if topic.startswith("__"):
            return False
        if any(re.fullmatch(pattern, topic) for pattern in self.topics_to_exclude):
            return False
        return any(re.fullmatch(pattern, topic) for pattern in self.topics_to_replicate)

    def copies_group(self, group: str) -> bool:
        """Whether consumer group ``group`` is replicated (its offsets synced when enabled)."""
        if any(re.fullmatch(pattern, group) for pattern in self.groups_to_exclude):
            return False
        return any(re.fullmatch(pattern, group) for pattern in self.groups_to_replicate)

    def target_topic(self, topic: str) -> str:
        """``<alias>.<topic>`` (prefixed, production's default) or ``topic`` (identical)."""
        return topic if self.name_mode == IDENTICAL else f"{self.source_alias}.{topic}"


def _patterns(value: object) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def cluster_name(cluster_arn: str) -> str | None:
    """The MSK cluster's name: from the simulated MSK API (moto's ARNs end in the cluster's
    id alone), else from a production ARN (``...:cluster/<name>/<id>``)."""
    from moto.backends import get_backend

    parts = cluster_arn.split(":", 5)
    if len(parts) < 6 or not parts[5].startswith("cluster/"):
        return None
    backends = get_backend("kafka")[_ACCOUNT_ID]  # type: ignore[index]
    found = backends[parts[3]].clusters.get(cluster_arn) if parts[3] in backends else None
    if found is not None:
        return str(found.cluster_name)
    names = parts[5].split("/")
    return names[1] if len(names) == 3 else None


def moto_replications(region: str) -> list[ReplicationSpec]:
    """Every replication of every replicator in ``region`` of the running simulation."""
    from moto.backends import get_backend

    backend = get_backend("kafka")[_ACCOUNT_ID][region]  # type: ignore[index]
    found = []
    for summary in backend.list_replicators(None):
        item = backend.describe_replicator(summary["ReplicatorArn"])
        for info in item.get("ReplicationInfoList", []):
            topics = info.get("TopicReplication", {}) or {}
            naming = topics.get("TopicNameConfiguration", {}) or {}
            groups = info.get("ConsumerGroupReplication", {}) or {}
            clusters = {cluster.get("KafkaClusterAlias"): cluster.get("AmazonMskCluster", {})
                        for cluster in item.get("KafkaClusters", [])}
            source_alias = str(info.get("SourceKafkaClusterAlias") or "")
            target_alias = info.get("TargetKafkaClusterAlias")
            found.append(ReplicationSpec(
                replicator_name=str(item["ReplicatorName"]),
                state=str(item.get("ReplicatorState", "")),
                source_cluster_arn=str(clusters.get(source_alias, {}).get("MskClusterArn", "")),
                target_cluster_arn=str(clusters.get(target_alias, {}).get("MskClusterArn", "")),
                source_alias=source_alias,
                name_mode=str(naming.get("Type") or PREFIXED),
                topics_to_replicate=_patterns(topics.get("TopicsToReplicate")),
                topics_to_exclude=_patterns(topics.get("TopicsToExclude")),
                groups_to_replicate=_patterns(groups.get("ConsumerGroupsToReplicate")),
                groups_to_exclude=_patterns(groups.get("ConsumerGroupsToExclude")),
                sync_group_offsets=groups.get("SynchroniseConsumerGroupOffsets") is True,
                detect_new_groups=groups.get("DetectAndCopyNewConsumerGroups") is True,
            ))
    return found
