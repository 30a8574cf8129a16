"""Each Allure result's identity in its drill phase (used by ``allure_evidence``).

A game day runs the readiness scenarios twice, before and after the drill, as two phases of
its pytest session. allure-pytest-bdd names a result by its feature file and scenario
(``fullName``; ``testCaseId`` = md5 of it; ``historyId`` = ``testCaseId`` + md5 of the
parameters) and Allure 3 recomputes the test case from ``fullName`` alone: the run after the
drill would be read as retries of the run before it (same test, later attempt) and hidden
behind it. Here every result is put in its phase (``maip_drlib.evidence.drill_phases``):

- ``fullName`` is prefixed with the phase key (``readiness-after:features/readiness.feature:
  ...``) and ``testCaseId`` is md5 of that, so ``historyId`` (computed from it afterwards by
  allure-pytest-bdd) differs per phase too; history across drills links the same scenario in
  the same phase;
- labels ``parentSuite`` (the phase in drill order: "1. readiness before the drill", the
  report's grouping), ``suite`` (the Gherkin feature) and ``drill_phase`` (the key);
- the name says the stage ("failover 2: ...") or, after the drill, "(after the drill)", so a
  result reads right outside its group too (categories, search).

The phase is the game day's (the session's current phase, ``allure_evidence.enter_phase``;
for a run by hand ``--dr-results .../results-<phase>.json``), else the scenario's marker
(``@readiness``, ``@failover``...), else "other". Not supported: telling apart two runs of
one phase in one attempt (they stay retries, as a resumed stage is).
"""

from __future__ import annotations

from typing import Any

import pytest

from maip_drlib.evidence.drill_phases import group_name, qualified_full_name

PHASE_LABELS = ("parentSuite", "suite", "subSuite", "drill_phase")
AFTER_SUFFIX = " (after the drill)"


def phase_key(item: pytest.Item, drill_phase: str | None) -> str:
    from maip_drlib.pytest_dr.stages import phase_of

    return drill_phase or phase_of(item) or "other"


def feature_name(item: pytest.Item) -> str | None:
    """The Gherkin feature's name, from pytest-bdd's scenario template; None without one."""
    try:
        from pytest_bdd.scenario import scenario_wrapper_template_registry
    except ImportError:
        return None
    function = getattr(item, "function", None)
    template = scenario_wrapper_template_registry.get(function) if function else None
    name = getattr(getattr(template, "feature", None), "name", None)
    return str(name) if name else None


def display_name(item: pytest.Item, name: str, key: str) -> str:
    """``name`` with the stage in front ("failover 2: ...") or "(after the drill)" behind."""
    from maip_drlib.pytest_dr.stages import phase_of, stage_of

    stage = stage_of(item)
    phase = phase_of(item)
    if stage is not None and phase and not name.startswith(f"{phase} {stage}: "):
        name = f"{phase} {stage}: {name}"
    if key == "readiness-after" and not name.endswith(AFTER_SUFFIX):
        name += AFTER_SUFFIX
    return name


def apply_phase(item: pytest.Item, result: Any, drill_phase: str | None) -> str:
    """Give ``result`` (an allure ``TestResult``) its phase's identity, labels and name;
    return the phase key. ``historyId`` is left to allure-pytest-bdd (it derives it from
    ``testCaseId``) unless the result already has one (a result this suite writes itself)."""
    from allure_commons.model2 import Label
    from allure_commons.utils import md5

    key = phase_key(item, drill_phase)
    if result.fullName:
        result.fullName = qualified_full_name(key, result.fullName)
        result.testCaseId = md5(result.fullName)
        if result.historyId:
            result.historyId = f"{result.testCaseId}.{result.historyId.rsplit('.', 1)[-1]}"
    result.labels = [label for label in result.labels if label.name not in PHASE_LABELS]
    result.labels += [Label(name="parentSuite", value=group_name(key)),
                      Label(name="drill_phase", value=key)]
    feature = feature_name(item)
    if feature:
        result.labels.append(Label(name="suite", value=feature))
    result.name = display_name(item, result.name or "", key)
    return key
