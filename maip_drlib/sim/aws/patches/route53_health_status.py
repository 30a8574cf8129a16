"""Patch: Route 53 GetHealthCheckStatus answers from the simulation, not always healthy.

moto 5.2.5: ``get_health_check_status`` returns one observation, always
"Success: HTTP Status Code: 200".

Production: one observation per checker region; a check is healthy when more than 18% of the
checkers see it healthy. Failures read e.g. "Failure: HTTP Status Code 503, Service
Unavailable." or "Failure: Connection timed out...".

This patch answers three observations (us-east-1, us-west-1, us-west-2 checkers) that all agree
with ``HealthRegistry.is_healthy`` (the lead's ``region_healthy`` callable by the health check's
region; see ``runtime.HealthRegistry``). Not supported: per-checker disagreement, latency
measurements, CALCULATED and CloudWatch-alarm health checks (they follow their own region, if
any, else healthy).
"""

from __future__ import annotations

from typing import Any

from maip_drlib.sim.aws import runtime
from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "route53_health_status"
CHECKER_REGIONS = ("us-east-1", "us-west-1", "us-west-2")
HEALTHY_REPORT = "Success: HTTP Status Code 200, OK"
UNHEALTHY_REPORT = (
    "Failure: Connection timed out. The endpoint or the internet connection is down, or "
    "requests are being blocked by your firewall."
)

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply"]


def _status(original: Any) -> Any:
    def get_health_check_status(self: Any) -> Any:
        from moto.core.responses import ActionResult
        from moto.core.utils import utcnow

        health_check_id = self._get_param("HealthCheckId")
        health_check = self.backend.get_health_check(health_check_id)
        healthy = runtime.current().health.is_healthy(health_check_id, health_check.fqdn)
        report = HEALTHY_REPORT if healthy else UNHEALTHY_REPORT
        return ActionResult(
            {
                "HealthCheckObservations": [
                    {
                        "Region": region,
                        "IPAddress": f"127.0.13.{index + 1}",
                        "StatusReport": {"Status": report, "CheckedTime": utcnow()},
                    }
                    for index, region in enumerate(CHECKER_REGIONS)
                ]
            }
        )

    return get_health_check_status


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.route53.responses import Route53

    replace_method(Route53, "get_health_check_status", _status)
