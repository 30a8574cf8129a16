"""Patch: CreateDBInstanceReadReplica from another region's instance, given by ARN.

The failback replica ``maip-prod-postgres-new`` is created in us-east-1 with the promoted
us-west-2 instance's ARN as source and ``SourceRegion us-west-2`` (the CLI's
``--source-region``; botocore turns it into a ``PreSignedUrl``). There is no
``--destination-region`` option (runbook erratum, DESIGN.md 7).

moto 5.2.5: works and links both sides (the source lists the replica's ARN), but the replica is
a shallow copy of its source: it inherits the source's status (``modifying``, ``failed``) and
this suite's pending-promotion record; it also accepts a source without automated backups.

Production: the source must be ``available`` with automated backups (BackupRetentionPeriod > 0),
else ``InvalidDBInstanceState``; a same-named instance is ``DBInstanceAlreadyExists``.

This patch enforces those, and gives the replica its own state: ``available`` at once (the
``creating`` phase is not simulated), no pending promotion, no replicas of its own. Not
supported: KMS re-encryption, option/parameter group translation across regions.
"""

from __future__ import annotations

from typing import Any

from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "rds_cross_region_replica_source"

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply"]


def _create(original: Any) -> Any:
    def create_db_instance_read_replica(self: Any, db_kwargs: dict[str, Any]) -> Any:
        from moto.rds.exceptions import DBInstanceAlreadyExists, RDSClientError

        database_id = db_kwargs["db_instance_identifier"]
        if database_id in self.databases:
            raise DBInstanceAlreadyExists()
        source = self.find_db_from_id(db_kwargs["source_db_instance_identifier"])
        if source.status != "available":
            raise RDSClientError(
                "InvalidDBInstanceState",
                f"DB Instance {source.db_instance_identifier} is not in available state.",
            )
        if not source.backup_retention_period:
            raise RDSClientError(
                "InvalidDBInstanceState",
                "Automated backups are not enabled for this database instance. To enable "
                "automated backups, use ModifyDBInstance to set the backup retention period "
                "to a non-zero value.",
            )
        replica = original(self, db_kwargs)
        replica.status = "available"
        replica.maip_pending_promotion = None
        replica.replicas = []
        return replica

    return create_db_instance_read_replica


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.rds.models import RDSBackend

    replace_method(RDSBackend, "create_db_instance_read_replica", _create)
