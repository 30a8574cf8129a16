"""The SIMULATED Kafka of the data plane: one broker per region behind its MSK cluster, and
the simulated MSK Replicator between them.

``KafkaFleet`` starts a ``SimKafkaBroker`` for each region's MSK cluster (named by the
topology's ``msk_cluster``; its log in a temporary folder removed on stop) and the
``SimReplicator`` that copies from the primary's cluster to the DR cluster as the simulated
replicator is configured; before the copy starts, the primary's broker gets the business topic
and consumer group (``business``). ``bootstrap(cluster_arn)`` is what ``get-bootstrap-brokers``
answers (the ``msk_bootstrap_brokers`` patch). Faults (``follow``): a region outage stops that
region's broker (connections refused), restoring the region starts it again with its data;
``replication-cut`` and a replicator not RUNNING stop the copy (the replicator reads them
itself each round).

Not supported: brokers for MSK clusters created after start-up, more than one broker per
cluster, TLS and IAM authentication (the brokers speak plaintext Kafka only). Without
``nafka`` and ``kafka-python`` (the ``sim`` extra) this module does not import: the data plane
then runs without Kafka and its status says why.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maip_drlib.config import Topology
from maip_drlib.sim.faults import FaultSnapshot, FaultState
from maip_drlib.sim.kafka.broker import KafkaSimError, SimKafkaBroker
from maip_drlib.sim.kafka.business import seed_business
from maip_drlib.sim.kafka.replication_spec import (
    ReplicationSpec,
    cluster_name,
    moto_replications,
)
from maip_drlib.sim.kafka.replicator import ReplicatorFigures, SimReplicator


class KafkaFleet:
    """The simulated brokers and replicator of one simulation; see the module docstring."""

    def __init__(self, topology: Topology, faults: FaultState,
                 specs: Any = None, replicator_period_s: float | None = None,
                 cluster_name_of: Callable[[str], str | None] = cluster_name):
        self.topology = topology
        self._cluster_name = cluster_name_of
        self.faults = faults
        self._folder = Path(tempfile.mkdtemp(prefix="maip-sim-kafka-"))
        self.brokers: dict[str, SimKafkaBroker] = {
            place.region: SimKafkaBroker(place.msk_cluster, place.region,
                                         self._folder / f"{place.region}.sqlite")
            for place in (topology.primary, topology.secondary)
        }
        region = topology.secondary.region

        def default_specs() -> list[ReplicationSpec]:
            return moto_replications(region)

        options = {} if replicator_period_s is None else {"period_s": replicator_period_s}
        self.replicator = SimReplicator(specs or default_specs, self.broker_for_arn, faults,
                                        **options)
        self._outages: set[str] = set()
        self._lock = threading.Lock()
        self.errors: list[str] = []

    def start(self) -> None:
        """Start every broker, seed the business topic on the primary's, then start the
        replicator (each bounded)."""
        for broker in self.brokers.values():
            broker.start()
        seed_business(self.brokers[self.topology.primary.region], self.topology)
        self.replicator.start()

    def stop(self) -> None:
        """Stop the replicator and every broker (bounded), remove their logs."""
        self.replicator.stop()
        for broker in self.brokers.values():
            broker.stop()
        shutil.rmtree(self._folder, ignore_errors=True)

    def broker_for_arn(self, cluster_arn: str) -> SimKafkaBroker | None:
        """The broker behind a cluster ARN (its region's broker, when the names match)."""
        parts = cluster_arn.split(":", 5)
        broker = self.brokers.get(parts[3]) if len(parts) == 6 else None
        if broker is None:
            return None
        return broker if self._cluster_name(cluster_arn) == broker.name else None

    def bootstrap(self, cluster_arn: str) -> str | None:
        """``127.0.0.1:<port>`` of the cluster's broker (None: no broker behind it)."""
        broker = self.broker_for_arn(cluster_arn)
        if broker is None or broker.port is None:
            return None
        return broker.address

    def follow(self, snapshot: FaultSnapshot) -> None:
        """A region outage stops its broker; restoring the region starts it again."""
        with self._lock:
            for region, broker in self.brokers.items():
                down = snapshot.region_down(region)
                if down and region not in self._outages:
                    self._outages.add(region)
                    broker.stop()
                elif not down and region in self._outages:
                    self._outages.discard(region)
                    try:
                        broker.start()
                    except (KafkaSimError, OSError) as error:
                        self.errors.append(f"restart the Kafka broker of {region}: {error}")

    def take_figures(self, replicator_name: str) -> ReplicatorFigures | None:
        return self.replicator.take_figures(replicator_name)

    def status(self) -> dict[str, Any]:
        """Each broker's cluster, address and state; the replicator's errors. Simulated."""
        brokers = {}
        for region, broker in self.brokers.items():
            with contextlib.suppress(KafkaSimError):
                brokers[region] = {"cluster": broker.name, "address": broker.address,
                                   "running": broker.running}
        return {"simulated": True, "brokers": brokers,
                "errors": list(self.errors) + list(self.replicator.errors)}
