"""MSK canaries: produced to the canary topic on the primary cluster, read in DR as replicated.

The same structure and results as ``maip_drlib.rpo.dynamodb`` and ``rds``, so a summary shows
the three side by side: ``MskCanaryWriter`` (a ``PacedCanaryWriter``: seq 1, 2, 3 ... at a
steady pace, each one record on ``topology.canary_topic``, key ``canary#<drill id>``, value
JSON ``{drill_id, seq, written_at, expires_at, written_in}``; acknowledged when the broker
returned its offset with ``acks=all``) stops at ``stop()`` or the first write that fails for
good (brokers gone: timeout, refused); ``read_canaries`` reads the REPLICATED topic on the DR
cluster (its name from ``DescribeReplicator``: ``<alias>.<topic>`` or the same name) without
a consumer group, counting only records carrying the replicator's ``__mskmr`` header;
``MskCanaryStore`` is the ``RpoStore`` (``store="msk"``).

Writing canaries is an ACTION (game days only): every produce asks the region handle's write
gate first (service ``kafka``, operation ``Produce``), so the consent rules are those of the
DynamoDB and RDS canaries; the topic is the suite's own, never business data. The canary topic
is expected to exist or be auto-created on the primary cluster, and to match the replicator's
``TopicsToReplicate``. Not supported: canaries older than the topic's retention, more than one
writer per drill id, transactions.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from maip_drlib.config import KafkaAccess, Target, Topology
from maip_drlib.errors import GuardRefused
from maip_drlib.probes import msk_kafka
from maip_drlib.rpo.dynamodb import RegionClients
from maip_drlib.rpo.kafka_client import KafkaEndpoint, access_of, kafka_module
from maip_drlib.rpo.measure import Canary
from maip_drlib.rpo.writer import PacedCanaryWriter, WriteRejected
from maip_drlib.write_gate import CallRecord

STORE = "msk"
MSKMR_HEADER = "__mskmr"
DRILL_HEADER = "maip-dr-drill"
# Refusals that do not mean the brokers are gone: skip this canary and keep writing.
TRANSIENT_ERRORS = frozenset({"NotEnoughReplicasError", "NotEnoughReplicasAfterAppendError",
                              "ThrottlingQuotaExceededError"})
_CLOSE_TIMEOUT_S = 10.0
_READ_BATCH = 500


def canary_key(drill_id: str) -> bytes:
    return f"canary#{drill_id}".encode()


def _gate_record(handle: RegionClients, topic: str, seq: int | None) -> CallRecord:
    writes = handle.writes  # type: ignore[attr-defined]
    parameters: dict[str, Any] = {"topic": topic}
    if seq is not None:
        parameters["seq"] = seq
    return CallRecord(stage=writes.stage, service="kafka", operation="Produce",
                      region=handle.region, resource=f"topic={topic}", parameters=parameters)


class MskCanaryWriter(PacedCanaryWriter):
    """Produces MSK canaries to ``topic`` on the primary's brokers (``endpoint``)."""

    store = STORE

    def __init__(self, handle: RegionClients, endpoint: KafkaEndpoint, topic: str,
                 drill_id: str, *, interval_s: float, ttl_s: float,
                 clock: Callable[[], float] = time.time):
        super().__init__(drill_id, interval_s=interval_s, ttl_s=ttl_s, clock=clock)
        self.handle = handle
        self.endpoint = endpoint
        self.topic = topic
        self.region = handle.region
        self._producer: Any = None

    def start(self) -> MskCanaryWriter:
        """Ask the write gate, connect (errors raise here, nothing written), then write."""
        if self._producer is not None:
            raise RuntimeError("this canary writer was already started; make a new one")
        self.handle.writes.check(_gate_record(self.handle, self.topic, None))  # type: ignore[attr-defined]
        self._producer = self.endpoint.producer(self.handle)
        super().start()
        return self

    def stop(self, timeout_s: float = _CLOSE_TIMEOUT_S) -> bool:
        """Stop writing and close the producer (records in flight are dropped)."""
        ended = super().stop(timeout_s)
        if ended and self._producer is not None:
            kafka = kafka_module()
            # Brokers gone: the records in flight are lost (never acknowledged).
            with contextlib.suppress(kafka.errors.KafkaError):
                self._producer.close(timeout=0)
        return ended

    def _write(self, seq: int, written_at: float, expires_at: int) -> None:
        kafka = kafka_module()
        record = _gate_record(self.handle, self.topic, seq)
        writes = self.handle.writes  # type: ignore[attr-defined]
        try:
            writes.check(record)
        except GuardRefused as error:
            raise WriteRejected(str(error)) from error
        value = json.dumps({"drill_id": self.drill_id, "seq": seq,
                            "written_at": written_at, "expires_at": expires_at,
                            "written_in": self.region}).encode()
        try:
            future = self._producer.send(self.topic, key=canary_key(self.drill_id),
                                         value=value,
                                         headers=[(DRILL_HEADER, self.drill_id.encode())])
            future.get(timeout=self.endpoint.timeout_s + 1.0)
        except kafka.errors.KafkaError as error:
            writes.done(record, error)
            name = type(error).__name__
            raise WriteRejected(f"produce canary seq {seq} to {self.topic} on "
                                f"{self.endpoint.cluster} in {self.region}: {name}: {error}",
                                transient=name in TRANSIENT_ERRORS) from error
        writes.done(record)


