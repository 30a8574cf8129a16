"""Patch: CreateDBInstanceReadReplica from another region's instance, given by ARN.

The failback replica ``maip-prod-postgres-new`` is created in us-east-1 with the promoted
us-west-2 instance's ARN as source and ``SourceRegion us-west-2`` (the CLI's
``--source-region``; botocore turns it into a ``PreSignedUrl``). There is no
``--destination-region`` option (runbook erratum, DESIGN.md 7).

moto 5.2.5: works and links both sides (the source lists the replica's ARN), but the replica is
a shallow copy of its source: it inherits the source's status (``modifying``, ``failed``),
its ``InstanceCreateTime`` and this suite's pending-promotion record; it also accepts a source
without automated backups.

moto also copies the source's ``KmsKeyId`` into another region and accepts a replica of an
encrypted source without ``KmsKeyId``.

Production: the source must be ``available`` with automated backups (BackupRetentionPeriod > 0),
else ``InvalidDBInstanceState``; a same-named instance is ``DBInstanceAlreadyExists``. "If you
create an encrypted read replica in a different AWS Region, then you must specify a KMS key
identifier for the destination AWS Region. KMS keys are specific to the AWS Region that they
are created in" (CreateDBInstanceReadReplica, KmsKeyId, RDS API Reference): without it AWS
answers ``InvalidParameterCombination`` "Cannot create a cross region unencrypted read replica
from encrypted source."; a key the destination region does not hold is
``KMSKeyNotAccessibleFault``; "You can't create an encrypted read replica from an unencrypted DB
instance" (``InvalidParameterCombination``). A new replica is ``creating`` while the source's
snapshot is copied and restored (``rds_phases``).

This patch enforces those, and gives the replica its own state: its own creation time
(``InstanceCreateTime``: when it was created, which failback 2's name rule compares,
``drill.failback_names``); ``creating`` for
``rds_phases.RDS_PHASES.replica_creating_s`` simulated seconds, then ``available``; encrypted
with the destination's key (``KmsKeyId`` resolved to the key's ARN in the destination region)
or not, as its source; no pending promotion, no replicas of its own. Not supported:
same-region replicas given a ``KmsKeyId`` (AWS refuses them), option/parameter group
translation across regions.
"""

from __future__ import annotations

from typing import Any

from maip_drlib.sim.aws.patches import rds_phases
from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "rds_cross_region_replica_source"

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply"]


def _create(original: Any) -> Any:
    def create_db_instance_read_replica(self: Any, db_kwargs: dict[str, Any]) -> Any:
        from moto.core.utils import utcnow
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
        kms_key_arn = _replica_kms_key(self, source, db_kwargs.get("kms_key_id"))
        replica = original(self, db_kwargs)
        replica.created = replica.instance_create_time = utcnow()  # its own, not the source's
        replica.maip_pending_promotion = None
        replica.replicas = []
        replica.storage_encrypted = bool(source.storage_encrypted)
        replica.kms_key_id = kms_key_arn if kms_key_arn else source.kms_key_id
        rds_phases.start_phase(replica, "creating", rds_phases.RDS_PHASES.replica_creating_s)
        return replica

    return create_db_instance_read_replica


def _replica_kms_key(backend: Any, source: Any, kms_key_id: str | None) -> str | None:
    """The ARN of the destination's key for a cross-region replica of ``source`` (None when
    the replica stays in the source's region); raises AWS's errors for a missing, foreign or
    unexpected key."""
    from moto.kms.models import kms_backends
    from moto.rds.exceptions import InvalidParameterCombination, KMSKeyNotAccessibleFault

    if source.region == backend.region_name:
        return None
    if not source.storage_encrypted:
        if kms_key_id:
            raise InvalidParameterCombination(
                "Cannot create an encrypted read replica from an unencrypted source.")
        return None
    if not kms_key_id:
        raise InvalidParameterCombination(
            "Cannot create a cross region unencrypted read replica from encrypted source.")
    kms = kms_backends[backend.account_id][backend.region_name]
    try:
        key = kms.describe_key(kms_key_id)
    except (KeyError, TypeError, AttributeError) as error:
        raise KMSKeyNotAccessibleFault(kms_key_id) from error
    if getattr(key, "key_state", "Enabled") != "Enabled":
        raise KMSKeyNotAccessibleFault(kms_key_id)
    if kms_key_id.startswith("arn:") and f":{backend.region_name}:" not in kms_key_id:
        raise KMSKeyNotAccessibleFault(kms_key_id)
    return str(key.arn)


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.rds.models import RDSBackend

    replace_method(RDSBackend, "create_db_instance_read_replica", _create)
