"""Hold in DR (``drill/hold.py``): the duration option, the limits shared with failback 3, and
holds on the embedded simulation after failover 5 (one that completes, one ended early by the
DR ALB's 5XX rate, injected as ``maip-dr sim fault alb`` injects it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from maip_drlib.drill import hold
from maip_drlib.drill.context import DrillContext, PollPolicy
from maip_drlib.drill.pytest_runner import scenarios_root
from maip_drlib.drill.rehearse import advance
from maip_drlib.errors import ConfigError
from maip_drlib.regions import build_region_handles
from maip_drlib.resolvers import SimulationResolver
from maip_drlib.sim.simulation import SimSettings, Simulation

pytestmark = pytest.mark.sim

FEATURES = scenarios_root() / "features"


@pytest.mark.parametrize(("text", "minutes"), [
    ("90s", 1.5), ("30m", 30.0), ("2h", 120.0), ("1m", 1.0), ("24h", 1440.0), (" 45 m ", 45.0),
    ("0.5h", 30.0)])
def test_durations_are_business_minutes(text: str, minutes: float) -> None:
    assert hold.parse_duration(text) == pytest.approx(minutes)


@pytest.mark.parametrize(("text", "says"), [
    ("30", "expected a duration such as 90s, 30m or 2h"),
    ("abc", "expected a duration such as 90s, 30m or 2h"),
    ("-5m", "expected a duration such as 90s, 30m or 2h"),
    ("", "expected a duration such as 90s, 30m or 2h"),
    ("59s", "expected 1 minute to 24 hours, got '59s' (0.983333 minutes)"),
    ("0m", "expected 1 minute to 24 hours"),
    ("25h", "expected 1 minute to 24 hours, got '25h' (1500 minutes)"),
])
def test_bad_durations_name_the_option(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match="--hold-in-dr") as raised:
        hold.parse_duration(text)
    assert says in str(raised.value)


def test_the_limits_are_failback_3s_from_the_feature_file() -> None:
    limits = hold.feature_thresholds(FEATURES)
    step = next(line for line in (FEATURES / "failback.feature").read_text().splitlines()
                if "traffic shifts back" in line)
    assert f"5XX stay under {limits.max_5xx_per_min:g} per minute" in step
    assert f"latency under {limits.max_latency_s:g} seconds" in step


def test_a_feature_file_without_the_limits_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "failback.feature").write_text("Feature: nothing here\n")
    with pytest.raises(ConfigError, match=r"failback\.feature") as raised:
        hold.feature_thresholds(tmp_path)
    assert "5XX stay under" in str(raised.value)


@pytest.fixture(scope="module")
def in_dr() -> Iterator[tuple[Simulation, DrillContext]]:
    """A simulation after failover 5 (the primary still in outage), and a read-only context."""
    with Simulation(settings=SimSettings(time_scale=0.2, metric_period_s=0.5)) as simulation:
        advance(simulation, "failover", 5)
        target = simulation.target()
        handles = build_region_handles(target, simulation.topology)  # reads only
        ctx = DrillContext(handles=handles, topology=simulation.topology, target=target,
                           resolver=SimulationResolver(simulation.control_url),
                           poll=PollPolicy.for_target(target))
        try:
            yield simulation, ctx
        finally:
            handles.close()


def test_a_hold_that_completes_samples_until_its_duration(
        in_dr: tuple[Simulation, DrillContext]) -> None:
    _simulation, ctx = in_dr
    seen: list[hold.HoldSample] = []
    result = hold.hold_in_dr(ctx, 10.0, hold.feature_thresholds(FEATURES),
                             on_sample=seen.append)
    assert result.ok, result.verdict
    assert result.verdict == "held in DR for 10 minutes"
    assert result.held_s >= ctx.real_seconds(10.0)
    assert len(result.samples) >= 2 and seen == result.samples
    assert all(s.degraded is None for s in result.samples)
    assert result.samples[0].clients.startswith("us-west-2")
    assert "HTTP 200" in result.samples[0].endpoint
    row = hold.result_row(result, ctx.target.time_scale)
    assert row["phase"] == "hold" and row["outcome"] == "passed"
    assert row["hold"]["samples"] == len(result.samples)


def test_a_dr_alb_5xx_rate_over_failback_3s_limit_ends_the_hold_early(
        in_dr: tuple[Simulation, DrillContext]) -> None:
    simulation, ctx = in_dr
    limits = hold.feature_thresholds(FEATURES)
    dr = simulation.topology.secondary.region

    def degrade_after_first(sample: hold.HoldSample) -> None:
        if sample.degraded is None:
            simulation.faults.set_alb(dr, http_5xx_count=limits.max_5xx_per_min * 10)

    try:
        result = hold.hold_in_dr(ctx, 120.0, limits, on_sample=degrade_after_first)
    finally:
        simulation.faults.set_alb(dr)
    assert not result.ok
    assert result.reason is not None and "HTTPCode_ELB_5XX_Count" in result.reason
    assert simulation.topology.secondary.alb_name in result.reason
    assert result.verdict.startswith("hold ended early: HTTPCode_ELB_5XX_Count")
    assert result.held_s < ctx.real_seconds(120.0)
    assert result.samples[0].degraded is None and result.samples[-1].degraded
    row = hold.result_row(result, ctx.target.time_scale)
    assert row["outcome"] == "failed" and row["error_kind"] == "check"
    assert row["message"] == result.verdict