def _canary_of(message: Any, drill_id: str) -> Canary | None:
    headers = dict(message.headers or ())
    if MSKMR_HEADER not in headers or message.key != canary_key(drill_id):
        return None
    try:
        body = json.loads(message.value)
        return Canary(seq=int(body["seq"]), written_at=float(body["written_at"]))
    except (ValueError, KeyError, TypeError):
        return None


def read_topic(endpoint: KafkaEndpoint, handle: RegionClients, topic: str,
               keep: Callable[[Any], Canary | None]) -> list[Canary]:
    """Every record of ``topic`` up to its end offsets as they were when reading began,
    through ``keep`` (read-only: no group, nothing committed, no topic created). A topic that
    does not exist holds nothing. ``Unreachable`` when the brokers do not answer in time."""
    kafka = kafka_module()
    consumer = endpoint.consumer(handle)
    found: list[Canary] = []
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            return []
        assigned = [kafka.TopicPartition(topic, number) for number in sorted(partitions)]
        ends = consumer.end_offsets(assigned)
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        deadline = time.monotonic() + endpoint.timeout_s * 3
        while any(consumer.position(tp) < ends[tp] for tp in assigned):
            if time.monotonic() > deadline:
                raise endpoint.unreachable(f"read {topic} to its end", TimeoutError(
                    f"{sum(ends.values())} records not read within {endpoint.timeout_s * 3:g} s"))
            batch = consumer.poll(timeout_ms=int(endpoint.timeout_s * 1000),
                                  max_records=_READ_BATCH)
            for messages in batch.values():
                for message in messages:
                    canary = keep(message)
                    if canary is not None:
                        found.append(canary)
    except kafka.errors.KafkaError as error:
        raise endpoint.unreachable(f"read {topic}", error) from error
    finally:
        consumer.close(autocommit=False)
    return sorted(set(found))


class MskCanaryStore:
    """The ``RpoStore`` of MSK: canaries on the primary's canary topic, read replicated in DR.

    Brokers, replicated topic name and access are resolved once per store (read-only)."""

    name = STORE

    def __init__(self, topology: Topology, access: KafkaAccess, simulated: bool):
        self.topology = topology
        self.access = access
        self.simulated = simulated
        self._dr: tuple[KafkaEndpoint, str] | None = None
        self.naming: msk_kafka.ReplicatorNaming | None = None

    def endpoint(self, handle: RegionClients) -> KafkaEndpoint:
        return KafkaEndpoint.resolve(handle, self.topology, self.access, self.simulated)

    def writer(self, primary: RegionClients, drill_id: str, *, interval_s: float,
               ttl_s: float) -> MskCanaryWriter:
        return MskCanaryWriter(primary, self.endpoint(primary), self.topology.canary_topic,
                               drill_id, interval_s=interval_s, ttl_s=ttl_s)

    def replicated_topic(self, secondary: RegionClients) -> str:
        """The canary topic's name in DR, as the replicator names it."""
        dr_arn = msk_kafka.cluster_arn(secondary,  # type: ignore[arg-type]
                                       self.topology.secondary.msk_cluster)
        self.naming = msk_kafka.replicator_naming(secondary, self.topology,  # type: ignore[arg-type]
                                                  dr_arn)
        return self.naming.target_topic(self.topology.canary_topic)

    def read(self, secondary: RegionClients, drill_id: str) -> list[Canary]:
        if self._dr is None:
            self._dr = (self.endpoint(secondary), self.replicated_topic(secondary))
        endpoint, topic = self._dr
        return read_topic(endpoint, secondary, topic, lambda m: _canary_of(m, drill_id))


def msk_store(topology: Topology, target: Target) -> MskCanaryStore:
    """The store for ``target`` (``KafkaNotMeasurable`` when it has no Kafka access or
    kafka-python is missing)."""
    access = access_of(target)
    kafka_module()
    return MskCanaryStore(topology, access, target.simulated)
