"""The consumers' view, pure logic: offset translation and group selection of the simulated
replicator's sync, DescribeReplicator's consumer group configuration, failover 5's verdict
on a DR group's offsets (one-line failures naming group, topic and region), the client's
topic change per naming mode, and "not measured" without Kafka access."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from maip_drlib.config import Target, Topology, embedded_target
from maip_drlib.drill import kafka_consumers
from maip_drlib.drill.context import DecisionLog
from maip_drlib.errors import CheckFailed
from maip_drlib.probes import msk_kafka
from maip_drlib.probes.msk_consumers import GroupPosition

pytestmark = pytest.mark.unit

PREFIXED = msk_kafka.ReplicatorNaming(
    replicator="maip-prod-msk-replicator", state="RUNNING", source_alias="src",
    mode=msk_kafka.PREFIXED, groups_to_replicate=(".*",), syncs_group_offsets=True)


def _position(committed: int, end: int = 20, group: str = "payments-processor",
              topic: str = "src.payments") -> GroupPosition:
    return GroupPosition(region="us-west-2", cluster="maip-prod-dr-kafka", topic=topic,
                         group=group, ends=((0, end),), committed=((0, committed),))


def test_a_synced_offset_within_the_end_passes_and_names_the_prefixed_topic() -> None:
    detail = kafka_consumers.judge(PREFIXED, _position(12), Topology())
    assert "a consumer of payments-processor in DR resumes src.payments" in detail
    assert "p0 12/20" in detail and "8 records left to read" in detail
    assert "consumers in DR read src.payments, not payments" in detail


def test_identical_names_need_no_topic_change() -> None:
    naming = msk_kafka.ReplicatorNaming(**{**PREFIXED.__dict__, "mode": msk_kafka.IDENTICAL})
    detail = kafka_consumers.judge(naming, _position(20, topic="payments"), Topology())
    assert "no topic change: consumers in DR read payments (IDENTICAL)" in detail


@pytest.mark.parametrize(("changes", "committed", "says"), [
    ({"syncs_group_offsets": False}, 12, "does not sync consumer group offsets "
                                         "(SynchroniseConsumerGroupOffsets false)"),
    ({"groups_to_exclude": ("payments-.*",)}, 12, "does not replicate this group"),
    ({"groups_to_replicate": ()}, 12, "does not replicate this group"),
    ({}, -1, "no committed offset synced to DR"),
    ({}, 21, "committed offset past the end of partitions [0]"),
])
def test_failures_are_one_line_naming_group_topic_and_region(
        changes: dict[str, Any], committed: int, says: str) -> None:
    naming = msk_kafka.ReplicatorNaming(**{**PREFIXED.__dict__, **changes})
    with pytest.raises(CheckFailed) as caught:
        kafka_consumers.judge(naming, _position(committed), Topology())
    message = str(caught.value)
    assert message.startswith("consumer group payments-processor on src.payments in "
                              "us-west-2: ")
    assert says in message and "\n" not in message


def test_describe_replicator_gives_the_consumer_group_configuration() -> None:
    item = {"ReplicatorName": "r", "ReplicatorState": "RUNNING", "KafkaClusters": []}
    info = {"SourceKafkaClusterAlias": "src", "ConsumerGroupReplication": {
        "ConsumerGroupsToReplicate": ["pay.*"], "ConsumerGroupsToExclude": ["pay-test"],
        "SynchroniseConsumerGroupOffsets": True, "DetectAndCopyNewConsumerGroups": False}}
    naming = msk_kafka._naming(item, info)
    assert naming.syncs_group_offsets and not naming.detects_new_groups
    assert naming.copies_group("payments-processor") and not naming.copies_group("pay-test")
    # Absent: not synced (the API documents no default; the check then fails, never passes).
    bare = msk_kafka._naming(item, {"SourceKafkaClusterAlias": "src"})
    assert not bare.syncs_group_offsets and not bare.copies_group("payments-processor")


def test_without_kafka_access_the_view_is_not_measured_and_recorded() -> None:
    live: Target = embedded_target(Topology())
    live = Target(**{**live.__dict__, "kind": "live", "kafka": None})
    ctx = SimpleNamespace(topology=Topology(), target=live, decisions=DecisionLog(),
                          handles=SimpleNamespace(secondary=None))
    verdict = kafka_consumers.check_consumers_in_dr(ctx)  # type: ignore[arg-type]
    assert not verdict.measured
    assert verdict.detail.startswith("consumers in DR: not measured: target ")
    [decision] = ctx.decisions.entries
    assert decision.evidence["group"] == "payments-processor"
    assert decision.evidence["reason"].startswith("not measured: ")


# -- the simulated replicator's sync ------------------------------------------------------

def test_offsets_translate_only_for_copied_records() -> None:
    from maip_drlib.sim.kafka.group_sync import OffsetMap

    offsets, key = OffsetMap(), ("r", "arn", "payments")
    assert offsets.translate(key, 0) is None  # nothing copied yet
    offsets.note(key, 0, 5, 3)
    offsets.note(key, 3, 8, 2)  # contiguous: one batch
    assert [offsets.translate(key, n) for n in range(7)] == [5, 6, 7, 8, 9, 10, None]


@dataclass
class _FakeStore:
    offsets: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def db(self) -> sqlite3.Connection:
        db = sqlite3.connect(":memory:")
        db.execute("CREATE TABLE consumer_offsets (group_id, topic, offset)")
        db.executemany("INSERT INTO consumer_offsets VALUES (?, ?, ?)",
                       [(g, t, o) for (g, t), o in self.offsets.items()])
        return db

    def get_consumer_offset(self, group: str, topic: str) -> int:
        return self.offsets.get((group, topic), -1)

    def commit_consumer_offset(self, group: str, topic: str, offset: int) -> None:
        self.offsets[(group, topic)] = offset


class _FakeBroker:
    def __init__(self) -> None:
        self.store = _FakeStore()
        self.consumer_groups: dict[str, Any] = {}

    def call(self, action: Any) -> Any:
        return action(self)


def test_new_groups_are_synced_only_when_detected() -> None:
    from maip_drlib.sim.kafka.group_sync import GroupSync, OffsetMap
    from maip_drlib.sim.kafka.replication_spec import ReplicationSpec

    for detect, expected in ((False, -1), (True, 4)):
        spec = ReplicationSpec("r", "RUNNING", "arn", "dr-arn", "src",
                               topics_to_replicate=(".*",), groups_to_replicate=(".*",),
                               sync_group_offsets=True, detect_new_groups=detect)
        source, target, offsets, sync = _FakeBroker(), _FakeBroker(), OffsetMap(), GroupSync()
        offsets.note(("r", "arn", "payments"), 0, 0, 10)
        source.store.offsets[("old", "payments")] = 2
        assert sync.sync(spec, source, target, offsets) == 1  # type: ignore[arg-type]
        source.store.offsets[("new", "payments")] = 4  # a group created afterwards
        sync.sync(spec, source, target, offsets)  # type: ignore[arg-type]
        assert target.store.get_consumer_offset("old", "src.payments") == 2
        assert target.store.get_consumer_offset("new", "src.payments") == expected


def test_the_business_topic_and_group_are_configured_and_validated(tmp_path: Any) -> None:
    from maip_drlib.config_loader import load_config
    from maip_drlib.errors import ConfigError

    path = tmp_path / "maip-dr.toml"
    path.write_text('[topology]\nbusiness_topic = "orders.v2"\nconsumer_group = "orders-svc"\n')
    topology = load_config(path).topology
    assert (topology.business_topic, topology.consumer_group) == ("orders.v2", "orders-svc")
    assert (Topology().business_topic, Topology().consumer_group) == ("payments",
                                                                      "payments-processor")
    path.write_text('[topology]\nbusiness_topic = "orders v2"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "topology.business_topic: expected a Kafka topic name" in str(caught.value)
    assert "\n" not in str(caught.value)
