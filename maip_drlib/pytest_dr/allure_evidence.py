"""Allure evidence of the drill (allure-pytest-bdd): labels, stage facts, safe parameters, and
the run's environment and executor files.

Active only with ``--alluredir`` (allure-pytest-bdd loaded; never allure-pytest). For every
scenario it adds the labels ``stage`` ("failover 2", "readiness"), ``region`` (where the
steps name the primary/secondary/DR region or a failure names ``region=...``), ``target``,
``target_kind``, ``drill_id`` (``--dr-drill-id`` or ``MAIP_DR_DRILL_ID``) and ``simulated``
(the Gherkin ``feature`` label is kept), and puts it in its drill phase (``allure_phase``:
``fullName``, ``testCaseId``, ``historyId`` and ``parentSuite`` per phase, so the readiness
run after a game day is no retry of the one before it; the phase is the game day's, from
``--dr-results .../results-<phase>.json``). A simulated run also gets a ``[SIMULATED]`` name
prefix and a first description line, which Allure 3's awesome report shows on every test page.
Each ``StageOutcome`` a When step returns (``target_fixture="stage_outcome"``) is attached to
that step as redacted JSON. Step parameters keep only the values parsed from the step text
(fixture arguments such as ``dr_context`` are dropped), redacted. Scenarios skipped before
they start (``@destructive`` without ``--dr-execute``, later stages after a failure) are
written as skipped results with the reason, so the report lists every stage. At session end
``environment.properties``, ``executor.json`` and ``categories.json`` land in the alluredir.

Not supported: allure-pytest (non-BDD tests get no results here), scenario outlines' example
values beyond redaction, and attachments other pytest plugins write.

The hooks are here; the run's facts and labels are ``allure_run``, the cleaning of results
``allure_results``.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from maip_drlib.evidence.redact import Redactor, default_redactor
from maip_drlib.pytest_dr.allure_results import SKIPPED_AT_SETUP, finish_result
from maip_drlib.pytest_dr.allure_run import (
    ATTACHED_KEY,
    FACTS_KEY,
    RunFacts,
    attempt_of,
    facts_of,
    labels_of,
    listener_of,
    static_target,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("maip-dr").addoption(
        "--dr-drill-id", default=None, metavar="ID",
        help="Drill id recorded in the Allure labels and executor (default: $MAIP_DR_DRILL_ID).")



@pytest.hookimpl(trylast=True)  # after allure-pytest-bdd registered its listener
def pytest_configure(config: pytest.Config) -> None:
    alluredir = getattr(config.option, "allure_report_dir", None)
    if not alluredir or listener_of(config) is None:
        return
    from maip_drlib.pytest_dr.keys import drill_id_of

    drill_id = drill_id_of(config)
    path = Path(alluredir).resolve()
    from maip_drlib.evidence.drill_phases import phase_of_results_file

    config.stash[FACTS_KEY] = RunFacts(
        drill_id=drill_id, attempt=attempt_of(path), alluredir=path,
        redactor=default_redactor(),
        drill_phase=phase_of_results_file(config.getoption("--dr-results", default=None)))


def enter_phase(config: pytest.Config, phase: str) -> None:
    """A game day's session starts its phase ``phase``: the results that follow are put in
    it, and a scenario skipped again in this phase is written again."""
    from maip_drlib.evidence.drill_phases import KEYS

    facts = facts_of(config)
    if facts is not None:  # a single stage ("failover-2") is put in its scenario's phase
        facts.drill_phase = phase if phase in KEYS else None
        facts.written_skips.clear()



def _learn_target(request: pytest.FixtureRequest, facts: RunFacts) -> None:
    """Once per session: the reachable target, known secrets of a live session, operator."""
    if facts.target is not None:
        return
    from maip_drlib.evidence.allure_meta import operator_of

    facts.target = request.getfixturevalue("dr_target")
    handles = request.getfixturevalue("dr_handles")
    if not facts.target.simulated:
        _add_session_secrets(handles, facts.redactor)
    facts.operator = operator_of(handles)


def _add_session_secrets(handles: Any, redactor: Redactor) -> None:
    from botocore.exceptions import BotoCoreError

    for handle in handles:
        try:
            credentials = handle.session.get_credentials()
            frozen = credentials.get_frozen_credentials() if credentials else None
        except BotoCoreError:
            continue
        if frozen is not None:
            for secret in (frozen.secret_key, frozen.token):
                if secret:
                    redactor.add(secret)


@pytest.hookimpl(trylast=True)
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any,
                               scenario: Any) -> None:
    facts = facts_of(request.config)
    if facts is None:
        return
    import allure

    _learn_target(request, facts)
    for name, value in labels_of(request.node, facts.target, facts):
        allure.dynamic.label(name, value)


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_after_step(request: pytest.FixtureRequest, feature: Any, scenario: Any,
                          step: Any, step_func: Any, step_func_args: dict[str, Any]) -> None:
    """Attach the StageOutcome a When step returned, to that step, as redacted JSON."""
    facts = facts_of(request.config)
    if facts is None or str(getattr(step, "type", "")).lower() != "when":
        return
    from maip_drlib.drill.outcome import StageOutcome

    try:
        outcome = request.getfixturevalue("stage_outcome")
    except pytest.FixtureLookupError:
        return
    if not isinstance(outcome, StageOutcome) or request.node.stash.get(
            ATTACHED_KEY, None) == id(outcome):
        return
    request.node.stash[ATTACHED_KEY] = id(outcome)
    attach_json(f"stage outcome: {outcome.stage}", _jsonable(asdict(outcome)), facts.redactor)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def attach_json(name: str, data: Any, redactor: Redactor | None = None) -> None:
    """Attach ``data`` as redacted JSON to the current Allure step or test."""
    import allure

    redactor = redactor or default_redactor()
    allure.attach(json.dumps(redactor.value(_jsonable(data)), indent=2, sort_keys=True),
                  name=name, attachment_type=allure.attachment_type.JSON)



@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Innermost wrapper: runs before allure-pytest-bdd's wrapper writes the result."""
    report = yield
    facts = facts_of(item.config)
    if facts is None or not isinstance(report, pytest.TestReport):
        return report
    if report.when == "setup" and report.skipped:
        item.stash[SKIPPED_AT_SETUP] = report
    elif report.when == "teardown":
        finish_result(item, report, facts)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    facts = facts_of(session.config)
    if facts is None or not facts.alluredir.is_dir():
        return
    from maip_drlib.evidence.allure_meta import (
        environment_properties,
        executor_info,
        operator_of,
        write_categories,
        write_environment,
        write_executor,
    )
    from maip_drlib.pytest_dr.keys import OPTIONS_KEY

    target = facts.target or static_target(session.config)
    if target is None:
        return
    operator = facts.operator or operator_of(None, "no scenario ran")
    options = session.config.stash.get(OPTIONS_KEY, None)
    config_path = options.config_path if options is not None else None
    props = environment_properties(target, drill_id=facts.drill_id, attempt=facts.attempt,
                                   config_path=config_path, operator=operator)
    write_environment(facts.alluredir, props, facts.redactor)
    write_executor(facts.alluredir, executor_info(operator=operator, drill_id=facts.drill_id,
                                                  attempt=facts.attempt, target=target),
                   facts.redactor)
    write_categories(facts.alluredir)
