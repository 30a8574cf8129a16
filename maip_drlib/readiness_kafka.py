"""Readiness of Kafka in DR without writing: the replicator's topic naming, canary offsets.

``msk_replicator_naming`` reads ``DescribeReplicator`` (read-only) and says what consumers in
DR read: the replicated topic's name (``<alias>.<topic>`` under
``PREFIXED_WITH_SOURCE_CLUSTER_ALIAS``, production's default, or the same name under
``IDENTICAL``), with the source cluster alias.

``msk_canary_offsets`` (with broker access: ``Target.kafka_access``) compares the records of
the canary topic on the primary cluster with those of its replicated topic on the DR cluster
through ListOffsets (earliest and latest offsets of every partition; a consumer without a
group that never creates a topic and reads no record): DR holding fewer records than the
primary fails (canaries written by an earlier game day never reached DR). It is "not checked"
(``NotChecked``, never a pass) without Kafka access or a broker, or before any game day wrote
canaries. It never produces: canaries are written only by game days.

Record counts, not offsets, are compared: a replicator's target offsets are not the source's.
Not supported: topics under retention that differs between the clusters (DR then holds more or
fewer old records), business topics (only the suite's canary topic is read).
"""

from __future__ import annotations

from typing import Any

from maip_drlib.probes import msk_kafka
from maip_drlib.readiness_base import NotChecked, ReadinessInputs
from maip_drlib.readiness_verdict import Verdict, failed, passed
from maip_drlib.regions import RegionHandle
from maip_drlib.rpo.kafka_client import (
    KafkaEndpoint,
    KafkaNotMeasurable,
    access_of,
    kafka_module,
)


def _naming(inputs: ReadinessInputs) -> msk_kafka.ReplicatorNaming:
    handle = inputs.handles.secondary
    dr_arn = msk_kafka.cluster_arn(handle, inputs.topology.secondary.msk_cluster)
    return msk_kafka.replicator_naming(handle, inputs.topology, dr_arn)


def msk_replicator_naming(inputs: ReadinessInputs) -> Verdict:
    """The replicator's topic-name mode and alias, and the canary topic's name in DR."""
    naming = _naming(inputs)
    fact, region = "MSK replicator topic naming", inputs.handles.secondary.region
    expected = f"{msk_kafka.PREFIXED} (with a source alias) or {msk_kafka.IDENTICAL}"
    if naming.mode not in (msk_kafka.PREFIXED, msk_kafka.IDENTICAL):
        return failed(fact, "unknown MSK replicator topic-name mode", region=region,
                      resource=naming.replicator,
                      expected=f"{msk_kafka.PREFIXED} or {msk_kafka.IDENTICAL}",
                      observed=naming.mode)
    if naming.mode == msk_kafka.PREFIXED and not naming.source_alias:
        return failed(fact, "MSK replicator prefixes topic names but has no source alias",
                      region=region, resource=naming.replicator,
                      expected="a SourceKafkaClusterAlias", observed="none")
    topic = inputs.topology.canary_topic
    client = ("consumers in DR read each topic as <alias>.<topic>: they must change the topic "
              "names they subscribe to" if naming.mode == msk_kafka.PREFIXED
              else "consumers in DR read the same topic names")
    return passed(fact, f"{naming}; {topic} reads as {naming.target_topic(topic)} in DR "
                        f"({client})", expected=expected, observed=str(naming), region=region,
                  resource=naming.replicator)


def _records(endpoint: KafkaEndpoint, handle: RegionHandle, topic: str) -> tuple[int, str] | None:
    """(records, "b..e" per partition) of ``topic`` by ListOffsets; None: no such topic."""
    kafka = kafka_module()
    consumer = endpoint.consumer(handle)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            return None
        assigned = [kafka.TopicPartition(topic, number) for number in sorted(partitions)]
        begins: dict[Any, int] = consumer.beginning_offsets(assigned)
        ends: dict[Any, int] = consumer.end_offsets(assigned)
    except kafka.errors.KafkaError as error:
        raise endpoint.unreachable(f"list offsets of {topic}", error) from error
    finally:
        consumer.close(autocommit=False)
    spans = ", ".join(f"p{tp.partition} {begins[tp]}..{ends[tp]}" for tp in assigned)
    return sum(ends[tp] - begins[tp] for tp in assigned), spans


def msk_canary_offsets(inputs: ReadinessInputs) -> Verdict:
    """The replicated canary topic in DR holds at least the primary canary topic's records."""
    topology, target = inputs.topology, inputs.target
    try:
        access = access_of(target)
        primary_endpoint = KafkaEndpoint.resolve(inputs.handles.primary, topology, access,
                                                 target.simulated)
        dr_endpoint = KafkaEndpoint.resolve(inputs.handles.secondary, topology, access,
                                            target.simulated)
    except KafkaNotMeasurable as error:
        raise NotChecked(str(error)) from error
    naming = _naming(inputs)
    topic, replicated = topology.canary_topic, naming.target_topic(topology.canary_topic)
    source = _records(primary_endpoint, inputs.handles.primary, topic)
    if source is None:
        raise NotChecked(f"not measured: no canary topic {topic} on "
                         f"{topology.primary.msk_cluster} yet (game days write it)")
    copied = _records(dr_endpoint, inputs.handles.secondary, replicated)
    held, held_spans = copied if copied is not None else (0, "no such topic")
    detail = (f"{topic} on {topology.primary.msk_cluster}: {source[0]} records ({source[1]}); "
              f"{replicated} on {topology.secondary.msk_cluster}: {held} records "
              f"({held_spans}); {naming}")
    fact, region = "canary records in DR", inputs.handles.secondary.region
    if held < source[0]:
        return failed(fact, "the replicated canary topic in DR is behind the primary",
                      region=region, resource=replicated, expected=f">= {source[0]} records",
                      observed=detail)
    return passed(fact, detail, expected=f">= {source[0]} records", observed=f"{held} records",
                  region=region, resource=replicated)
