"""Readiness's lag checks read the metrics as AWS defines them (``readiness_data``), with the
probes replaced by fixed facts (no AWS, no database).

- RDS ``ReplicaLag`` is now minus the last replayed commit: over the threshold with a WAL
  distance of 0 (database access) the source is idle and the check passes, saying so;
  without database access it fails saying the figure includes idle time; -1 or no datapoint
  is "not replicating", never a pass.
- DynamoDB ``ReplicationLatency`` exists only for items replicated in the period: no
  datapoint is "not measured" naming the period (``NotChecked``: not a pass, not a failure).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from maip_drlib import readiness, readiness_data
from maip_drlib.config import DatabaseAccess, Topology
from maip_drlib.errors import CheckFailed
from maip_drlib.facts import DbInstanceFact, RdsRoles, ReplicationLag
from maip_drlib.probes import dynamodb as dynamodb_probes
from maip_drlib.probes import postgres
from maip_drlib.probes import rds as rds_probes
from maip_drlib.probes.postgres import StandbyLagFact
from maip_drlib.readiness import Check, NotChecked, ReadinessInputs, Thresholds

pytestmark = pytest.mark.unit

TOPOLOGY = Topology()
EAST, WEST = TOPOLOGY.primary.region, TOPOLOGY.secondary.region
WRITER_ARN = f"arn:aws:rds:{EAST}:123456789012:db:{TOPOLOGY.primary.rds_instance}"
WRITER = DbInstanceFact(TOPOLOGY.primary.rds_instance, EAST, "available", "writer", None,
                        (TOPOLOGY.secondary.rds_instance,), 7, WRITER_ARN)
REPLICA = DbInstanceFact(TOPOLOGY.secondary.rds_instance, WEST, "available", "replica",
                         WRITER_ARN, (), 7, "arn:replica")
ACCESS = DatabaseAccess(sslmode="disable", secret_ids=((EAST, "s"), (WEST, "s")))


@dataclass(frozen=True)
class Handle:
    region: str


class Handles:
    primary, secondary = Handle(EAST), Handle(WEST)

    def by_name(self, region: str) -> Handle:
        return Handle(region)

    def __iter__(self) -> Iterator[Handle]:
        return iter((self.primary, self.secondary))


def _inputs(database: DatabaseAccess | None = None, *,
            time_scale: float | None = None) -> ReadinessInputs:
    target = SimpleNamespace(name="t", database=database, simulated=time_scale is not None,
                             time_scale=time_scale)
    return ReadinessInputs(Handles(), TOPOLOGY, target, None,  # type: ignore[arg-type]
                           replace(Thresholds.from_gherkin(), rds_replica_lag_s=60.0))


def _metric(monkeypatch: pytest.MonkeyPatch, seconds: float | None) -> None:
    monkeypatch.setattr(rds_probes, "find_writer_and_replicas",
                        lambda handles, topology: RdsRoles((WRITER,), (REPLICA,)))
    monkeypatch.setattr(rds_probes, "replica_lag", lambda handle, replica, **_: ReplicationLag(
        "rds", handle.region, replica, seconds,
        None if seconds is None else datetime(2026, 12, 6, tzinfo=UTC)))


def _wal(monkeypatch: pytest.MonkeyPatch, distance: int | None, age_s: float = 240.0) -> None:
    monkeypatch.setattr(postgres, "connection_spec", lambda handle, access, instance: instance)
    monkeypatch.setattr(postgres, "standby_lag", lambda standby, writer: StandbyLagFact(
        WEST, standby, True, age_s, "0/3000060", "0/3000060", distance, True, writer))


def test_rds_lag_over_threshold_with_wal_distance_zero_is_an_idle_source(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _metric(monkeypatch, 240.0)  # four idle minutes: RDS reports the time since the last commit
    _wal(monkeypatch, 0)
    detail = readiness.rds_replica_lag(_inputs(ACCESS)).require().render()
    assert "includes idle time" in detail and "idle source" in detail
    assert "WAL distance 0 bytes" in detail


def test_rds_lag_over_threshold_with_wal_behind_fails_naming_the_distance(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _metric(monkeypatch, 240.0)
    _wal(monkeypatch, 16384)
    with pytest.raises(CheckFailed, match="RDS replica lag over threshold") as failed:
        readiness.rds_replica_lag(_inputs(ACCESS)).require()
    assert "WAL distance 16384 bytes" in str(failed.value)


def test_rds_lag_over_threshold_without_database_access_says_it_includes_idle_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _metric(monkeypatch, 240.0)
    with pytest.raises(CheckFailed, match="RDS replica lag over threshold") as failed:
        readiness.rds_replica_lag(_inputs()).require()
    message = str(failed.value)
    assert "the figure includes idle time" in message
    assert "without database access an idle writer cannot be told from a lagging replica" \
        in message
    assert WEST in message and REPLICA.identifier in message


@pytest.mark.parametrize("seconds", [-1.0, None], ids=["minus-one", "no-datapoint"])
def test_rds_lag_minus_one_or_no_datapoint_is_not_replicating(
        monkeypatch: pytest.MonkeyPatch, seconds: float | None) -> None:
    _metric(monkeypatch, seconds)
    _wal(monkeypatch, 0)  # the WAL cannot rescue a replica the metric says is not replicating
    for access in (None, ACCESS):
        with pytest.raises(CheckFailed, match="not replicating"):
            readiness.rds_replica_lag(_inputs(access)).require()


def test_rds_lag_within_threshold_passes_with_the_figure(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _metric(monkeypatch, 0.4)
    assert "0.400s" in readiness.rds_replica_lag(_inputs()).require().render()


def _latency(monkeypatch: pytest.MonkeyPatch, seconds: float | None) -> None:
    monkeypatch.setattr(dynamodb_probes, "replication_latency",
                        lambda handle, table, receiving, **_: ReplicationLag(
                            "dynamodb", receiving, table, seconds,
                            None if seconds is None else datetime(2026, 12, 6, tzinfo=UTC)))


@pytest.mark.parametrize(("check", "sender", "receiver"), [
    (readiness_data.dynamodb_replication_latency, EAST, WEST),
    (readiness_data.dynamodb_replication_latency_to_primary, WEST, EAST),
])
def test_dynamodb_without_a_datapoint_is_not_measured_naming_the_period(
        monkeypatch: pytest.MonkeyPatch, check, sender: str, receiver: str) -> None:
    _latency(monkeypatch, None)
    with pytest.raises(NotChecked) as not_checked:
        check(_inputs())
    message = str(not_checked.value)
    assert message.startswith("not measured: no ReplicationLatency datapoint for "
                              f"{TOPOLOGY.dynamodb_table} from {sender} to {receiver}")
    assert "in the last 15 minutes (period 60 s)" in message
    assert "only for items replicated in the period" in message


def test_dynamodb_not_measured_is_no_verdict_in_the_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _latency(monkeypatch, None)
    monkeypatch.setattr(readiness, "readiness_checks", lambda topology: (
        Check("DynamoDB replication latency", WEST, readiness.dynamodb_replication_latency),))
    [result] = readiness.run_readiness(_inputs())
    assert (result.checked, result.error_kind) == (False, "not-checked")
    assert result.detail.startswith("not checked: not measured: ")
    # ``passed`` only means "does not fail the run"; ``checked`` False is what says no pass.
    assert result.passed


def test_dynamodb_latency_measured_is_judged_against_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _latency(monkeypatch, 0.8)
    assert "0.800s" in readiness.dynamodb_replication_latency(_inputs()).require().render()
    inputs = _inputs()
    strict = replace(inputs, thresholds=replace(inputs.thresholds,
                                                dynamodb_replication_latency_s=0.5))
    with pytest.raises(CheckFailed, match="over threshold"):
        readiness.dynamodb_replication_latency(strict).require()


def test_the_gherkin_steps_skip_a_latency_not_measured_with_the_reason(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The scenario is skipped (the evidence reads "skipped" and the reason), never passed."""
    from maip_drlib.pytest_dr.fixtures import DeclaredOutage
    from steps import readiness_steps, replication_steps

    _latency(monkeypatch, None)
    with pytest.raises(pytest.skip.Exception, match=r"^not checked: not measured: no "
                       r"ReplicationLatency datapoint .* from us-east-1 to us-west-2"):
        readiness_steps.dynamodb_latency(dr_readiness_inputs=_inputs(), seconds=5.0,
                                         dr_declared_outage=DeclaredOutage(None, None, print))
    with pytest.raises(pytest.skip.Exception, match=r"^not checked: not measured: .* from "
                       r"us-west-2 to us-east-1"):
        replication_steps.dynamodb_latency_to_primary(dr_readiness_inputs=_inputs(),
                                                      seconds=5.0)
    _latency(monkeypatch, 9.0)  # measured and over the limit: a failure, not a skip
    with pytest.raises(CheckFailed, match="over threshold"):
        replication_steps.dynamodb_latency_to_primary(dr_readiness_inputs=_inputs(),
                                                      seconds=5.0)


