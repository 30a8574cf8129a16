"""Bring a simulation to the state a drill has after a given stage, by running the real stages.

``maip-dr sim up --after failover:3`` uses it, for practice and for tests of single stages and
resumes: the state is what the suite's own stages produce, not a hand-made imitation.
Simulations only: it injects the primary-region outage itself, through the simulation's own
fault switches. The simulation is handed in by the caller (``cli.sim``, the edge): this module
only knows its shape (``RehearsalPlatform``) and never imports ``maip_drlib.sim``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from maip_drlib.config import Target, Topology
from maip_drlib.drill import failback, registry
from maip_drlib.drill.context import (
    DrillContext,
    DrillOptions,
    OutageDeclaration,
    PollPolicy,
)
from maip_drlib.drill.outcome import StageOutcome
from maip_drlib.errors import ConfigError
from maip_drlib.regions import build_region_handles
from maip_drlib.resolvers import resolver_for
from maip_drlib.scenarios_home import scenarios_home
from maip_drlib.write_gate import WriteGate

# Failback 3's soak in a rehearsal: half a simulated minute per step (a game day soaks as its
# Gherkin says); its limits are the Gherkin's (the When step of failback 3).
REHEARSAL_SOAK_MINUTES = 0.5
SHIFT_LIMITS = re.compile(r"5XX stay under (?P<max_5xx>[\d.]+) per minute and latency under "
                          r"(?P<latency>[\d.]+) seconds")


def shift_limits(features: Path) -> tuple[float, float]:
    """Failback 3's limits (5XX per minute, latency seconds) from its When step."""
    text = registry.step_text(registry.stage("failback", 3), features, "When") or ""
    match = SHIFT_LIMITS.search(text)
    if match is None:
        raise ConfigError(f"failback 3's When step does not name its limits: {text!r}",
                          key=str(features / "failback.feature"))
    return float(match.group("max_5xx")), float(match.group("latency"))


def _run(stage: registry.Stage, ctx: DrillContext) -> StageOutcome:
    """``stage`` with its defaults (failback 3 with the rehearsal's soak)."""
    if stage.key == "failback:3":
        max_5xx, latency = shift_limits(scenarios_home() / "features")
        return failback.stage_3_weighted_shift(
            ctx, soak_s=ctx.real_seconds(REHEARSAL_SOAK_MINUTES), max_5xx_per_min=max_5xx,
            max_latency_s=latency)
    return stage.runner()(ctx)


class OutageSwitches(Protocol):
    """A simulation's region fault switches."""

    def region_outage(self, region: str) -> object: ...

    def restore_region(self, region: str) -> object: ...


class RehearsalPlatform(Protocol):
    """What ``advance`` needs of a simulation: its target, topology and fault switches."""

    topology: Topology
    faults: OutageSwitches

    def target(self) -> Target: ...


def parse_after(text: str) -> tuple[str, int]:
    """``failover:3`` -> ("failover", 3); a clear ConfigError for anything else."""
    found = registry.parse_stage(text, key="--after")
    return found.phase, found.number


def advance(simulation: RehearsalPlatform, phase: str, stage: int,
            progress: Callable[[str], None] = lambda message: None) -> list[StageOutcome]:
    """Run the drill on ``simulation`` up to and including ``phase`` stage ``stage``."""
    target = simulation.target()
    handles = build_region_handles(  # the simulation this process started for it
        target, simulation.topology, writes=WriteGate.consented(target=target.name))
    context = DrillContext(
        handles=handles, topology=simulation.topology, target=target,
        resolver=resolver_for(target),  # the DNS server when the data plane is on
        options=DrillOptions(execute=True, declared_outage=OutageDeclaration.now(
            "sim up --after: simulated outage of the primary region")),
        poll=PollPolicy.for_target(target), progress=progress)
    primary = simulation.topology.primary.region
    outcomes: list[StageOutcome] = []
    try:
        simulation.faults.region_outage(primary)
        failover_stages = registry.stages_of("failover")
        for step in failover_stages[:stage if phase == "failover" else None]:
            outcomes.append(_run(step, context))
            progress(outcomes[-1].summary)
        if phase == "failback":  # after failover the primary stays down, as in a game day
            simulation.faults.restore_region(primary)
            for step in registry.stages_of("failback")[:stage]:
                outcomes.append(_run(step, context))
                progress(outcomes[-1].summary)
    finally:
        handles.close()
    return outcomes
