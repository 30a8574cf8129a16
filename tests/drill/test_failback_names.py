"""The failback replica's name: the primary region's name not in use (drill.failback_names)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from maip_drlib.config import Topology
from maip_drlib.drill.failback_names import choose, failback_replica, primary_writer
from maip_drlib.facts import DbInstanceFact, RdsRoles
from maip_drlib.probes.rds import primary_writer_names

pytestmark = pytest.mark.unit

TOPOLOGY = Topology()
OLD, NEW = "maip-prod-postgres", "maip-prod-postgres-new"
DR = "maip-prod-postgres-replica"
DR_ARN = f"arn:aws:rds:us-west-2:123456789012:db:{DR}"


def _fact(name: str, status: str = "stopped", source: str | None = None,
          region: str = "us-east-1") -> DbInstanceFact:
    role = "replica" if source else ("fenced" if status == "stopped" else "writer")
    arn = f"arn:aws:rds:{region}:123456789012:db:{name}"
    return DbInstanceFact(identifier=name, region=region, status=status,
                          role=role, source=source, replicas=(),  # type: ignore[arg-type]
                          backup_retention_days=7, arn=arn)


def _at(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


def test_the_two_names_are_the_topologys() -> None:
    assert primary_writer_names(TOPOLOGY) == (OLD, NEW)


def test_the_name_not_in_use_is_taken() -> None:
    assert choose(TOPOLOGY, [(_fact(OLD), _at(1))], DR).name == NEW  # first drill
    second = choose(TOPOLOGY, [(_fact(NEW, "available"), _at(2))], DR)  # old one deleted
    assert second.name == OLD and not second.replicating
    assert choose(TOPOLOGY, [], DR).name == NEW
    elsewhere = choose(TOPOLOGY, [(_fact(NEW, region="us-west-2"), None)], DR)
    assert elsewhere.name == NEW  # only the primary region's instances count


def test_a_replica_of_the_promoted_writer_is_kept() -> None:
    found = [(_fact(NEW), _at(2)), (_fact(OLD, "available", DR_ARN), None)]
    chosen = choose(TOPOLOGY, found, DR)
    assert chosen.name == OLD and chosen.replicating


def test_both_in_use_names_the_instance_to_delete_first() -> None:
    found = [(_fact(OLD), _at(1)), (_fact(NEW), _at(2))]
    by_age = choose(TOPOLOGY, found, DR)
    assert by_age.name is None and by_age.delete_first == OLD
    message = by_age.refusal("failback 2")
    assert message.startswith("failback 2: refusing to start: both names")
    assert f"delete {OLD} first" in message and NEW in message and "\n" not in message
    assert message.endswith("nothing was changed")
    # This run's failback 1 fenced OLD: it is the old writer with the latest data; keep it.
    assert choose(TOPOLOGY, found, DR, fenced_now=(OLD,)).delete_first == NEW
    same_time = [(_fact(OLD), _at(1)), (_fact(NEW, "available"), _at(1))]
    assert choose(TOPOLOGY, same_time, DR).delete_first == OLD  # the only stopped one
    unknown = choose(TOPOLOGY, [(_fact(OLD), None), (_fact(NEW), None)], DR)
    assert unknown.delete_first is None
    assert "not the old writer this drill fenced" in unknown.refusal("failback 2")


def test_failback_3_and_4_find_the_replica_and_writer_under_either_name() -> None:
    promoted = DbInstanceFact(identifier=DR, region="us-west-2", status="available",
                              role="writer", source=None, replicas=(), backup_retention_days=7,
                              arn=DR_ARN)
    replica = _fact(OLD, "available", DR_ARN)
    roles = RdsRoles(writers=(promoted,), replicas=(replica,), fenced=(_fact(NEW),))
    assert failback_replica(roles, TOPOLOGY, promoted) == replica
    assert primary_writer(roles, TOPOLOGY) is None
    writer = _fact(OLD, "available")
    after = RdsRoles(writers=(promoted, writer), replicas=(), fenced=(_fact(NEW),))
    assert primary_writer(after, TOPOLOGY) == writer
    assert failback_replica(after, TOPOLOGY, promoted) is None
