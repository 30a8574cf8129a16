"""Hold in DR: serve production from DR for a while after failover 5, before failback starts.

``gameday --hold-in-dr DURATION`` (``parse_duration``: ``90s``, ``30m``, ``2h``; 1 minute to 24
hours) keeps the drill in DR that long. ``hold_in_dr`` samples, at ``sample_interval_s``:

- where clients land: the API name through the drill's resolver, matched to an ALB exactly as
  failover 3 and 5 do (``clients_landing.clients_region``); anything but the DR region degrades;
- the public endpoint's health through DNS (``traffic.endpoint_check``, as the weighted shift);
- the DR ALB's ``HTTPCode_ELB_5XX_Count`` and ``TargetResponseTime`` from CloudWatch, read and
  judged as failback 3's soak reads them (``traffic.alb_reading``, ``traffic.degradation_of``)
  against the limits of failback 3's step in ``features/failback.feature``
  (``feature_thresholds``: the numbers live in the Gherkin only).

The first degraded sample ends the hold early (``HoldResult.verdict``: "hold ended early:
<reason>"); so does an error reading any of them (DR cannot be observed). The duration is in
business minutes: on a simulation it takes ``time_scale`` real seconds per minute
(``DrillContext.real_seconds``), on a live target real minutes.

``result_row`` turns the hold into a row of the drill's results (phase ``hold``): the summary,
the terminal table, the timeline and the exit code read it like a stage (a hold ended early is
a failed check: exit 1). The hold only reads: it needs no consent and makes no call that
writes.

Not supported: holding without failover 5 having passed (the game day runs the hold only then);
holding on a single ``stage`` run; a minimum number of requests (the ALB metrics say nothing
about traffic volume); the primary ALB (it serves no traffic during the hold).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maip_drlib.config import Target, Topology
from maip_drlib.drill import traffic
from maip_drlib.drill.context import DrillContext
from maip_drlib.errors import ConfigError, DRError
from maip_drlib.probes import elb as elb_probes

if TYPE_CHECKING:
    from maip_drlib.drill.evidence_dirs import AttemptDir
    from maip_drlib.evidence.journal import Journal

OPTION = "--hold-in-dr"
MIN_MINUTES = 1.0
MAX_MINUTES = 24 * 60.0
# One sample per business minute (the ALB metrics are per minute), within these real bounds.
MAX_INTERVAL_S = 60.0
HOLD_SCENARIO = "Hold in DR"
_DURATION = re.compile(r"^\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>[smh])\s*$")
_UNIT_MINUTES = {"s": 1 / 60, "m": 1.0, "h": 60.0}
_LIMITS = re.compile(r"5XX stay under (?P<errors>\d+(?:\.\d+)?) per minute and latency under "
                     r"(?P<latency>\d+(?:\.\d+)?) seconds")
FEATURE_FILE = "failback.feature"


def parse_duration(text: str) -> float:
    """``90s`` / ``30m`` / ``2h`` -> business minutes (1 to 1440), or one ConfigError line."""
    match = _DURATION.match(text or "")
    if match is None:
        raise ConfigError(f"expected a duration such as 90s, 30m or 2h ({MIN_MINUTES:g} minute "
                          f"to {MAX_MINUTES / 60:g} hours), got {text!r}", key=OPTION)
    minutes = float(match["value"]) * _UNIT_MINUTES[match["unit"]]
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise ConfigError(f"expected {MIN_MINUTES:g} minute to {MAX_MINUTES / 60:g} hours, got "
                          f"{text.strip()!r} ({minutes:g} minutes)", key=OPTION)
    return minutes


def feature_thresholds(features_dir: Path) -> traffic.SoakThresholds:
    """Failback 3's limits ("5XX stay under N per minute and latency under S seconds") from
    ``failback.feature``; ConfigError naming the file when the step is missing."""
    path = features_dir / FEATURE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read the weighted shift's limits: {error}",
                          source=str(path)) from error
    match = _LIMITS.search(text)
    if match is None:
        raise ConfigError("no step with '5XX stay under N per minute and latency under S "
                          "seconds' (the limits the hold in DR shares with failback 3)",
                          source=str(path))
    return traffic.SoakThresholds(float(match["errors"]), float(match["latency"]))


def sample_interval_s(ctx: DrillContext) -> float:
    """One business minute in real seconds, at least the target's poll interval and at most
    ``MAX_INTERVAL_S``."""
    return min(MAX_INTERVAL_S, max(ctx.poll.max_s, ctx.real_seconds(1.0)))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class HoldSample:
    """One look at DR during the hold."""

    at: str
    elapsed_s: float
    clients: str
    endpoint: str
    dr_alb: str
    degraded: str | None = None

    def fields(self) -> dict[str, Any]:
        return {"sampled_at": self.at, "elapsed_s": round(self.elapsed_s, 3),
                "clients": self.clients,
                "endpoint": self.endpoint, "dr_alb": self.dr_alb, "degraded": self.degraded}

    def line(self) -> str:
        state = f"DEGRADED: {self.degraded}" if self.degraded else "ok"
        return (f"clients -> {self.clients}; endpoint {self.endpoint}; {self.dr_alb}: "
                f"{state}")


@dataclass
class HoldResult:
    """The hold as it went: planned duration, start, end, samples and the verdict."""

    planned_minutes: float
    planned_real_s: float
    interval_s: float
    limits: traffic.SoakThresholds
    started_at: str
    ended_at: str = ""
    held_s: float = 0.0
    samples: list[HoldSample] = field(default_factory=list)
    reason: str | None = None  # why it ended early; None when it held the whole duration
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.reason is None and not self.interrupted

    @property
    def verdict(self) -> str:
        if self.interrupted:
            return "hold interrupted: a resume starts at failback 1"
        if self.reason is not None:
            return f"hold ended early: {self.reason}"
        return f"held in DR for {self.planned_minutes:g} minutes"

    def fields(self) -> dict[str, Any]:
        return {"planned_minutes": self.planned_minutes,
                "planned_real_s": round(self.planned_real_s, 3),
                "interval_s": round(self.interval_s, 3),
                "max_5xx_per_min": self.limits.max_5xx_per_min,
                "max_latency_s": self.limits.max_latency_s,
                "started_at": self.started_at, "ended_at": self.ended_at,
                "held_s": round(self.held_s, 3), "samples": len(self.samples),
                "verdict": self.verdict, "ok": self.ok}


def _sample(ctx: DrillContext, dr_alb: object, limits: traffic.SoakThresholds,
            policy: traffic.MetricPolicy, elapsed_s: float) -> HoldSample:
    from maip_drlib.drill.clients_landing import clients_region

    dr_region = ctx.handles.secondary.region
    at = _now()
    try:
        region, seen = clients_region(ctx)
        health = traffic.endpoint_check(ctx)
        reading = traffic.alb_reading(ctx, dr_alb, policy)  # type: ignore[arg-type]
    except DRError as error:
        return HoldSample(at, elapsed_s, "?", "?", "?",
                          degraded=f"DR could not be observed: {error}")
    degraded: str | None = None
    if region != dr_region:
        degraded = f"clients no longer reach {dr_region} ({seen})"
    elif not health.up:
        degraded = f"endpoint health {health} (expected HTTP 200, status UP)"
    else:
        found = traffic.degradation_of(reading, limits)
        degraded = str(found) if found is not None else None
    return HoldSample(at, elapsed_s, f"{region or 'unknown'} ({seen})", str(health),
                      str(reading), degraded)


def hold_in_dr(ctx: DrillContext, minutes: float, limits: traffic.SoakThresholds, *,
               on_sample: Callable[[HoldSample], None] = lambda sample: None,
               on_interrupted: Callable[[HoldResult], None] = lambda result: None,
               clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep) -> HoldResult:
    """Hold ``minutes`` business minutes in DR, sampling; stop at the first degraded sample.

    ``on_sample`` sees every sample as it is taken (progress, journal). On Ctrl-C or SIGTERM
    ``on_interrupted`` gets the hold so far (marked ``interrupted``) and the interruption is
    raised again as it came."""
    planned_s = ctx.real_seconds(minutes)
    interval = sample_interval_s(ctx)
    result = HoldResult(minutes, planned_s, interval, limits, started_at=_now())
    started = clock()
    end = started + planned_s
    try:
        dr_alb = elb_probes.load_balancer(ctx.handles.secondary,
                                          ctx.topology.secondary.alb_name)
        policy = traffic.MetricPolicy.for_target(ctx.target)
    except DRError as error:
        result.reason = f"DR could not be observed: {error}"
        result.ended_at = _now()
        return result
    try:
        while True:
            sample = _sample(ctx, dr_alb, limits, policy, clock() - started)
            result.samples.append(sample)
            on_sample(sample)
            if sample.degraded is not None:
                result.reason = sample.degraded
                break
            remaining = end - clock()
            if remaining <= 0:
                break
            sleep(min(interval, remaining))
    except KeyboardInterrupt:
        result.interrupted = True
        result.held_s = clock() - started
        result.ended_at = _now()
        on_interrupted(result)
        raise
    result.held_s = clock() - started
    result.ended_at = _now()
    return result


def result_row(result: HoldResult, time_scale: float | None) -> dict[str, Any]:
    """The hold as one row of the drill's results (``results-hold.json``)."""
    minutes = result.held_s / time_scale if time_scale else result.held_s / 60.0
    return {"nodeid": "maip-dr gameday --hold-in-dr",
            "scenario": f"{HOLD_SCENARIO} for {result.planned_minutes:g} minutes",
            "phase": "hold", "stage": None,
            "outcome": "passed" if result.ok else "failed",
            "error_kind": None if result.ok else "check",
            "message": "" if result.ok else result.verdict,
            "duration_s": round(result.held_s, 3), "simulated_minutes": round(minutes, 3),
            "rto_budget_minutes": None, "rto_ok": None, "destructive": False,
            "hold": result.fields()}


