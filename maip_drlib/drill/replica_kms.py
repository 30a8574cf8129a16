"""The KMS key of a cross-region read replica the drill creates, decided before any write.

Failback 2 creates the failback replica in the primary region from the promoted DR instance
(named ``topology.primary.rds_instance`` or ``topology.failback_replica``, whichever is free:
``drill.failback_names``); failback 4 creates a fresh DR replica from the new writer in the
primary region.
When the source is encrypted, AWS needs ``KmsKeyId``, a key of the destination region (KMS
keys do not leave their region: CreateDBInstanceReadReplica, RDS API Reference): the
topology's ``kms_key_id`` of that region (``[topology.primary]`` or ``[topology.secondary]``).
A stage asks here first, before its first write, and refuses (``ConfigError``, exit 2) with one
line naming the config key when the source is encrypted and the config names no key.

The source is found by name (the promoted instance is ``topology.secondary.rds_instance``, the
new writer the failback replica failback 4 found under either primary name); an absent source
is left to the stage's own checks (None here). Not supported: a replica key different from the
topology's (one key per region).
"""

from __future__ import annotations

from typing import Literal

from maip_drlib.actions.rds import replica_kms_key
from maip_drlib.drill.context import DrillContext
from maip_drlib.errors import ConfigError, NotFound

Side = Literal["primary", "secondary"]


def setting_name(side: Side) -> str:
    """The config key of ``side``'s KMS key, as configuration errors name keys."""
    return f"topology.{side}.kms_key_id"


def replica_key(ctx: DrillContext, stage: str, source_id: str, source_side: Side,
                destination_side: Side) -> str | None:
    """The ``KmsKeyId`` for a replica of ``source_id`` in ``destination_side``'s region (None
    for an unencrypted or absent source); records the decision; ``ConfigError`` when needed
    and not configured."""
    source = getattr(ctx.handles, source_side)
    place = getattr(ctx.topology, destination_side)
    try:
        key = replica_kms_key(source, source_id, place.region, place.kms_key_id,
                              setting_name(destination_side))
    except NotFound:
        return None
    except ConfigError as error:
        ctx.decisions.record(stage, "refused: the source is encrypted and the config names no "
                             "KMS key for its replica's region", source=source_id,
                             source_region=source.region, replica_region=place.region,
                             config_key=setting_name(destination_side))
        raise ConfigError(f"{stage}: {str(error).split(': ', 1)[1]}",
                          key=error.key) from error
    if key is not None:
        ctx.decisions.record(stage, "encrypted source: the replica is created with the "
                             "destination region's KMS key", source=source_id,
                             replica_region=place.region, kms_key_id=key)
    return key
