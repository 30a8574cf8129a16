"""The consumers' view of a replicated topic on a Kafka cluster (read-only).

``group_position`` reads, on one cluster (in DR: the replicated topic's name, from
``msk_kafka.replicator_naming``), the log end offset of every partition of ``topic`` and the
offset ``group`` has committed there, which in DR is the offset the MSK Replicator translated
and synced from the primary's group. It never joins the group, commits, produces or creates a
topic: end offsets come from a consumer without a group (ListOffsets), committed offsets from
the admin API (FindCoordinator + OffsetFetch). Under MSK IAM auth that needs
``kafka-cluster:Connect``, ``DescribeTopic`` on the topic and ``DescribeGroup`` on the group.

Errors: ``KafkaNotMeasurable`` (kafka-python missing), ``Unreachable`` (brokers that do not
answer). Not supported: offsets committed with a leader epoch or metadata (both ignored), a
topic whose partitions change while it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from maip_drlib.rpo.kafka_client import kafka_module

if TYPE_CHECKING:
    from maip_drlib.regions import RegionHandle
    from maip_drlib.rpo.kafka_client import KafkaEndpoint


@dataclass(frozen=True)
class GroupPosition:
    """Where ``group`` would resume ``topic`` on one cluster, per partition."""

    region: str
    cluster: str
    topic: str
    group: str
    ends: tuple[tuple[int, int], ...]  # (partition, log end offset)
    committed: tuple[tuple[int, int], ...]  # (partition, offset); -1: none committed

    @property
    def missing(self) -> list[int]:
        """Partitions without a committed offset."""
        return [partition for partition, offset in self.committed if offset < 0]

    @property
    def beyond_end(self) -> list[int]:
        """Partitions whose committed offset is past the log end (the records are not there)."""
        ends = dict(self.ends)
        return [p for p, offset in self.committed if offset > ends.get(p, 0)]

    @property
    def to_read(self) -> int:
        """Records between the committed offsets and the log ends."""
        ends = dict(self.ends)
        return sum(max(0, ends.get(p, 0) - offset) for p, offset in self.committed
                   if offset >= 0)

    def __str__(self) -> str:
        ends = dict(self.ends)
        spans = ", ".join(f"p{p} {'none' if offset < 0 else offset}/{ends.get(p, 0)}"
                          for p, offset in self.committed)
        return (f"group {self.group} on {self.topic} ({self.cluster}, {self.region}): "
                f"committed/end {spans or 'no partition'}")


def group_position(endpoint: KafkaEndpoint, handle: RegionHandle, topic: str,
                   group: str) -> GroupPosition:
    """``topic``'s end offsets and ``group``'s committed offsets there (see the module)."""
    kafka = kafka_module()
    consumer = endpoint.consumer(handle)  # type: ignore[arg-type]
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        assigned = [kafka.TopicPartition(topic, number) for number in partitions]
        ends: dict[Any, int] = consumer.end_offsets(assigned) if assigned else {}
    except kafka.errors.KafkaError as error:
        raise endpoint.unreachable(f"list offsets of {topic}", error) from error
    finally:
        consumer.close(autocommit=False)
    committed: dict[Any, Any] = {}
    if assigned:
        try:
            admin = kafka.KafkaAdminClient(**endpoint.options(handle))  # type: ignore[arg-type]
        except kafka.errors.KafkaError as error:
            raise endpoint.unreachable("connect an admin client", error) from error
        try:
            committed = admin.list_consumer_group_offsets(group, partitions=assigned)
        except kafka.errors.KafkaError as error:
            raise endpoint.unreachable(f"fetch the offsets of group {group}", error) from error
        finally:
            admin.close()
    return GroupPosition(
        region=endpoint.region, cluster=endpoint.cluster, topic=topic, group=group,
        ends=tuple((tp.partition, int(ends[tp])) for tp in assigned),
        committed=tuple((tp.partition, int(committed[tp].offset) if tp in committed else -1)
                        for tp in assigned))
