"""A failed check's expected and observed values travel into the phase's results (and so
``maip-dr readiness --json`` and ``summary.json``) as fields of their own, redacted like the
rest; other failures leave them empty."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from maip_drlib.errors import CheckFailed, GuardRefused
from maip_drlib.pytest_dr.stages import StageTracker

pytestmark = pytest.mark.unit


def _item(nodeid: str) -> SimpleNamespace:
    return SimpleNamespace(nodeid=nodeid, name=nodeid, stash={},
                           get_closest_marker=lambda name: None)


def _report() -> SimpleNamespace:
    return SimpleNamespace(skipped=False, failed=True, when="call", duration=0.1,
                           longrepr="")


def test_a_failed_checks_expected_and_observed_are_fields(tmp_path: Path) -> None:
    tracker = StageTracker(time_scale=None)
    failed = CheckFailed("RDS replica lag over threshold", region="us-west-2",
                         resource="replica", expected="<= 60s", observed="61.5s")
    tracker.finish(_item("t::lag"), _report(), failed)  # type: ignore[arg-type]
    tracker.finish(_item("t::guard"), _report(),  # type: ignore[arg-type]
                   GuardRefused("refused: no consent"))
    tracker.write(tmp_path / "results.json")
    rows = {row["nodeid"]: row for row in json.loads((tmp_path / "results.json").read_text())}
    assert (rows["t::lag"]["expected"], rows["t::lag"]["observed"]) == ("<= 60s", "61.5s")
    assert rows["t::lag"]["message"] == str(failed)
    assert rows["t::guard"]["expected"] is None and rows["t::guard"]["observed"] is None
