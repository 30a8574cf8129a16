"""Named, documented patches filling moto 5.2.5's gaps (moto has no plugin system: #7126),
and two that cut the simulation's start-up time (``ec2_no_default_amis``,
``eks_role_arn_partitions``) without changing what the simulation answers.

Each module says what moto 5.2.5 does, what production does and what it changes, pins
``MOTO_VERSION`` (checked when applied: another moto version raises ``MotoVersionMismatch``),
and has a test in tests/sim/test_moto_patches.py through real boto3 clients.

``apply_all()`` must run before the moto server creates its apps (two patches add URL routes),
and is idempotent. The patches are process-global, like moto's backends: one simulation per
process. Not supported: removing the patches again.
"""

from __future__ import annotations

import threading
from types import ModuleType

from maip_drlib.botocore_data import share_with_every_session
from maip_drlib.sim.aws.patches import (
    dynamodb_global_tables,
    dynamodb_item_replication,
    ec2_no_default_amis,
    eks_nodegroup_updates,
    eks_role_arn_partitions,
    elbv2_hosted_zone_ids,
    msk_bootstrap_brokers,
    msk_cluster_state,
    msk_replicators,
    rds_cross_region_replica_source,
    rds_delete_cross_region_replica,
    rds_promotion,
    rds_stop_with_replicas,
    route53_change_batches,
    route53_change_status,
    route53_health_status,
    route53_recreate_record,
    route53_routing_rules,
)
from maip_drlib.sim.aws.patches._support import MOTO_VERSION, MotoVersionMismatch

PATCHES: tuple[ModuleType, ...] = (
    rds_promotion,
    rds_stop_with_replicas,
    rds_delete_cross_region_replica,
    rds_cross_region_replica_source,
    route53_routing_rules,
    route53_change_batches,
    route53_recreate_record,
    route53_change_status,
    route53_health_status,
    eks_nodegroup_updates,
    msk_cluster_state,
    msk_replicators,
    msk_bootstrap_brokers,
    dynamodb_global_tables,
    dynamodb_item_replication,
    elbv2_hosted_zone_ids,
    ec2_no_default_amis,
    eks_role_arn_partitions,
)

_applied = False
_lock = threading.Lock()

__all__ = ["MOTO_VERSION", "PATCHES", "MotoVersionMismatch", "apply_all", "patch_names"]


def apply_all() -> None:
    """Apply every patch once (later calls do nothing)."""
    global _applied
    with _lock:
        if _applied:
            return
        # Before moto's modules are imported: their import makes botocore sessions of its own.
        share_with_every_session()
        for patch in PATCHES:
            patch.apply()
        _applied = True


def patch_names() -> tuple[str, ...]:
    return tuple(patch.PATCH_NAME for patch in PATCHES)
