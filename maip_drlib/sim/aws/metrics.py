"""CloudWatch datapoints the readiness checks read, published from the current FaultState.

Every ``period_s`` (and once on ``publish_once``), in every region that is up (a region in
outage is skipped: its CloudWatch is as unreachable as the rest of it):

- ``AWS/RDS`` ``ReplicaLag`` (Seconds), dimension ``DBInstanceIdentifier``, for whichever
  instance of that region is currently a read replica (discovered from RDS), as RDS reports
  it (``replica_lag_model``): the real standby's replay age with the data plane; without it
  the ``rds`` lag fault while the source region's application writes
  (``writes_stopped(region)``: no ready application pod there; each region's pods are taken
  to write to the writer of their own region's topology), the idle time once it stops, -1
  under ``replication-cut`` or a source region in outage;
- ``AWS/DynamoDB`` ``ReplicationLatency`` (Milliseconds), dimensions ``TableName`` AND
  ``ReceivingRegion`` (always the full set: moto matches dimensions by subset), in the sending
  region, ONLY for items delivered since the last round (``dynamodb_item_replication``), with
  their measured delay (the largest per table and receiving region): no writes, no datapoint,
  and none toward a region in outage. Each round, the simulated application of a region
  whose services have ready pods writes one item into the business table
  (``SIMULATED_TRAFFIC_KEY``: simulated traffic, as production's services write);
- ``AWS/Kafka`` MSK Replicator metrics in the replicator's (target) region, dimension
  ``ReplicatorName``: ``ReplicationLatency`` (Milliseconds), ``MessageLag`` (Count), and
  ``ReplicatorFailure`` (Count, 1 while FAILED). With the data plane's Kafka brokers and
  records copied (or waiting) since the last round, the first two are what the simulated
  replicator measured (``sim/kafka``); otherwise the ``msk`` lag fault stands in (lag, and lag
  times ``ASSUMED_MESSAGES_PER_SECOND`` messages);
- ``AWS/ApplicationELB`` ``HTTPCode_ELB_5XX_Count`` (Count) and ``TargetResponseTime``
  (Seconds), dimension ``LoadBalancer`` = ``app/<name>/<id>``: the region's ALB fault when set
  (``FaultState.set_alb``), else from its endpoint fault (a failing endpoint: 120 per
  datapoint) and a healthy 45 ms. Each datapoint stands for one minute of traffic.

Not supported: topic-level MSK dimensions, per-target-group ALB metrics, statistic sets, and any
endpoint but the simulation's loopback moto server.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from maip_drlib.config import Topology
from maip_drlib.sim.aws.clients import sim_client
from maip_drlib.sim.aws.replica_lag_model import ReplicaLagModel
from maip_drlib.sim.faults import FaultSnapshot, FaultState

SIMULATED_TRAFFIC_KEY = "simulated-traffic"
ASSUMED_MESSAGES_PER_SECOND = 100.0
HEALTHY_TARGET_RESPONSE_TIME_S = 0.045
ELB_5XX_PER_PERIOD_WHEN_FAILING = 120.0
_STOP_TIMEOUT_S = 5.0
_UNREACHABLE = (ConnectionClosedError, EndpointConnectionError, ReadTimeoutError,
                ConnectTimeoutError)


@dataclass(frozen=True)
class Datapoint:
    """One published datapoint."""

    region: str
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    value: float
    unit: str


def _runtime() -> Any:
    from maip_drlib.sim.aws import runtime

    try:
        return runtime.current()
    except RuntimeError:  # no simulation installed (a publisher used alone in a test)
        return None


def _time_scale() -> float:
    installed = _runtime()
    return installed.clock.time_scale if installed is not None else 1.0


def _data_plane() -> Any:
    installed = _runtime()
    return getattr(installed, "data_plane", None)


def _taken_deliveries() -> list[tuple[str, str, str, float]]:
    from maip_drlib.sim.aws.patches.dynamodb_item_replication import take_deliveries

    return take_deliveries()


def _source_region(source: str, default: str) -> str:
    """The region of a replica's source: named in its ARN, else the replica's own region."""
    parts = source.split(":")
    if source.startswith("arn:") and len(parts) > 3 and parts[3]:
        return parts[3]
    return default


class MetricPublisher:
    """A daemon thread that publishes the simulation's CloudWatch metrics every period."""

    def __init__(self, endpoint_url: str, faults: FaultState, topology: Topology,
                 period_s: float = 10.0,
                 writes_stopped: Callable[[str], bool] | None = None):
        if period_s <= 0:
            raise ValueError(f"period_s must be > 0, got {period_s}")
        self.endpoint_url = endpoint_url
        self.faults = faults
        self.topology = topology
        self.period_s = period_s
        self.writes_stopped = writes_stopped or (lambda region: False)
        self._round_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._lag_model = ReplicaLagModel(_time_scale)
        self._delivered: list[tuple[str, str, str, float]] = []

    def _client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = sim_client(
                service, region, self.endpoint_url,
                retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=3,
            )
        return self._clients[key]

    # Discovery and values -------------------------------------------------------------

    def _rds(self, region: str, faults: FaultSnapshot) -> list[Datapoint]:
        found = []
        paginator = self._client("rds", region).get_paginator("describe_db_instances")
        for page in paginator.paginate():
            for instance in page["DBInstances"]:
                source = instance.get("ReadReplicaSourceDBInstanceIdentifier")
                if source:
                    source_region = _source_region(source, region)
                    lag = self._lag_model.value(
                        instance["DBInstanceIdentifier"], source_region, faults,
                        self.writes_stopped(source_region), _data_plane())
                    found.append(Datapoint(
                        region, "AWS/RDS", "ReplicaLag",
                        (("DBInstanceIdentifier", instance["DBInstanceIdentifier"]),),
                        lag, "Seconds",
                    ))
        return found

    def _dynamodb(self, region: str, faults: FaultSnapshot) -> list[Datapoint]:
        worst: dict[tuple[str, str], float] = {}
        for table, source, destination, delay_s in self._delivered:
            if source == region and not faults.region_down(destination):
                key = (table, destination)
                worst[key] = max(worst.get(key, 0.0), delay_s)
        return [
            Datapoint(region, "AWS/DynamoDB", "ReplicationLatency",
                      (("TableName", table), ("ReceivingRegion", destination)),
                      round(delay_s * 1000.0, 1), "Milliseconds")
            for (table, destination), delay_s in sorted(worst.items())
        ]

    def _application_writes(self, region: str) -> None:
        """The simulated services of ``region`` write one item while they have ready pods."""
        if self.writes_stopped(region):
            return
        from maip_drlib.sim.aws.seed import DYNAMODB_HASH_KEY, DYNAMODB_RANGE_KEY

        with contextlib.suppress(ClientError):  # no table (yet): no traffic to replicate
            self._client("dynamodb", region).put_item(
                TableName=self.topology.dynamodb_table,
                Item={DYNAMODB_HASH_KEY: {"S": f"{SIMULATED_TRAFFIC_KEY}#{region}"},
                      DYNAMODB_RANGE_KEY: {"S": "latest"},
                      "written_at": {"N": f"{time.time():.3f}"}})

    def _msk(self, region: str, faults: FaultSnapshot) -> list[Datapoint]:
        lag_s = faults.lag_seconds.get("msk", 0.0)
        kafka = getattr(_data_plane(), "kafka", None)
        found = []
        replicators = self._client("kafka", region).list_replicators()["Replicators"]
        for replicator in replicators:
            dimensions = (("ReplicatorName", replicator["ReplicatorName"]),)
            failed = 1.0 if replicator.get("ReplicatorState") == "FAILED" else 0.0
            latency_ms, message_lag = lag_s * 1000.0, lag_s * ASSUMED_MESSAGES_PER_SECOND
            figures = (kafka.take_figures(replicator["ReplicatorName"])
                       if kafka is not None else None)
            if figures is not None:  # what the simulated replicator copied (data plane)
                latency_ms, message_lag = figures.replication_latency_ms, float(
                    figures.message_lag)
            found += [
                Datapoint(region, "AWS/Kafka", "ReplicationLatency", dimensions,
                          latency_ms, "Milliseconds"),
                Datapoint(region, "AWS/Kafka", "MessageLag", dimensions, message_lag, "Count"),
                Datapoint(region, "AWS/Kafka", "ReplicatorFailure", dimensions, failed,
                          "Count"),
            ]
        return found

    def _alb(self, region: str, faults: FaultSnapshot) -> list[Datapoint]:
        name = self.topology.region(region).alb_name
        try:
            balancers = self._client("elbv2", region).describe_load_balancers(Names=[name])
        except ClientError as error:
            if error.response["Error"]["Code"] == "LoadBalancerNotFound":
                return []
            raise
        endpoint = faults.region(region).endpoint
        alb = faults.region(region).alb
        failing = endpoint.http_status >= 500 or bool(endpoint.down_components)
        errors = alb.http_5xx_count
        if errors is None:
            errors = ELB_5XX_PER_PERIOD_WHEN_FAILING if failing else 0.0
        latency = alb.target_response_time_s
        if latency is None:
            latency = HEALTHY_TARGET_RESPONSE_TIME_S
        found = []
        for balancer in balancers["LoadBalancers"]:
            dimensions = (("LoadBalancer", balancer["LoadBalancerArn"].split(":loadbalancer/")[1]),)
            found += [
                Datapoint(region, "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", dimensions,
                          errors, "Count"),
                Datapoint(region, "AWS/ApplicationELB", "TargetResponseTime", dimensions,
                          latency, "Seconds"),
            ]
        return found

    # Publishing -----------------------------------------------------------------------

    def _put(self, region: str, points: list[Datapoint]) -> None:
        now = datetime.now(UTC)
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for point in points:
            by_namespace.setdefault(point.namespace, []).append({
                "MetricName": point.metric_name,
                "Dimensions": [{"Name": name, "Value": value}
                               for name, value in point.dimensions],
                "Timestamp": now,
                "Value": point.value,
                "Unit": point.unit,
            })
        cloudwatch = self._client("cloudwatch", region)
        for namespace, data in by_namespace.items():
            for start in range(0, len(data), 1000):
                cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start:start + 1000])

    def publish_once(self) -> list[Datapoint]:
        """Publish one round now; returns what was published (regions down are skipped)."""
        with self._round_lock:
            return self._publish_round()

    def _publish_round(self) -> list[Datapoint]:
        faults = self.faults.snapshot()
        published: list[Datapoint] = []
        self._delivered = _taken_deliveries()
        for place in (self.topology.primary, self.topology.secondary):
            region = place.region
            if faults.region_down(region):
                continue
            with contextlib.suppress(*_UNREACHABLE):
                self._application_writes(region)
            try:
                points = (self._rds(region, faults) + self._dynamodb(region, faults)
                          + self._msk(region, faults) + self._alb(region, faults))
                if points:
                    self._put(region, points)
            except _UNREACHABLE:
                continue  # the region went down while publishing: skip it this round
            published += points
        return published

    def _run(self) -> None:
        while not self._stop.is_set():
            # A transient simulated API error: the next period publishes again.
            with contextlib.suppress(ClientError):
                self.publish_once()
            self._stop.wait(self.period_s)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("MetricPublisher already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="maip-metric-publisher",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (bounded: waits at most a few seconds for a round in flight)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=_STOP_TIMEOUT_S)
            self._thread = None
