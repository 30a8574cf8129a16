"""Each drill phase's scenarios are their own Allure results: the readiness run after the
drill is not a retry of the one before it (maip_drlib/pytest_dr/allure_phase.py,
maip_drlib/evidence/drill_phases.py).

Allure 3 derives a result's test case from ``fullName`` and its history (and retries) from
that plus the parameters; allure-pytest-bdd derives ``historyId`` from ``testCaseId``. Both
must differ between the two readiness phases, and the ``parentSuite`` must name the phase in
drill order.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from maip_drlib.evidence import drill_phases
from maip_drlib.pytest_dr.allure_phase import AFTER_SUFFIX, apply_phase

pytestmark = pytest.mark.unit

FULL_NAME = "features/readiness.feature:Both EKS clusters are active with every node Ready"


class _Item:
    """The little of a pytest item that apply_phase reads: markers and the test function."""

    def __init__(self, *markers: str):
        self._markers = set(markers)
        self.function = None

    def get_closest_marker(self, name: str) -> Any:
        return SimpleNamespace(name=name) if name in self._markers else None


def _result(full_name: str = FULL_NAME) -> Any:
    from allure_commons.model2 import Label, TestResult
    from allure_commons.utils import md5

    return TestResult(uuid="u", name="Both EKS clusters are active with every node Ready",
                      fullName=full_name, testCaseId=md5(full_name),
                      labels=[Label(name="stage", value="readiness")])


def _labels(result: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for label in result.labels:
        out.setdefault(label.name, []).append(label.value)
    return out


def test_the_phases_are_in_drill_order() -> None:
    assert drill_phases.KEYS == ("readiness", "outage", "failover", "rpo", "hold", "restore",
                                 "failback", "readiness-after")
    names = [drill_phases.group_name(k) for k in drill_phases.KEYS]
    assert names[0] == "1. readiness before the drill"
    assert names[-1] == "8. readiness after the drill"
    assert sorted(names) == names  # sorted by name is drill order too
    assert drill_phases.order_of("something else") == len(drill_phases.KEYS)


@pytest.mark.parametrize(("path", "phase"), [
    ("reports/d/attempt-1/results-readiness.json", "readiness"),
    ("reports/d/attempt-1/results-readiness-after.json", "readiness-after"),
    ("results-failback.json", "failback"),
    ("results-failback.decisions.json", None),
    ("results-unknown.json", None),
    ("out.json", None),
    (None, None),
])
def test_the_phase_of_a_game_days_results_file(path: str | None, phase: str | None) -> None:
    assert drill_phases.phase_of_results_file(Path(path) if path else None) == phase


def test_readiness_before_and_after_are_two_tests_not_a_retry() -> None:
    from allure_pytest_bdd.utils import get_history_id

    before, after = _result(), _result()
    assert apply_phase(_Item("readiness"), before, "readiness") == "readiness"
    assert apply_phase(_Item("readiness"), after, "readiness-after") == "readiness-after"

    assert before.fullName == "readiness:" + FULL_NAME
    assert after.fullName == "readiness-after:" + FULL_NAME
    assert before.testCaseId != after.testCaseId
    # allure-pytest-bdd computes historyId from testCaseId after this hook ran
    assert (get_history_id(before.testCaseId, [], {})
            != get_history_id(after.testCaseId, [], {}))
    assert _labels(before)["parentSuite"] == ["1. readiness before the drill"]
    assert _labels(after)["parentSuite"] == ["8. readiness after the drill"]
    assert _labels(after)["drill_phase"] == ["readiness-after"]
    assert _labels(after)["stage"] == ["readiness"]  # the other labels are kept
    assert after.name.endswith(AFTER_SUFFIX) and not before.name.endswith(AFTER_SUFFIX)


def test_applying_twice_changes_nothing_more() -> None:
    result = _result()
    apply_phase(_Item("readiness"), result, "readiness-after")
    first = (result.fullName, result.testCaseId, result.name, _labels(result))
    apply_phase(_Item("readiness"), result, "readiness-after")
    assert (result.fullName, result.testCaseId, result.name, _labels(result)) == first


def test_a_stage_says_its_number_and_keeps_a_history_id_it_was_given() -> None:
    from allure_commons.utils import md5

    result = _result("features/failover.feature:The DR replica becomes a standalone writer")
    result.name = "The DR replica becomes a standalone writer"
    result.historyId = f"{result.testCaseId}.{md5()}"
    apply_phase(_Item("failover", "stage_2"), result, None)  # no game day: the marker's phase
    assert result.name == "failover 2: The DR replica becomes a standalone writer"
    assert _labels(result)["parentSuite"] == ["3. failover"]
    assert result.historyId == f"{result.testCaseId}.{md5()}"
    assert result.testCaseId == md5("failover:features/failover.feature:"
                                    "The DR replica becomes a standalone writer")


def test_a_scenario_of_no_known_phase_is_other() -> None:
    result = _result("features/team.feature:Our own check")
    apply_phase(_Item(), result, None)
    assert _labels(result)["parentSuite"] == ["other"]
    assert result.fullName == "other:features/team.feature:Our own check"
