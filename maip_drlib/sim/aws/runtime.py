"""The live context the moto patches read: faults, simulated clock, health and durations.

moto's backends are process-global, and so are the patches applied to them: there is ONE
simulation per process. ``MotoServer.start`` installs a fresh ``SimRuntime`` (and resets every
moto backend); patched code reads it through ``current()``. Not supported: two simulations in
one process, or patched moto used without an installed runtime (``current()`` raises).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from maip_drlib.sim.aws.health_checkers import (
    CHECKER_REGIONS,
    TARGET_INTERVAL_S,
    Checker,
    CheckTrack,
    Observation,
    health_check_track,
    target_track,
)
from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.faults import FaultState

RegionHealth = Callable[[str], bool]
_log = logging.getLogger(__name__)
# How often the checkers' sampler looks at the endpoints, in real seconds (bounds).
SAMPLER_MIN_TICK_S = 0.05
SAMPLER_MAX_TICK_S = 0.25

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


@dataclass(frozen=True)
class HealthCheckSpec:
    """What the checkers need of a Route 53 health check."""

    health_check_id: str
    fqdn: str | None = None
    request_interval_s: float = 30.0
    failure_threshold: int = 3


class HealthRegistry:
    """Which region each Route 53 health check watches, and how Route 53's checkers see it.

    A health check's region is the one registered for its id (``register``), else the region
    named in its FullyQualifiedDomainName (an ALB DNS name carries it). A health check with no
    known region is healthy (moto's behaviour). ``region_healthy`` is the lead's callable; the
    default reads the FaultState: healthy unless the region is in outage or its endpoint fault
    answers >= 500 or lists DOWN components. ``set_checkers_see_down`` makes the checkers of
    some checker regions see a region's endpoint down whatever it answers (a network problem
    between them: checker disagreement).

    ``observations``/``check_healthy`` and ``target_healthy`` are the DELAYED views
    (``health_checkers``): once ``start``ed (``install`` does it), a sampler thread polls
    ``region_healthy`` and runs the checkers' polls in simulated time, so that a change shows
    after the checkers' thresholds, whether or not anybody asks meanwhile. Without a clock
    (never started) the views follow ``region_healthy`` at once.
    """

    def __init__(self, faults: FaultState, region_healthy: RegionHealth | None = None):
        self._faults = faults
        self._lock = threading.Lock()
        self._regions: dict[str, str] = {}
        self._region_healthy: RegionHealth = region_healthy or self._default_region_healthy
        self._blind: dict[str, frozenset[str]] = {}
        self._specs: dict[str, HealthCheckSpec] = {}
        self._checks: dict[str, CheckTrack] = {}
        self._targets: dict[str, CheckTrack] = {}
        self._clock: SimClock | None = None
        self._origin = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
        """The endpoint's state NOW (no checker delay)."""
        with self._lock:
            judge = self._region_healthy
        return judge(region)

    def is_healthy(self, health_check_id: str, fqdn: str | None = None) -> bool:
        """The endpoint's state NOW (no checker delay); ``check_healthy`` is Route 53's view."""
        region = self.region_of(health_check_id, fqdn)
        return True if region is None else self.region_is_healthy(region)

    # Checker disagreement -------------------------------------------------------------

    def set_checkers_see_down(self, region: str, checker_regions: tuple[str, ...] = ()) -> None:
        """Checkers in ``checker_regions`` see ``region``'s endpoint down (() clears)."""
        unknown = sorted(set(checker_regions) - set(CHECKER_REGIONS))
        if unknown:
            raise ValueError(f"unknown checker regions {', '.join(unknown)} (known: "
                             f"{', '.join(CHECKER_REGIONS)})")
        with self._lock:
            self._blind[region] = frozenset(checker_regions)

    # Delayed views --------------------------------------------------------------------

    def track(self, spec: HealthCheckSpec) -> None:
        """Start watching a health check (its checkers start from the endpoint's state now)."""
        with self._lock:
            self._specs[spec.health_check_id] = spec
        self._check(spec)

    def observations(self, spec: HealthCheckSpec) -> tuple[Observation, ...]:
        """One observation per checker, as of now (simulated seconds since start)."""
        track = self._check(spec)
        with self._lock:
            return track.observations()

    def check_healthy(self, spec: HealthCheckSpec) -> bool:
        """Route 53's view: more than 18 % of the checkers say healthy."""
        track = self._check(spec)
        with self._lock:
            return track.healthy()

    def target_healthy(self, region: str) -> bool:
        """An ALB's target health in ``region`` as EvaluateTargetHealth sees it (delayed)."""
        with self._lock:
            track = self._targets.get(region)
        if track is None:
            seen = self.region_is_healthy(region)
            with self._lock:
                track = self._targets.setdefault(
                    region, target_track(region, now_s=self.now_s(), healthy=seen))
        self._advance_one(track, region)
        with self._lock:
            return track.healthy()

    def settle(self) -> None:
        """Every checker adopts the endpoints' state now, with no delay (tests, seeding)."""
        now = self.now_s()
        for track, region in self._all_tracks():
            result = self._result_of(region)
            with self._lock:
                track.settle(now, result)

    def now_s(self) -> float:
        """Simulated seconds since this registry was made (real seconds without a clock)."""
        elapsed = time.monotonic() - self._origin
        clock = self._clock
        return elapsed if clock is None else elapsed * 60.0 / clock.time_scale

    def _check(self, spec: HealthCheckSpec) -> CheckTrack:
        region = self.region_of(spec.health_check_id, spec.fqdn)
        with self._lock:
            track = self._checks.get(spec.health_check_id)
        if track is None:
            seen = True if region is None else self.region_is_healthy(region)
            with self._lock:
                track = self._checks.setdefault(spec.health_check_id, health_check_track(
                    spec.request_interval_s, spec.failure_threshold, now_s=self.now_s(),
                    healthy=seen))
                self._specs.setdefault(spec.health_check_id, spec)
        self._advance_one(track, region)
        return track

    def _result_of(self, region: str | None) -> Callable[[Checker], bool]:
        if region is None:
            return lambda _checker: True
        healthy = self.region_is_healthy(region)
        with self._lock:
            blind = self._blind.get(region, frozenset())
        return lambda checker: healthy and checker.region not in blind

    def _advance_one(self, track: CheckTrack, region: str | None) -> None:
        if self._clock is None:  # not started: no delay
            result = self._result_of(region)
            with self._lock:
                track.settle(self.now_s(), result)
            return
        now = self.now_s()
        result = self._result_of(region)
        with self._lock:
            track.advance(now, result, catch_up=False)

    def _all_tracks(self) -> list[tuple[CheckTrack, str | None]]:
        with self._lock:
            checks = [(track, self._specs.get(check_id)) for check_id, track in
                      self._checks.items()]
            targets = [(track, region) for region, track in self._targets.items()]
        return [(track, None if spec is None else self.region_of(spec.health_check_id,
                                                                 spec.fqdn))
                for track, spec in checks] + list(targets)

    # The sampler ----------------------------------------------------------------------

    def start(self, clock: SimClock) -> None:
        """Run the checkers in simulated time (one daemon thread; ``stop`` ends it)."""
        with self._lock:
            self._clock = clock
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._sample, name="route53-checkers",
                                            daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        self._thread = None

    def _tick_s(self) -> float:
        clock = self._clock
        if clock is None:
            return SAMPLER_MAX_TICK_S
        with self._lock:
            intervals = [track.interval_s for track in
                         (*self._checks.values(), *self._targets.values())]
        shortest = clock.real_seconds(min(intervals, default=TARGET_INTERVAL_S))
        return max(SAMPLER_MIN_TICK_S, min(SAMPLER_MAX_TICK_S, shortest / 2))

    def _sample(self) -> None:
        while not self._stop.wait(self._tick_s()):
            try:
                now = self.now_s()
                seen: dict[str | None, Callable[[Checker], bool]] = {}
                for track, region in self._all_tracks():
                    if region not in seen:
                        seen[region] = self._result_of(region)
                    with self._lock:
                        track.advance(now, seen[region], catch_up=False)
            except Exception:  # the judge reads a simulation being torn down: keep sampling
                _log.debug("route53 checkers: sampling failed", exc_info=True)


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
    """Make ``runtime`` the current one: its health checkers start (the previous stop)."""
    global _current
    with _current_lock:
        previous, _current = _current, runtime
    if previous is not None and previous.health is not runtime.health:
        previous.health.stop()
    runtime.health.start(runtime.clock)


def current() -> SimRuntime:
    with _current_lock:
        runtime = _current
    if runtime is None:
        raise RuntimeError(
            "no simulation runtime installed: start a MotoServer (one simulation per process)"
        )
    return runtime
