"""After a completed failback the primary writer may carry either primary name: the failback
verification finds the failback replica under either name (``verify``), and RDS canaries go to
the primary region's current writer (``rpo.rds.rds_store``), not a stopped old one. Probes
replaced by fixed facts (no AWS)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from maip_drlib.config import DatabaseAccess, Topology
from maip_drlib.drill import outcome_checks
from maip_drlib.errors import CheckFailed
from maip_drlib.facts import DbInstanceFact, RdsRoles
from maip_drlib.probes import rds as rds_probes
from maip_drlib.rpo import rds as rpo_rds

pytestmark = pytest.mark.unit

TOPOLOGY = Topology()
EAST, WEST = TOPOLOGY.primary.region, TOPOLOGY.secondary.region
OLD, NEW = TOPOLOGY.primary.rds_instance, TOPOLOGY.failback_replica
DR = TOPOLOGY.secondary.rds_instance
DR_ARN = f"arn:aws:rds:{WEST}:123456789012:db:{DR}"


def _fact(name: str, region: str, status: str, source: str | None = None) -> DbInstanceFact:
    role = "replica" if source else ("fenced" if status == "stopped" else "writer")
    return DbInstanceFact(name, region, status, role, source, (), 7,  # type: ignore[arg-type]
                          f"arn:aws:rds:{region}:123456789012:db:{name}")


def _ctx() -> Any:
    return SimpleNamespace(handles=object(), topology=TOPOLOGY)


@pytest.mark.parametrize("name", [OLD, NEW])
def test_failback_replica_found_under_either_name(monkeypatch: pytest.MonkeyPatch,
                                                  name: str) -> None:
    stale = OLD if name == NEW else NEW
    roles = RdsRoles((_fact(DR, WEST, "available"),), (_fact(name, EAST, "available", DR_ARN),),
                     fenced=(_fact(stale, EAST, "stopped"),))
    monkeypatch.setattr(rds_probes, "find_writer_and_replicas", lambda handles, topo: roles)
    assert outcome_checks.failback_replica_replicates(_ctx()).startswith(f"RDS {name} ({EAST})")


def test_no_failback_replica_names_both(monkeypatch: pytest.MonkeyPatch) -> None:
    roles = RdsRoles((_fact(DR, WEST, "available"),), (), fenced=(_fact(OLD, EAST, "stopped"),))
    monkeypatch.setattr(rds_probes, "find_writer_and_replicas", lambda handles, topo: roles)
    with pytest.raises(CheckFailed) as failure:
        outcome_checks.failback_replica_replicates(_ctx())
    assert failure.value.resource == f"{OLD} or {NEW}" and failure.value.region == EAST


def test_rds_canaries_locate_the_primary_regions_current_writer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rds_probes, "primary_writer_name", lambda handle, topology: NEW)
    monkeypatch.setattr(rpo_rds, "connection_spec",
                        lambda place, access, instance: (place.region, instance))
    store = rpo_rds.rds_store(TOPOLOGY, DatabaseAccess())
    assert store.locate(SimpleNamespace(region=EAST)) == (EAST, NEW)  # type: ignore[comparison-overlap]
    assert store.locate(SimpleNamespace(region=WEST)) == (WEST, DR)  # type: ignore[comparison-overlap]