@pytest.mark.parametrize(("time_scale", "window_s", "period_s"), [
    (None, 900, 60),    # live: CloudWatch's own 15 minutes and 60-second period
    (0.5, 8, 1),        # a simulation at 0.5 s per business minute: the same business time
    (60.0, 900, 60),    # a simulation in real time
])
def test_dynamodb_latency_is_read_over_15_business_minutes_in_60_business_second_periods(
        monkeypatch: pytest.MonkeyPatch, time_scale: float | None, window_s: int,
        period_s: int) -> None:
    """A simulation's clock is scaled but its CloudWatch is not: unscaled, one period would
    hold hours of business time (a backlog drained when the primary came back would still be
    the newest figure at failback 4)."""
    asked: list[tuple[int, int]] = []

    def latency(handle, table, receiving, *, window_s: int, period_s: int) -> ReplicationLag:
        asked.append((window_s, period_s))
        return ReplicationLag("dynamodb", receiving, table, 0.5, datetime(2026, 12, 6, tzinfo=UTC))

    monkeypatch.setattr(dynamodb_probes, "replication_latency", latency)
    readiness_data.dynamodb_replication_latency(_inputs(time_scale=time_scale))
    readiness_data.dynamodb_replication_latency_to_primary(_inputs(time_scale=time_scale))
    assert asked == [(window_s, period_s)] * 2
