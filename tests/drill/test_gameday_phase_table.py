"""The game day carries out the phases ``evidence/drill_phases.PHASES`` declares, in that
order, through one table (``gameday.PHASE_STEPS``): a phase declared without its step, or a
step for a phase the declaration does not know, fails here; so does a resume that would enter
the drill at an unknown phase."""

from __future__ import annotations

import pytest

from maip_drlib.drill.gameday import PHASE_STEPS, RESUME_ENTRY
from maip_drlib.evidence import drill_phases

pytestmark = pytest.mark.unit


def test_every_declared_phase_has_its_step_in_the_declared_order() -> None:
    assert tuple(PHASE_STEPS) == drill_phases.KEYS


def test_a_resume_enters_at_a_declared_phase_before_its_own() -> None:
    assert set(RESUME_ENTRY) == {"readiness", "failover", "failback"}
    for resumed, entry in RESUME_ENTRY.items():
        assert drill_phases.order_of(entry) <= drill_phases.order_of(resumed)
