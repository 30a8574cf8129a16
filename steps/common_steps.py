"""Steps every stage shares: the RTO budget."""

from __future__ import annotations

import pytest
from pytest_bdd import given, parsers

from maip_drlib.pytest_dr.stages import set_rto_budget


@given(parsers.parse("the RTO budget of this stage is {minutes:g} minutes"))
def rto_budget(request: pytest.FixtureRequest, minutes: float) -> None:
    set_rto_budget(request.node, minutes)
