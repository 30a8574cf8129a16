"""SIMULATED business traffic on the primary cluster: the topic and consumer group whose view
from DR failover 5 checks (``Topology.business_topic`` and ``consumer_group``).

``seed_business`` appends ``RECORDS`` records to the business topic on the primary's broker
(keys ``payment-<n>``, dummy JSON values, timestamped now) and commits the consumer group
part-way (``COMMITTED``: the next record it would read), as a consumer that stopped there
would; the simulated replicator then copies the records and syncs the group's translated
offset to DR. Done once, when the topic holds no record. Not supported: a consumer that keeps
consuming (the committed offset does not move after the seed), more than one group.
"""

from __future__ import annotations

import json
import time

from maip_drlib.config import Topology
from maip_drlib.sim.kafka.broker import SimKafkaBroker
from maip_drlib.sim.kafka.nafka_compat import CompatBroker, StoredRecord

RECORDS = 20
COMMITTED = 12


def seed_business(broker: SimKafkaBroker, topology: Topology) -> bool:
    """Seed the business topic and group on ``broker`` (the primary's); False: already there."""
    topic, group = topology.business_topic, topology.consumer_group
    if broker.end_offsets().get(topic):
        return False
    now_ms = int(time.time() * 1000)
    broker.append(topic, [StoredRecord(
        offset=n, timestamp=now_ms, key=f"payment-{n}".encode(),
        value=json.dumps({"payment": n, "simulated": True}).encode()) for n in range(RECORDS)])

    def commit(running: CompatBroker) -> None:
        running.store.commit_consumer_offset(group, topic, COMMITTED)

    broker.call(commit)
    return True
