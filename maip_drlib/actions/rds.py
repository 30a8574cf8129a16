"""RDS: promote a read replica; create the failback replica in us-east-1 from the promoted one.

Promotion waits until the instance has no source AND is available (right after
``promote-read-replica`` the status can still read ``available``; DESIGN.md section 7). The
failback replica is created in the destination region with the source given as its ARN and
``SourceRegion`` (never ``--destination-region``, which the CLI rejects). Both are idempotent:
an instance already promoted, or a replica that already exists from the right source, is
recognised and only waited for.

A replica of an encrypted source is created with ``KmsKeyId``, a key of the destination
region (KMS keys do not leave their region; without it AWS answers
``InvalidParameterCombination``): the caller passes it (``kms_key_id``, from the topology's
``kms_key_id`` of the destination); a source found encrypted with no key given refuses
(``ConfigError``) before the create call. The new replica reads ``creating`` while AWS copies
the source's snapshot across regions and restores it (tens of minutes:
``DEFAULT_REPLICA_DEADLINE_S``); a promoted instance reboots and takes its first backup
(``backing-up``) before it is ``available`` (``DEFAULT_PROMOTE_DEADLINE_S``).

Not supported: Aurora, option/parameter groups and subnet groups for the new replica (the
source's are used unless given through ``extra_kwargs``), and split-brain guards (the stage
owns them, DESIGN.md section 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maip_drlib.errors import ConfigError, GuardRefused, NotFound
from maip_drlib.facts import DbInstanceFact
from maip_drlib.probes import aws_api
from maip_drlib.probes.rds import db_instance
from maip_drlib.probes.rds_encryption import storage_encryption
from maip_drlib.regions import RegionHandle
from maip_drlib.waits import WaitOutcome, WaitSpec, wait_for

DEFAULT_PROMOTE_DEADLINE_S = 1800.0
DEFAULT_REPLICA_DEADLINE_S = 3600.0

TERMINAL_STATUSES = frozenset({
    "failed",
    "deleting",
    "deleted",
    "storage-full",
    "incompatible-restore",
    "incompatible-parameters",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-credentials",
    "inaccessible-encryption-credentials",
    "restore-error",
})


# A standalone writer on its way to ``available``: PromoteReadReplica's reboot and first backup.
SETTLING_STATUSES = frozenset({"modifying", "rebooting", "backing-up"})


def _terminal(fact: DbInstanceFact) -> str | None:
    if fact.status in TERMINAL_STATUSES or fact.status.startswith("incompatible-"):
        return f"{fact.identifier} is {fact.status}"
    return None


def promote_read_replica(
    handle: RegionHandle,
    identifier: str,
    *,
    deadline_s: float = DEFAULT_PROMOTE_DEADLINE_S,
    poll_max_s: float = 15.0,
    backup_retention_days: int | None = None,
) -> WaitOutcome[DbInstanceFact]:
    """Promote ``identifier`` and wait until it is a standalone, available writer."""
    current = db_instance(handle, identifier)
    if current.is_writer and current.status == "available":
        return WaitOutcome(value=current, elapsed_s=0.0, polls=1)
    if not current.is_writer:
        kwargs: dict[str, Any] = {"DBInstanceIdentifier": identifier}
        if backup_retention_days is not None:
            kwargs["BackupRetentionPeriod"] = backup_retention_days
        with aws_api(handle, "rds"):
            handle.client("rds").promote_read_replica(**kwargs)
    return wait_for_standalone_writer(handle, identifier, deadline_s=deadline_s,
                                      poll_max_s=poll_max_s)


def wait_for_standalone_writer(handle: RegionHandle, identifier: str, *,
                               deadline_s: float = DEFAULT_PROMOTE_DEADLINE_S,
                               poll_max_s: float = 15.0) -> WaitOutcome[DbInstanceFact]:
    spec = WaitSpec(
        description=f"RDS {identifier} in {handle.region} to be a standalone available writer",
        deadline_s=deadline_s, poll_initial_s=1.0, poll_max_s=poll_max_s,
    )
    return wait_for(
        spec,
        lambda: db_instance(handle, identifier),
        success=lambda fact: fact.is_writer and fact.status == "available",
        failure=_terminal,
    )


def create_cross_region_replica(
    destination: RegionHandle,
    source: RegionHandle,
    replica_id: str,
    source_id: str,
    *,
    deadline_s: float = DEFAULT_REPLICA_DEADLINE_S,
    poll_max_s: float = 30.0,
    extra_kwargs: Mapping[str, Any] | None = None,
    kms_key_id: str | None = None,
    kms_key_setting: str = "kms_key_id",
) -> WaitOutcome[DbInstanceFact]:
    """Create ``replica_id`` in ``destination`` replicating ``source_id`` (in ``source``).

    An existing ``replica_id`` that already replicates ``source_id`` is recognised and waited
    for; one that is anything else refuses (``GuardRefused``) with nothing called. An
    encrypted source needs ``kms_key_id`` (a key of ``destination``'s region, passed as
    ``KmsKeyId``); without it ``ConfigError`` names ``kms_key_setting``, nothing called.
    """
    source_fact = db_instance(source, source_id)
    try:
        existing: DbInstanceFact | None = db_instance(destination, replica_id)
    except NotFound:
        existing = None
    if existing is not None:
        if existing.source_id != source_id and existing.source != source_fact.arn:
            what = ("a writer" if existing.is_writer else f"a replica of {existing.source}")
            raise GuardRefused(
                f"{replica_id} already exists in {destination.region} as {what}, not as a "
                f"replica of {source_id}; refusing to create it again"
            )
    else:
        kwargs: dict[str, Any] = dict(extra_kwargs or {})
        kwargs.update(
            DBInstanceIdentifier=replica_id,
            SourceDBInstanceIdentifier=source_fact.arn,
            SourceRegion=source.region,
        )
        key = replica_kms_key(source, source_id, destination.region, kms_key_id,
                              kms_key_setting)
        if key is not None:
            kwargs["KmsKeyId"] = key
        with aws_api(destination, "rds"):
            destination.client("rds").create_db_instance_read_replica(**kwargs)
    spec = WaitSpec(
        description=f"RDS {replica_id} in {destination.region} to be an available replica of "
                    f"{source_id}",
        deadline_s=deadline_s, poll_initial_s=2.0, poll_max_s=poll_max_s,
    )
    return wait_for(
        spec,
        lambda: db_instance(destination, replica_id),
        success=lambda fact: fact.status == "available" and fact.source_id == source_id,
        failure=_terminal,
    )


def replica_kms_key(source: RegionHandle, source_id: str, destination_region: str,
                    kms_key_id: str | None, kms_key_setting: str = "kms_key_id") -> str | None:
    """The ``KmsKeyId`` of a cross-region replica of ``source_id``: ``kms_key_id`` when the
    source is encrypted, None when it is not (or the replica stays in the source's region).

    Raises ``ConfigError`` naming ``kms_key_setting`` when the source is encrypted and no key
    is given (AWS would refuse the create call).
    """
    if source.region == destination_region:
        return None
    encryption = storage_encryption(source, source_id)
    if not encryption.encrypted:
        return None
    if not kms_key_id:
        raise ConfigError(
            f"{source_id} ({source.region}) is encrypted: its read replica in "
            f"{destination_region} needs a KMS key of {destination_region} (KmsKeyId) and the "
            "config names none; nothing was changed", key=kms_key_setting)
    return kms_key_id
