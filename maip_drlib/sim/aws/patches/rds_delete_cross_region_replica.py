"""Patch: deleting a cross-region RDS read replica works.

moto 5.2.5: a cross-region replica is listed on its source by ARN (``add_replica``), but
``delete_db_instance`` calls ``source.remove_replica(replica)``, which removes the bare
identifier: ``list.remove`` raises ValueError and the call answers HTTP 500 (botocore retries
it). Production deletes the replica and the source stops listing it.

This patch makes ``DBInstance.remove_replica`` remove the replica by identifier or ARN and
tolerate a replica the source no longer lists. Not supported: deleting a source that still has
replicas (production promotes them; moto and this patch leave them pointing at a gone source).
"""

from __future__ import annotations

from typing import Any

from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "rds_delete_cross_region_replica"

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply"]


def _remove_replica(original: Any) -> Any:
    def remove_replica(self: Any, replica: Any) -> None:
        forms = (replica.db_instance_identifier, replica.db_instance_arn)
        self.replicas = [ref for ref in self.replicas if ref not in forms]

    return remove_replica


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.rds.models import DBInstance

    replace_method(DBInstance, "remove_replica", _remove_replica)