def run_hold_phase(target: Target, topology: Topology, attempt: AttemptDir, journal: Journal,
                   echo: Callable[[str], None], minutes: float,
                   limits: traffic.SoakThresholds) -> HoldResult:
    """The game day's hold: read-only handles, progress on ``echo``, ``hold.start``,
    ``hold.sample`` and ``hold.end`` in the journal, ``results-hold.json`` in the attempt."""
    from maip_drlib.drill.context import PollPolicy
    from maip_drlib.evidence.redacted_json import write_json  # evidence: redacted, then JSON
    from maip_drlib.regions import build_region_handles
    from maip_drlib.resolvers import resolver_for

    handles = build_region_handles(target, topology)  # reads only: the write gate stays shut
    ctx = DrillContext(handles=handles, topology=topology, target=target,
                       resolver=resolver_for(target), poll=PollPolicy.for_target(target))
    scale = target.time_scale if target.simulated else None
    unit = "simulated minutes" if scale else "minutes"
    real_s, interval = ctx.real_seconds(minutes), sample_interval_s(ctx)
    echo(f"\n=== hold in DR for {minutes:g} {unit} ({real_s:.1f}s real; a sample every "
         f"{interval:.1f}s; limits: 5XX under {limits.max_5xx_per_min:g} per minute, latency "
         f"under {limits.max_latency_s:g}s, as failback 3) ===")
    journal.record("hold.start", planned_minutes=minutes, planned_real_s=round(real_s, 3),
                   interval_s=round(interval, 3), max_5xx_per_min=limits.max_5xx_per_min,
                   max_latency_s=limits.max_latency_s, alb=topology.secondary.alb_name,
                   region=topology.secondary.region, simulated=target.simulated,
                   time_scale=scale)

    def sampled(sample: HoldSample) -> None:
        journal.record("hold.sample", **sample.fields())
        done = sample.elapsed_s / scale if scale else sample.elapsed_s / 60.0
        echo(f"  .. hold {done:.1f}/{minutes:g} {unit}: {sample.line()}")

    def finished(result: HoldResult) -> None:
        journal.record("hold.end", **result.fields())
        row = result_row(result, scale)
        write_json(attempt.results_file("hold"), [row], indent=2, newline=True)

    try:
        result = hold_in_dr(ctx, minutes, limits, on_sample=sampled, on_interrupted=finished)
    finally:
        handles.close()
    finished(result)
    if result.ok:
        echo(f"maip-dr: {result.verdict}; failback starts")
    else:
        echo(f"maip-dr: {result.verdict}; failing back now")
        journal.record("decision", decision=f"{result.verdict}; failing back now")
    return result
