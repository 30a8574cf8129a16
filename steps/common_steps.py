"""Steps every stage shares: the RTO budget, and where the stage starts."""

from __future__ import annotations

import pytest
from pytest_bdd import given, parsers

from maip_drlib.drill import preconditions
from maip_drlib.drill.context import DrillContext
from maip_drlib.pytest_dr.stages import phase_of, set_rto_budget, stage_of


@given(parsers.parse("the RTO budget of this stage is {minutes:g} minutes"))
def rto_budget(request: pytest.FixtureRequest, minutes: float) -> None:
    """Sets the stage's RTO budget in simulated minutes; over it the stage fails its RTO verdict,
    not the drill."""
    set_rto_budget(request.node, minutes)


@given("the platform is where this stage starts")
def stage_precondition(request: pytest.FixtureRequest, dr_context: DrillContext) -> None:
    """The stage's precondition (``maip_drlib.drill.preconditions``), keyed by the scenario's
    phase and ``@stage_N`` tags; the stage function checks it again before any call."""
    phase, stage = phase_of(request.node), stage_of(request.node)
    if phase is None or stage is None:
        raise ValueError(f"{request.node.nodeid}: no @failover/@failback and @stage_N tags")
    print(preconditions.require(dr_context, phase, stage).found)
