"""The SIMULATED MSK Replicator's consumer group offset sync: translated offsets in DR.

As the replicator copies a topic's records it notes where each copied batch landed
(``OffsetMap.note``: source offset -> target offset; the two logs diverge as soon as the
target held records of its own). Every copy round in which the replicator copies (RUNNING,
no ``replication-cut``, both brokers up), ``GroupSync.sync`` reads the committed offsets of
the source cluster's consumer groups (nafka's ``consumer_offsets`` table, in-process) and,
for each group the replication covers (``ConsumerGroupsToReplicate`` /
``ConsumerGroupsToExclude``) on each topic it copies, commits the TRANSLATED offset under the
same group name on the target topic (``<alias>.<topic>`` or the same name), when
``SynchroniseConsumerGroupOffsets`` is true and:

- the records before the committed offset have all been copied (an offset whose records are
  not replicated yet is not synced: the group's offset in DR stays where it was);
- the group has no active member on the target cluster (as MSK Replicator, which does not
  overwrite the offsets of a group consuming in the target);
- the group existed on the source at the first round, unless
  ``DetectAndCopyNewConsumerGroups`` is true (then new groups are picked up every round).

A stopped replicator (not RUNNING, cut, a broker down) syncs nothing, so DR keeps the last
offsets it synced. Production syncs periodically at an undocumented interval; the simulation
syncs every copy round. Not supported: more than one partition, ``ENHANCED`` offset sync
mode (bidirectional), offset metadata, groups' member assignments.
"""

from __future__ import annotations

from dataclasses import dataclass

from maip_drlib.sim.kafka.broker import SimKafkaBroker
from maip_drlib.sim.kafka.nafka_compat import CompatBroker
from maip_drlib.sim.kafka.replication_spec import ReplicationSpec

TopicKey = tuple[str, str, str]  # (replicator, source cluster ARN, source topic)


@dataclass(frozen=True)
class _Batch:
    source_start: int
    target_start: int
    count: int


class OffsetMap:
    """Where the copied records of each source topic landed in the target topic."""

    def __init__(self) -> None:
        self._batches: dict[TopicKey, list[_Batch]] = {}

    def note(self, key: TopicKey, source_start: int, target_start: int, count: int) -> None:
        batches = self._batches.setdefault(key, [])
        last = batches[-1] if batches else None
        if (last is not None and last.source_start + last.count == source_start
                and last.target_start + last.count == target_start):
            batches[-1] = _Batch(last.source_start, last.target_start, last.count + count)
        else:
            batches.append(_Batch(source_start, target_start, count))

    def translate(self, key: TopicKey, source_offset: int) -> int | None:
        """The target offset a consumer committed at ``source_offset`` resumes at; None when
        the records before it are not all copied (or it precedes the first copy)."""
        batches = self._batches.get(key, [])
        for batch in batches:
            if batch.source_start <= source_offset < batch.source_start + batch.count:
                return batch.target_start + source_offset - batch.source_start
        if batches:
            last = batches[-1]
            if source_offset == last.source_start + last.count:
                return last.target_start + last.count  # everything committed was copied
        return None


def _committed(broker: CompatBroker) -> list[tuple[str, str, int]]:
    rows = broker.store.db.execute(
        "SELECT group_id, topic, offset FROM consumer_offsets").fetchall()
    return [(str(group), str(topic), int(offset)) for group, topic, offset in rows]


class GroupSync:
    """Syncs translated consumer group offsets to the target; see the module docstring."""

    def __init__(self) -> None:
        self._known: dict[str, set[str]] = {}  # replicator -> groups it copies

    def sync(self, spec: ReplicationSpec, source: SimKafkaBroker, target: SimKafkaBroker,
             offsets: OffsetMap) -> int:
        """One sync of ``spec``'s groups from ``source`` to ``target``; the offsets written."""
        if not spec.sync_group_offsets:
            return 0
        committed = [row for row in source.call(_committed) if spec.copies_group(row[0])]
        groups = {group for group, _, _ in committed}
        known = self._known.get(spec.replicator_name)
        if known is None or spec.detect_new_groups:
            known = self._known[spec.replicator_name] = (known or set()) | groups
        due: list[tuple[str, str, int]] = []
        for group, topic, offset in committed:
            if group not in known or not spec.copies(topic) or offset < 0:
                continue
            translated = offsets.translate(
                (spec.replicator_name, spec.source_cluster_arn, topic), offset)
            if translated is not None:
                due.append((group, spec.target_topic(topic), translated))

        def write(broker: CompatBroker) -> int:
            written = 0
            for group, topic, offset in due:
                members = getattr(broker.consumer_groups.get(group), "members", None)
                if members or broker.store.get_consumer_offset(group, topic) == offset:
                    continue  # consuming in the target, or already there
                broker.store.commit_consumer_offset(group, topic, offset)
                written += 1
            return written

        return target.call(write) if due else 0
