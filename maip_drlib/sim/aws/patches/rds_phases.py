"""Timed RDS status phases the simulation shows: a new read replica's ``creating`` and a
promoted writer's ``backing-up`` (a helper of the ``rds_cross_region_replica_source`` and
``rds_promotion`` patches, not a patch itself: nothing to apply).

Production (checked against the RDS User Guide): a read replica is built from a snapshot of its
source ("Creating a read replica"); across regions the snapshot is copied to the destination
first ("Creating a read replica in a different AWS Region"), so ``creating`` lasts tens of
minutes and grows with the database. ``PromoteReadReplica`` reboots the instance before it is
available ("Promoting a read replica to be a standalone DB instance"), and once it is a
standalone instance backups are taken by its backup settings (PromoteReadReplica, API
Reference): the instance reads ``backing-up`` ("Viewing Amazon RDS DB instance status") before
``available``; a read replica cannot be promoted while ``backing-up``.

Durations are SIMULATED seconds (``SimClock`` scales them to real time): ``RDS_PHASES``. A
phase is recorded on moto's DB instance and advanced lazily whenever RDS instances are
described (``rds_promotion.advance_all``). ``settle_all`` ends every phase at once: the seeding
uses it, because the seeded platform exists before the drill (its replica is not being
created). Not supported: durations that grow with the allocated storage, the replica's
storage initialisation after ``available`` (lazy loading), ``backing-up`` of daily backups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maip_drlib.sim.aws import runtime

_PHASE_ATTR = "maip_status_phase"

__all__ = ["RDS_PHASES", "RdsPhaseDurations", "advance", "phase_of", "settle_all", "start_phase"]


@dataclass(frozen=True)
class RdsPhaseDurations:
    """How long each phase lasts, in SIMULATED seconds."""

    # CreateDBInstanceReadReplica across regions: snapshot, copy to the destination, restore.
    replica_creating_s: float = 20 * 60.0
    # PromoteReadReplica: the last part of ``SimDurations.promotion_s`` reads ``rebooting``.
    promotion_reboot_s: float = 60.0
    # After PromoteReadReplica's reboot: the first backup of the standalone instance.
    promoted_backing_up_s: float = 2 * 60.0


RDS_PHASES = RdsPhaseDurations()


@dataclass
class StatusPhase:
    """``status`` until the monotonic time ``until``, then ``then``."""

    status: str
    until: float
    then: str = "available"


def start_phase(database: Any, status: str, simulated_s: float, then: str = "available") -> None:
    """Show ``status`` on ``database`` for ``simulated_s`` simulated seconds, then ``then``."""
    sim = runtime.current()
    setattr(database, _PHASE_ATTR, StatusPhase(status, sim.deadline_after(simulated_s), then))
    database.status = status


def phase_of(database: Any) -> StatusPhase | None:
    return getattr(database, _PHASE_ATTR, None)


def advance(database: Any, now: float) -> None:
    """End the phase of ``database`` when its time has come (nothing without a phase)."""
    phase = phase_of(database)
    if phase is None:
        return
    if now < phase.until:
        database.status = phase.status
        return
    setattr(database, _PHASE_ATTR, None)
    database.status = phase.then


def settle_all(account_id: str) -> None:
    """End every phase of the account now (the seeded platform's steady state)."""
    from moto.rds.models import rds_backends

    sim = runtime.current()
    with sim.lock:
        for backend in list(rds_backends[account_id].values()):
            for database in list(backend.databases.values()):
                phase = phase_of(database)
                if phase is not None:
                    setattr(database, _PHASE_ATTR, None)
                    database.status = phase.then
