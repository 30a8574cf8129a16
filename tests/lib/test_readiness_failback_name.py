"""Readiness's failback-name check (``readiness_data.rds_failback_name_free``) asks failback 2's
own rule (``drill.failback_names.choose``) before a game day, with the probes replaced by fixed
facts (no AWS): both primary names in use fails naming the instance to delete first, so a game
day stops before its failover instead of at failback 2."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from maip_drlib import readiness, readiness_data
from maip_drlib.config import Topology
from maip_drlib.errors import CheckFailed
from maip_drlib.facts import DbInstanceFact, RdsRoles
from maip_drlib.probes import rds as rds_probes
from maip_drlib.readiness import ReadinessInputs, Thresholds

pytestmark = pytest.mark.unit

TOPOLOGY = Topology()
EAST, WEST = TOPOLOGY.primary.region, TOPOLOGY.secondary.region
OLD, NEW = TOPOLOGY.primary.rds_instance, TOPOLOGY.failback_replica
DR = TOPOLOGY.secondary.rds_instance
DR_ARN = f"arn:aws:rds:{WEST}:123456789012:db:{DR}"


def _fact(name: str, status: str, region: str = EAST,
          source: str | None = None) -> DbInstanceFact:
    role = "replica" if source else ("fenced" if status == "stopped" else "writer")
    return DbInstanceFact(name, region, status, role, source, (), 7,  # type: ignore[arg-type]
                          f"arn:aws:rds:{region}:123456789012:db:{name}")


@dataclass(frozen=True)
class Handle:
    region: str


class Handles:
    primary, secondary = Handle(EAST), Handle(WEST)

    def by_name(self, region: str) -> Handle:
        return Handle(region)

    def __iter__(self) -> Iterator[Handle]:
        return iter((self.primary, self.secondary))


def _inputs() -> ReadinessInputs:
    target = SimpleNamespace(name="t", database=None)
    return ReadinessInputs(Handles(), TOPOLOGY, target, None,  # type: ignore[arg-type]
                           Thresholds.from_gherkin())


def _platform(monkeypatch: pytest.MonkeyPatch, roles: RdsRoles,
              primary: list[tuple[DbInstanceFact, datetime | None]]) -> None:
    monkeypatch.setattr(rds_probes, "find_writer_and_replicas", lambda handles, topo: roles)

    def created(handle: Handle, names: tuple[str, ...]
                ) -> list[tuple[DbInstanceFact, datetime | None]]:
        assert handle.region == EAST and names == (OLD, NEW)
        return primary

    monkeypatch.setattr(rds_probes, "instances_created", created)


def _at(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


def test_registered_for_the_primary_region() -> None:
    checks = {c.name: c for c in readiness.readiness_checks(TOPOLOGY)}
    check = checks["RDS failback replica has a free name"]
    assert check.region == EAST and check.run is readiness_data.rds_failback_name_free


def test_first_drill_the_other_name_is_free(monkeypatch: pytest.MonkeyPatch) -> None:
    writer = _fact(OLD, "available")
    _platform(monkeypatch, RdsRoles((writer,), (_fact(DR, "available", WEST, writer.arn),)),
              [(writer, _at(1))])
    detail = readiness.rds_failback_name_free(_inputs()).require().render()
    assert detail.startswith(f"failback 2 names its replica {NEW} (free in {EAST})")


def test_after_a_drill_with_the_old_writer_deleted_the_first_name_is_free(
        monkeypatch: pytest.MonkeyPatch) -> None:
    writer = _fact(NEW, "available")
    _platform(monkeypatch, RdsRoles((writer,), ()), [(writer, _at(2))])
    assert f"names its replica {OLD} (free" in readiness.rds_failback_name_free(
        _inputs()).require().render()


def test_both_names_in_use_fails_naming_the_stale_old_writer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The writer carries the newer name; the first drill's fenced writer is still there. The
    # stale one is named even when it is the NEWER instance: the writer is this drill's to fence.
    writer, stale = _fact(OLD, "available"), _fact(NEW, "stopped")
    _platform(monkeypatch, RdsRoles((writer,), (), fenced=(stale,)),
              [(writer, _at(1)), (stale, _at(2))])
    with pytest.raises(CheckFailed) as failure:
        readiness.rds_failback_name_free(_inputs()).require()
    error = failure.value
    message = str(error)
    assert message.startswith("failback 2 would refuse: both names")
    assert f"delete {NEW} first" in message and "\n" not in message
    assert error.region == EAST and error.resource == NEW
    assert OLD in str(error.observed) and NEW in str(error.observed)


def test_both_in_use_without_a_writer_falls_back_to_the_stages_rule(
        monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _fact(OLD, "stopped"), _fact(NEW, "stopped")
    _platform(monkeypatch, RdsRoles((), (), fenced=(first, second)),
              [(first, _at(1)), (second, _at(2))])
    with pytest.raises(CheckFailed, match=f"delete {OLD} first"):  # the older one
        readiness.rds_failback_name_free(_inputs()).require()


def test_after_failover_a_replica_of_the_dr_writer_is_failback_2s_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    promoted = _fact(DR, "available", WEST)
    old, replica = _fact(OLD, "stopped"), _fact(NEW, "available", source=DR_ARN)
    _platform(monkeypatch, RdsRoles((promoted,), (replica,), fenced=(old,)),
              [(old, _at(1)), (replica, None)])
    detail = readiness.rds_failback_name_free(_inputs()).require().render()
    assert f"names its replica {NEW} (already replicating from the DR writer" in detail
