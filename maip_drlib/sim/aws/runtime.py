"""The live context the moto patches read: faults, simulated clock, health and durations.

moto's backends are process-global, and so are the patches applied to them: there is ONE
simulation per process. ``MotoServer.start`` installs a fresh ``SimRuntime`` (and resets every
moto backend); patched code reads it through ``current()``. Not supported: two simulations in
one process, or patched moto used without an installed runtime (``current()`` raises).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.faults import FaultState

RegionHealth = Callable[[str], bool]

# A region as a whole DNS label: "x-1.us-west-2.elb.amazonaws.com" (never "dr-alb-1").
_REGION_IN_NAME = re.compile(r"(?:^|\.)((?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d)(?:\.|$)")


@dataclass(frozen=True)
class SimDurations:
    """How long simulated state changes take, in SIMULATED seconds (SimClock scales them)."""

    # promote-read-replica: status still reads `available` this long, then `modifying`.
    promotion_still_available_s: float = 10.0
    # promote-read-replica: from the call until the instance is a standalone writer.
    promotion_s: float = 180.0
    # Route 53 ChangeResourceRecordSets: PENDING until INSYNC.
    route53_change_s: float = 30.0
    # EKS UpdateNodegroupConfig: InProgress until Successful (node group UPDATING meanwhile).
    nodegroup_update_s: float = 120.0


def region_named_in(text: str | None) -> str | None:
    """The AWS region a DNS name carries (``x-1.us-west-2.elb.amazonaws.com``), if any."""
    if not text:
        return None
    match = _REGION_IN_NAME.search(text.lower())
    return match.group(1) if match else None


class HealthRegistry:
    """Which region each Route 53 health check watches, and whether that region is healthy.

    A health check's region is the one registered for its id (``register``), else the region
    named in its FullyQualifiedDomainName (an ALB DNS name carries it). A health check with no
    known region is healthy (moto's behaviour). ``region_healthy`` is the lead's callable; the
    default reads the FaultState: healthy unless the region is in outage or its endpoint fault
    answers >= 500 or lists DOWN components.
    """

    def __init__(self, faults: FaultState, region_healthy: RegionHealth | None = None):
        self._faults = faults
        self._lock = threading.Lock()
        self._regions: dict[str, str] = {}
        self._region_healthy: RegionHealth = region_healthy or self._default_region_healthy

    def _default_region_healthy(self, region: str) -> bool:
        faults = self._faults.snapshot()
        region_faults = faults.region(region)
        return (
            region_faults.outage is None
            and region_faults.endpoint.http_status < 500
            and not region_faults.endpoint.down_components
        )

    def set_region_healthy(self, region_healthy: RegionHealth) -> None:
        with self._lock:
            self._region_healthy = region_healthy

    def register(self, health_check_id: str, region: str) -> None:
        with self._lock:
            self._regions[health_check_id] = region

    def region_of(self, health_check_id: str, fqdn: str | None = None) -> str | None:
        with self._lock:
            known = self._regions.get(health_check_id)
        return known or region_named_in(fqdn)

    def region_is_healthy(self, region: str) -> bool:
        with self._lock:
            judge = self._region_healthy
        return judge(region)

    def is_healthy(self, health_check_id: str, fqdn: str | None = None) -> bool:
        region = self.region_of(health_check_id, fqdn)
        return True if region is None else self.region_is_healthy(region)


@dataclass
class SimRuntime:
    """Everything patched moto code needs from the running simulation."""

    faults: FaultState
    clock: SimClock
    health: HealthRegistry
    durations: SimDurations = field(default_factory=SimDurations)
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Route 53 change id -> monotonic time at which it reads INSYNC.
    route53_changes: dict[str, float] = field(default_factory=dict)
    # The simulation's data plane (real PostgreSQL, ``maip_drlib.sim.data_plane``) when it is
    # on; None keeps the ``rds_data_plane`` patch inert.
    data_plane: Any = None

    def deadline_after(self, simulated_seconds: float) -> float:
        """Monotonic time ``simulated_seconds`` of platform time from now."""
        return time.monotonic() + self.clock.real_seconds(simulated_seconds)

    @staticmethod
    def now() -> float:
        return time.monotonic()


_current: SimRuntime | None = None
_current_lock = threading.Lock()


def install(runtime: SimRuntime) -> None:
    global _current
    with _current_lock:
        _current = runtime


def current() -> SimRuntime:
    with _current_lock:
        runtime = _current
    if runtime is None:
        raise RuntimeError(
            "no simulation runtime installed: start a MotoServer (one simulation per process)"
        )
    return runtime
