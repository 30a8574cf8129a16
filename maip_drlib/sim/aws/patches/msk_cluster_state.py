"""Patch: MSK clusters become ACTIVE instead of staying CREATING forever.

moto 5.2.5: ``create_cluster`` and ``create_cluster_v2`` store the cluster with state
``CREATING`` and nothing ever moves it, so a readiness check waiting for ``ACTIVE`` never
passes.

Production: ``CREATING`` for 15-30 minutes, then ``ACTIVE``.

This patch answers the create call as production does (``CREATING``) and makes the stored
cluster ``ACTIVE`` right after: the creation time is not simulated (seeding must be fast).
Not supported: ``UPDATING``, ``HEALING``, ``MAINTENANCE`` and ``FAILED`` states.
"""

from __future__ import annotations

from typing import Any

from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "msk_cluster_state"

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply"]


def _activate_after(original: Any) -> Any:
    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = original(self, *args, **kwargs)
        cluster_arn = answer[0]
        self.clusters[cluster_arn].state = "ACTIVE"
        return answer

    return create


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.kafka.models import KafkaBackend

    replace_method(KafkaBackend, "create_cluster_v2", _activate_after)
    replace_method(KafkaBackend, "create_cluster", _activate_after)
