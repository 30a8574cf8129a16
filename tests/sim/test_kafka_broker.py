"""The simulated Kafka broker (nafka 0.1 adapted to Python 3.11) through a real Kafka client.

What the project relies on from nafka, proved with kafka-python on the interpreter the suite
runs on (3.11 on CI): a producer's records come back to a consumer group with their headers,
the group's committed offset holds across consumers, a stopped broker refuses connections,
a restarted one keeps its records.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("nafka", reason="the 'sim' extra (nafka) is not installed")

from kafka import KafkaConsumer, KafkaProducer
from nafka.store import KafkaStore

from maip_drlib.sim.kafka.broker import KafkaSimError, SimKafkaBroker
from maip_drlib.sim.kafka.nafka_compat import NAFKA_VERSION, CompatStore

pytestmark = pytest.mark.sim

N = 40


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[SimKafkaBroker]:
    running = SimKafkaBroker("test-cluster", "us-east-1", tmp_path / "log.sqlite")
    running.start()
    try:
        yield running
    finally:
        running.stop()


def produce(address: str, topic: str, count: int, start: int = 0) -> None:
    producer = KafkaProducer(bootstrap_servers=address, request_timeout_ms=10000)
    try:
        for number in range(start, start + count):
            producer.send(topic, key=b"k", value=f"m{number}".encode(),
                          headers=[("origin", b"test")])
        producer.flush(timeout=20)
    finally:
        producer.close(timeout=5)


def consume(address: str, topic: str, count: int, group: str | None = None) -> list:
    """Up to ``count`` records (bounded: at most 20 s without a new one)."""
    consumer = KafkaConsumer(topic, bootstrap_servers=address, group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=20000)
    got = []
    try:
        for message in consumer:
            got.append(message)
            if len(got) == count:
                break
        if group is not None:
            consumer.commit()
    finally:
        consumer.close(autocommit=False)
    return got


def refused(address: str) -> bool:
    host, port = address.split(":")
    with socket.socket() as probe:
        probe.settimeout(5)
        try:
            probe.connect((host, int(port)))
        except ConnectionRefusedError:
            return True
    return False


def test_nafka_as_released_does_not_open_its_store_on_this_python() -> None:
    # What the adapter is for: on 3.11 nafka's own store cannot even be created.
    import nafka

    assert nafka.__version__ == NAFKA_VERSION
    if sys.version_info < (3, 12):
        with pytest.raises(TypeError, match="autocommit"):
            KafkaStore()
    CompatStore().close()


def test_a_producer_and_a_consumer_group_round_trip(broker: SimKafkaBroker) -> None:
    produce(broker.address, "orders", N)
    first = consume(broker.address, "orders", N // 2, group="billing")
    assert [m.value for m in first] == [f"m{n}".encode() for n in range(N // 2)]
    assert first[0].headers == [("origin", b"test")]
    # The group's committed offset: the next member resumes after it.
    rest = consume(broker.address, "orders", N - N // 2, group="billing")
    assert [m.offset for m in rest] == list(range(N // 2, N))
    assert broker.end_offsets() == {"orders": N}


def test_a_stopped_broker_refuses_and_a_restarted_one_keeps_its_log(
        broker: SimKafkaBroker) -> None:
    produce(broker.address, "payments", 5)
    address = broker.address
    broker.stop()
    assert not broker.running
    assert refused(address)
    with pytest.raises(KafkaSimError, match="stopped"):
        broker.end_offsets()
    broker.start()
    assert broker.end_offsets() == {"payments": 5}
    produce(broker.address, "payments", 1, start=5)
    assert [m.value for m in consume(broker.address, "payments", 6)][-1] == b"m5"
