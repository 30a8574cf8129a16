"""Bring a simulation to the state a drill has after a given stage, by running the real stages.

``maip-dr sim up --after failover:3`` uses it, for practice and for tests of single stages and
resumes: the state is what the suite's own stages produce, not a hand-made imitation.
Simulations only: it injects the primary-region outage itself, through the simulation's own
fault switches. The simulation is handed in by the caller (``cli_sim``, the edge): this module
only knows its shape (``RehearsalPlatform``) and never imports ``maip_drlib.sim``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from maip_drlib.config import Target, Topology
from maip_drlib.drill import failback, failover
from maip_drlib.drill.context import (
    DrillContext,
    DrillOptions,
    OutageDeclaration,
    PollPolicy,
    SyntheticRequest,
)
from maip_drlib.drill.outcome import StageOutcome
from maip_drlib.errors import ConfigError
from maip_drlib.regions import build_region_handles
from maip_drlib.resolvers import resolver_for
from maip_drlib.write_gate import WriteGate

AFTER = re.compile(r"^(failover|failback):([1-5])$")
FAILOVER_STAGES: tuple[Callable[[DrillContext], StageOutcome], ...] = (
    failover.stage_1_primary_down,
    failover.stage_2_promote,
    failover.stage_3_route_clients,
    failover.stage_4_scale_dr,
    lambda ctx: failover.stage_5_dr_serves(ctx, SyntheticRequest()),
)
FAILBACK_STAGES: tuple[Callable[[DrillContext], StageOutcome], ...] = (
    failback.stage_1_primary_restored,
    failback.stage_2_resync,
    lambda ctx: failback.stage_3_weighted_shift(
        ctx, soak_s=ctx.real_seconds(0.5), max_5xx_per_min=5, max_latency_s=1.5),
    failback.stage_4_steady_state,
)


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
    match = AFTER.match(text)
    if not match or (match.group(1) == "failback" and int(match.group(2)) > 4):
        raise ConfigError(f"expected failover:1..5 or failback:1..4, got {text!r}",
                          key="--after")
    return match.group(1), int(match.group(2))


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
        count = stage if phase == "failover" else len(FAILOVER_STAGES)
        for run in FAILOVER_STAGES[:count]:
            outcomes.append(run(context))
            progress(outcomes[-1].summary)
        if phase == "failback":  # after failover the primary stays down, as in a game day
            simulation.faults.restore_region(primary)
            for run in FAILBACK_STAGES[:stage]:
                outcomes.append(run(context))
                progress(outcomes[-1].summary)
    finally:
        handles.close()
    return outcomes
