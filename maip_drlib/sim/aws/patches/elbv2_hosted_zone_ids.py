"""Patch: each region's ALBs carry that region's real canonical hosted zone id.

moto 5.2.5: every load balancer, in every region, reports ``CanonicalHostedZoneId``
``Z2P70J7EXAMPLE``, so code that hard-codes a zone id (the runbook's ``Z35SXDOTRQ7X7K``, which
is us-east-1's) cannot be told from code that reads it from ELBv2.

Production: the id is per region and per load balancer type (ALB us-east-1 ``Z35SXDOTRQ7X7K``,
us-west-2 ``Z1H1FL5HABSF5``; AWS General Reference, Elastic Load Balancing endpoints).

This patch sets the real ALB zone id for the regions below on application load balancers.
Not supported: network/gateway load balancers and other regions (they keep moto's value).
"""

from __future__ import annotations

from typing import Any

from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "elbv2_hosted_zone_ids"
ALB_HOSTED_ZONE_IDS = {
    "us-east-1": "Z35SXDOTRQ7X7K",
    "us-east-2": "Z3AADJGX6KTTL2",
    "us-west-1": "Z368ELLRRE2KJ0",
    "us-west-2": "Z1H1FL5HABSF5",
}

__all__ = ["ALB_HOSTED_ZONE_IDS", "MOTO_VERSION", "PATCH_NAME", "apply"]


def _init(original: Any) -> Any:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        region = str(self.arn).split(":")[3] if str(self.arn).count(":") >= 5 else ""
        if self.type == "application":
            zone_id = ALB_HOSTED_ZONE_IDS.get(region)
            if zone_id is not None:
                self.canonical_hosted_zone_id = zone_id

    return __init__


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.elbv2.models import FakeLoadBalancer

    replace_method(FakeLoadBalancer, "__init__", _init)
