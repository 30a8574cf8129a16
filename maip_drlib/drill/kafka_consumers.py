"""Failover 5's consumers' view: a consumer in DR resumes the business topic where the
primary's consumer group stopped (read-only).

``consumer_resumes_in_dr`` reads the DR replicator's ``DescribeReplicator`` (topic naming,
source alias, ``ConsumerGroupReplication``) and, on the DR cluster, the committed offset of
``topology.consumer_group`` on the replicated business topic (``<alias>.<business_topic>``
or the same name) and that topic's end offset (``probes.msk_consumers``). ``judge`` passes
when the replicator copies the group and syncs its offsets, and every partition has a
committed offset no further than its end: a consumer of that group in DR resumes there,
missing nothing the replicator copied. It says what a client must change: with
``PREFIXED_WITH_SOURCE_CLUSTER_ALIAS`` the topic name, with ``IDENTICAL`` nothing.

Failures (``CheckFailed``, one line naming the group, topic and region): the group is not
replicated, offsets are not synced (``SynchroniseConsumerGroupOffsets`` false), no offset was
synced (the replicator cut or stopped before its first sync), an offset past the end.
``KafkaNotMeasurable`` (no Kafka access, no broker behind a simulated cluster, kafka-python
missing): ``check_consumers_in_dr`` answers "not measured: <reason>" (never a pass verdict)
and records it as a decision of failover 5 in the drill's evidence; the stage's own verdict
(DR serves traffic) stands. Nothing is written to Kafka: no commit, no produce, no group
joined. Not supported: checking that the DR offset matches the primary's committed
offset (the primary is down at failover 5), more than one business topic or group.
"""

from __future__ import annotations

from dataclasses import dataclass

from maip_drlib.config import Topology
from maip_drlib.drill.context import DrillContext
from maip_drlib.errors import CheckFailed
from maip_drlib.probes import msk_kafka
from maip_drlib.probes.msk_consumers import GroupPosition, group_position
from maip_drlib.rpo.kafka_client import KafkaEndpoint, KafkaNotMeasurable, access_of

STAGE = "failover 5"


@dataclass(frozen=True)
class ConsumersVerdict:
    """The consumers' view: measured (and passed: a failure raises) or not, with its line."""

    measured: bool
    detail: str


def client_change(naming: msk_kafka.ReplicatorNaming, topic: str) -> str:
    """What a consumer's configuration must change to read ``topic`` in DR."""
    replicated = naming.target_topic(topic)
    if replicated == topic:
        return f"no topic change: consumers in DR read {topic} ({naming.mode})"
    return (f"consumers in DR read {replicated}, not {topic} ({naming.mode}, source alias "
            f"{naming.source_alias!r}): change the topic they subscribe to")


def judge(naming: msk_kafka.ReplicatorNaming, position: GroupPosition,
          topology: Topology) -> str:
    """The verdict on ``position`` (the DR group's offsets); see the module docstring."""
    group, topic, region = position.group, position.topic, position.region
    where = f"consumer group {group} on {topic} in {region}"

    def fail(why: str, expected: str) -> CheckFailed:
        return CheckFailed(f"{where}: {why}", region=region, resource=f"{group}@{topic}",
                           expected=expected, observed=str(position))

    if not naming.copies_group(group):
        raise fail(f"replicator {naming.replicator} does not replicate this group "
                   f"(ConsumerGroupsToReplicate {list(naming.groups_to_replicate)}, "
                   f"ConsumerGroupsToExclude {list(naming.groups_to_exclude)})",
                   "the group among the replicated consumer groups")
    if not naming.syncs_group_offsets:
        raise fail(f"replicator {naming.replicator} does not sync consumer group offsets "
                   "(SynchroniseConsumerGroupOffsets false): a consumer in DR has no offset "
                   "to resume from", "SynchroniseConsumerGroupOffsets true")
    if not position.committed or position.missing:
        raise fail("no committed offset synced to DR (the replicator stopped or was cut "
                   "before its first sync?): a consumer would start from its reset policy",
                   "a translated committed offset on every partition")
    if position.beyond_end:
        raise fail(f"committed offset past the end of partitions {position.beyond_end}",
                   "committed offsets at most the log end")
    return (f"a consumer of {group} in DR resumes {topic} where the primary's group stopped "
            f"({position}; {position.to_read} records left to read); "
            f"{client_change(naming, topology.business_topic)}")


def consumer_resumes_in_dr(ctx: DrillContext) -> str:
    """Failover 5's consumers' view (read-only; see the module docstring)."""
    topology, handle = ctx.topology, ctx.handles.secondary
    access = access_of(ctx.target)  # KafkaNotMeasurable: no Kafka access configured
    endpoint = KafkaEndpoint.resolve(handle, topology, access,  # type: ignore[arg-type]
                                     ctx.target.simulated)
    dr_arn = msk_kafka.cluster_arn(handle, topology.secondary.msk_cluster)
    naming = msk_kafka.replicator_naming(handle, topology, dr_arn)
    topic = naming.target_topic(topology.business_topic)
    position = group_position(endpoint, handle, topic, topology.consumer_group)
    return judge(naming, position, topology)


def check_consumers_in_dr(ctx: DrillContext) -> ConsumersVerdict:
    """``consumer_resumes_in_dr``, or "not measured: <reason>" recorded as a decision."""
    try:
        return ConsumersVerdict(measured=True, detail=consumer_resumes_in_dr(ctx))
    except KafkaNotMeasurable as error:
        reason = str(error)
        if not reason.startswith("not measured"):
            reason = f"not measured: {reason}"
        ctx.decisions.record(STAGE, "consumers in DR not measured", reason=reason,
                             group=ctx.topology.consumer_group,
                             topic=ctx.topology.business_topic)
        return ConsumersVerdict(measured=False,
                                detail=f"consumers in DR: {reason}")
