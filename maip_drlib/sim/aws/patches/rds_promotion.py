"""Patch: RDS PromoteReadReplica takes time and unlinks the replica from its source.

moto 5.2.5: ``promote_read_replica`` flips ``is_replica`` and returns at once; the instance stays
``available`` the whole time, keeps ``ReadReplicaSourceDBInstanceIdentifier`` and its source
keeps listing it in ``ReadReplicaDBInstanceIdentifiers``. Promoting an unknown instance is a 500
(KeyError).

Production: the call returns while the status can still read ``available``; the status then
goes ``modifying`` for minutes and the instance reboots ("RDS reboots the DB instance before
making it available", RDS User Guide, promoting a read replica); it is then a standalone
instance with no source (the source no longer lists it) that takes its first backup
(``backing-up``) before ``available``. Promoting an instance that is not a read replica, or
that is not ``available`` (``backing-up``, ``creating``), is ``InvalidDBInstanceState``.

This patch: the call records a pending promotion. ``available`` for
``SimDurations.promotion_still_available_s`` simulated seconds, then ``modifying``, then
``rebooting`` for the last ``rds_phases.RDS_PHASES.promotion_reboot_s`` of ``promotion_s``
simulated seconds, then the fault decides (read at completion): ``normal`` completes
(unlinked both sides, ``backing-up`` for ``RDS_PHASES.promoted_backing_up_s``, then
``available``); ``stuck`` keeps it ``modifying`` until the fault is ``normal`` again; ``fail``
moves it to ``failed`` (a real, terminal RDS
status: "the instance has failed and Amazon RDS can't recover it"; the botocore waiter
``db_instance_available`` treats it as a failure) and leaves it linked. State advances lazily,
whenever any RDS instance is described, in every region of the account. Not supported: the
reboot's endpoint outage, promotion of Aurora cluster members, ``PromoteReadReplicaDBCluster``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maip_drlib.sim.aws import runtime
from maip_drlib.sim.aws.patches import rds_phases
from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "rds_promotion"
PROMOTION_FAILED_STATUS = "failed"
_STATE_ATTR = "maip_pending_promotion"

__all__ = ["MOTO_VERSION", "PATCH_NAME", "PROMOTION_FAILED_STATUS", "apply"]


@dataclass
class PendingPromotion:
    modifying_from: float
    complete_at: float
    update_kwargs: dict[str, Any]


def _rds_error(code: str, message: str) -> Exception:
    from moto.rds.exceptions import RDSClientError

    return RDSClientError(code, message)


def unlink_from_source(backend: Any, database: Any) -> None:
    """Drop the replica link on both sides (its source may be in another region, or gone)."""
    from moto.rds.exceptions import DBInstanceNotFoundError

    source_id = database.source_db_instance_identifier
    if source_id:
        try:
            source = backend.find_db_from_id(source_id)
        except DBInstanceNotFoundError:
            source = None
        if source is not None:
            source.replicas = [
                ref
                for ref in source.replicas
                if ref not in (database.db_instance_identifier, database.db_instance_arn)
            ]
    database.source_db_instance_identifier = None
    database.is_replica = False


def _advance(backend: Any, database: Any, now: float) -> None:
    pending: PendingPromotion | None = getattr(database, _STATE_ATTR, None)
    if pending is None:
        rds_phases.advance(database, now)
        return
    if now < pending.modifying_from:
        database.status = "available"
        return
    rebooting_from = pending.complete_at - runtime.current().clock.real_seconds(
        rds_phases.RDS_PHASES.promotion_reboot_s)
    database.status = "rebooting" if now >= rebooting_from else "modifying"
    if now < pending.complete_at:
        return
    database.status = "modifying"
    mode = runtime.current().faults.snapshot().promotion
    if mode == "stuck":
        return
    setattr(database, _STATE_ATTR, None)
    if mode == "fail":
        database.status = PROMOTION_FAILED_STATUS
        return
    unlink_from_source(backend, database)
    if pending.update_kwargs:
        database.update(**pending.update_kwargs)
    rds_phases.start_phase(database, "backing-up", rds_phases.RDS_PHASES.promoted_backing_up_s)


def advance_all(account_id: str) -> None:
    """Move every pending promotion and status phase (``rds_phases``) of the account forward
    to the current time."""
    from moto.rds.models import rds_backends

    sim = runtime.current()
    now = sim.now()
    with sim.lock:
        for backend in list(rds_backends[account_id].values()):
            for database in list(backend.databases.values()):
                _advance(backend, database, now)


def _promote(original: Any) -> Any:
    def promote_read_replica(self: Any, db_kwargs: dict[str, Any]) -> Any:
        database_id = db_kwargs["db_instance_identifier"]
        advance_all(self.account_id)
        database = self.describe_db_instances(database_id)[0]
        if getattr(database, _STATE_ATTR, None) is not None or database.status != "available":
            raise _rds_error(
                "InvalidDBInstanceState",
                f"DB Instance {database_id} is not in available state (status "
                f"{database.status}).",
            )
        if not database.is_replica:
            raise _rds_error(
                "InvalidDBInstanceState", f"DB Instance {database_id} is not a read replica."
            )
        sim = runtime.current()
        update_kwargs = {
            key: value
            for key, value in db_kwargs.items()
            if key in ("backup_retention_period", "preferred_backup_window") and value is not None
        }
        setattr(
            database,
            _STATE_ATTR,
            PendingPromotion(
                modifying_from=sim.deadline_after(sim.durations.promotion_still_available_s),
                complete_at=sim.deadline_after(sim.durations.promotion_s),
                update_kwargs=update_kwargs,
            ),
        )
        return database

    return promote_read_replica


def _describe(original: Any) -> Any:
    def describe_db_instances(self: Any, *args: Any, **kwargs: Any) -> Any:
        advance_all(self.account_id)
        return original(self, *args, **kwargs)

    return describe_db_instances


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.rds.models import RDSBackend

    replace_method(RDSBackend, "promote_read_replica", _promote)
    replace_method(RDSBackend, "describe_db_instances", _describe)
