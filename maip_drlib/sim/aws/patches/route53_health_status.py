"""Patch: Route 53 GetHealthCheckStatus answers from simulated checkers, not always healthy.

moto 5.2.5: ``get_health_check_status`` returns one observation, always
"Success: HTTP Status Code: 200"; a health check is healthy from its creation on, whatever
its endpoint does.

Production (Developer Guide, "How Amazon Route 53 determines whether a health check is
healthy"; "Viewing health check status"): one observation per health checker, each the
checker's current status and the time of its last check; a checker changes its status after
FailureThreshold consecutive checks (every RequestInterval) that disagree with it, and the
health check is healthy when more than 18 % of the checkers report it healthy. Failures read
e.g. "Failure: HTTP Status Code 503, Service Unavailable." or "Failure: Connection timed
out...".

This patch answers one observation per simulated checker (``health_checkers``: 16 checkers in
the 8 checker regions) from ``HealthRegistry.observations``, and starts the checkers when the
health check is created (``create_health_check``), so that the endpoint's changes show with
Route 53's delay. Not supported: latency measurements, CALCULATED and CloudWatch-alarm health
checks (they follow their own region, if any, else healthy), failure reasons other than a
connection timeout.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from maip_drlib.sim.aws import runtime
from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method
from maip_drlib.sim.aws.runtime import HealthCheckSpec

PATCH_NAME = "route53_health_status"
HEALTHY_REPORT = "Success: HTTP Status Code 200, OK"
UNHEALTHY_REPORT = (
    "Failure: Connection timed out. The endpoint or the internet connection is down, or "
    "requests are being blocked by your firewall."
)

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply", "spec_of"]


def spec_of(health_check: Any) -> HealthCheckSpec:
    """What the simulated checkers need of a moto ``HealthCheck``."""
    return HealthCheckSpec(
        health_check_id=health_check.id, fqdn=health_check.fqdn,
        request_interval_s=float(health_check.request_interval or 30),
        failure_threshold=int(health_check.failure_threshold or 3))


def _status(original: Any) -> Any:
    def get_health_check_status(self: Any) -> Any:
        from moto.core.responses import ActionResult
        from moto.core.utils import utcnow

        health_check = self.backend.get_health_check(self._get_param("HealthCheckId"))
        registry = runtime.current().health
        observations = registry.observations(spec_of(health_check))
        now, now_s = utcnow(), registry.now_s()
        clock = runtime.current().clock
        return ActionResult({"HealthCheckObservations": [
            {"Region": seen.checker.region, "IPAddress": seen.checker.ip_address,
             "StatusReport": {
                 "Status": HEALTHY_REPORT if seen.healthy else UNHEALTHY_REPORT,
                 "CheckedTime": now - timedelta(
                     seconds=clock.real_seconds(max(0.0, now_s - seen.checked_at_s)))}}
            for seen in observations]})

    return get_health_check_status


def _create(original: Any) -> Any:
    def create_health_check(self: Any, *args: Any, **kwargs: Any) -> Any:
        health_check = original(self, *args, **kwargs)
        runtime.current().health.track(spec_of(health_check))
        return health_check

    return create_health_check


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.route53.models import Route53Backend
    from moto.route53.responses import Route53

    replace_method(Route53, "get_health_check_status", _status)
    replace_method(Route53Backend, "create_health_check", _create)
