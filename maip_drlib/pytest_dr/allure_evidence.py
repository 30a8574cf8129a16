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
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Generator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from maip_drlib.evidence.redact import Redactor, default_redactor

SIMULATED_PREFIX = "[SIMULATED] "
SIMULATED_NOTE = ("**SIMULATED RUN**: evidence from a simulation of the platform, "
                  "not from production.")
SCALARS = (str, int, float, bool)
_REGION_IN_MESSAGE = re.compile(r"\bregion=([a-z]{2}-[a-z]+-\d)\b")


@dataclass
class _RunFacts:
    """What the session learns once: the reachable target, its handles, the operator."""

    drill_id: str | None
    attempt: int | None
    alluredir: Path
    redactor: Redactor
    target: Any = None
    operator: Any = None
    written_skips: set[str] = field(default_factory=set)
    drill_phase: str | None = None  # the game day's phase (results-<phase>.json), if any


FACTS_KEY = pytest.StashKey[_RunFacts]()
ATTACHED_KEY = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("maip-dr").addoption(
        "--dr-drill-id", default=None, metavar="ID",
        help="Drill id recorded in the Allure labels and executor (default: $MAIP_DR_DRILL_ID).")


def _attempt_of(alluredir: Path) -> int | None:
    match = re.fullmatch(r"attempt-(\d+)", alluredir.parent.name)
    return int(match.group(1)) if match else None


def _listener(config: pytest.Config) -> Any | None:
    """allure-pytest-bdd's listener (it owns the lifecycle and the nodeid -> uuid map)."""
    try:
        from allure_pytest_bdd.pytest_bdd_listener import PytestBDDListener
    except ImportError:
        return None
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, PytestBDDListener):
            return plugin
    return None


@pytest.hookimpl(trylast=True)  # after allure-pytest-bdd registered its listener
def pytest_configure(config: pytest.Config) -> None:
    alluredir = getattr(config.option, "allure_report_dir", None)
    if not alluredir or _listener(config) is None:
        return
    drill_id = config.getoption("--dr-drill-id") or os.environ.get("MAIP_DR_DRILL_ID") or None
    path = Path(alluredir).resolve()
    from maip_drlib.evidence.drill_phases import phase_of_results_file

    config.stash[FACTS_KEY] = _RunFacts(
        drill_id=drill_id, attempt=_attempt_of(path), alluredir=path,
        redactor=default_redactor(),
        drill_phase=phase_of_results_file(config.getoption("--dr-results", default=None)))


def _facts(config: pytest.Config) -> _RunFacts | None:
    return config.stash.get(FACTS_KEY, None)


def _stage_label(item: pytest.Item) -> str | None:
    from maip_drlib.pytest_dr.stages import phase_of, stage_of

    phase = phase_of(item)
    if phase is None:
        return None
    stage = stage_of(item)
    return f"{phase} {stage}" if stage else phase


def _learn_target(request: pytest.FixtureRequest, facts: _RunFacts) -> None:
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


def _static_target(config: pytest.Config) -> Any:
    from maip_drlib.pytest_dr.keys import TARGET_KEY

    return config.stash.get(TARGET_KEY, None)


def _labels(item: pytest.Item, target: Any, facts: _RunFacts) -> list[tuple[str, str]]:
    labels: list[tuple[str, str]] = []
    stage = _stage_label(item)
    if stage:
        labels.append(("stage", stage))
    if target is not None:
        labels += [("target", str(target.name)), ("target_kind", str(target.kind)),
                   ("simulated", "true" if target.simulated else "false")]
    if facts.drill_id:
        labels.append(("drill_id", facts.drill_id))
    return labels


@pytest.hookimpl(trylast=True)
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any,
                               scenario: Any) -> None:
    facts = _facts(request.config)
    if facts is None:
        return
    import allure

    _learn_target(request, facts)
    for name, value in _labels(request.node, facts.target, facts):
        allure.dynamic.label(name, value)


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_after_step(request: pytest.FixtureRequest, feature: Any, scenario: Any,
                          step: Any, step_func: Any, step_func_args: dict[str, Any]) -> None:
    """Attach the StageOutcome a When step returned, to that step, as redacted JSON."""
    facts = _facts(request.config)
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


# -- cleaning the result before allure-pytest-bdd writes it ------------------------------------

def _clean_steps(steps: list[Any], redactor: Redactor) -> set[str]:
    """Keep only parsed step arguments, redacted; return the regions the steps name."""
    regions: set[str] = set()
    for step in steps:
        step.parameters = [p for p in step.parameters if _is_step_text_value(p)]
        for parameter in step.parameters:
            parameter.value = redactor.text(_unquote(str(parameter.value)))
        if step.statusDetails is not None:
            _redact_details(step.statusDetails, redactor)
        regions |= _regions_in(step.name or "")
        regions |= _clean_steps(step.steps, redactor)
    return regions


def _unquote(text: str) -> str:
    """allure's represent() quotes strings ("'primary'"); show the step's own text."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        return value if isinstance(value, str) else text
    return text


def _is_step_text_value(parameter: Any) -> bool:
    # allure-pytest-bdd records every step function argument as repr(); parsed values are
    # scalars, fixtures (dr_context, dr_handles, ...) are objects or carry the dr_ prefix.
    if parameter.name.startswith("dr_") or parameter.name in ("request", "stage_outcome"):
        return False
    text = str(parameter.value)
    return not (text.startswith("<") or re.match(r"^[A-Za-z_][\w.]*\(", text))


def _redact_details(details: Any, redactor: Redactor) -> None:
    if details.message:
        details.message = redactor.text(details.message)
    if details.trace:
        details.trace = redactor.text(details.trace)


def _regions_in(text: str) -> set[str]:
    return set(_REGION_IN_MESSAGE.findall(text)) | {
        role for role, words in (("primary", ("primary region",)),
                                 ("secondary", ("secondary region", "dr region", "in dr")))
        if any(word in text.lower() for word in words)}


def _region_names(roles: set[str], target: Any) -> list[str]:
    names: set[str] = set()
    for role in roles:
        if role == "primary":
            names.add(target.primary.region)
        elif role == "secondary":
            names.add(target.secondary.region)
        else:
            names.add(role)
    return sorted(names)


def _finish_result(item: pytest.Item, report: pytest.TestReport, facts: _RunFacts) -> None:
    listener = _listener(item.config)
    if listener is None:
        return
    uuid = listener.nodeid_to_uuid.get(item.nodeid)
    redactor = facts.redactor
    result = None
    if uuid is not None:  # update_test_case(None) would pick the last test case
        with listener.lifecycle.update_test_case(uuid=uuid) as result:
            if result is not None:
                _clean_result(item, result, facts)
    if result is None:
        skipped = item.stash.get(_SKIPPED_AT_SETUP, None)
        if skipped is not None and item.nodeid not in facts.written_skips:
            facts.written_skips.add(item.nodeid)
            _write_unstarted(item, skipped, facts, listener)
    _redact_sections(report, redactor)


def _clean_result(item: pytest.Item, result: Any, facts: _RunFacts) -> None:
    from allure_commons.model2 import Label

    from maip_drlib.pytest_dr.allure_phase import apply_phase

    apply_phase(item, result, facts.drill_phase)
    redactor = facts.redactor
    roles = _clean_steps(result.steps, redactor)
    if result.statusDetails is not None:
        _redact_details(result.statusDetails, redactor)
        roles |= _regions_in(result.statusDetails.message or "")
    for parameter in result.parameters:
        parameter.value = redactor.text(str(parameter.value))
    target = facts.target or _static_target(item.config)
    if target is None:
        return
    result.labels += [Label(name="region", value=r) for r in _region_names(roles, target)]
    if target.simulated and not (result.name or "").startswith(SIMULATED_PREFIX):
        result.name = SIMULATED_PREFIX + (result.name or "")
        result.description = "\n\n".join(filter(None, [SIMULATED_NOTE, result.description]))


def _redact_sections(report: pytest.TestReport, redactor: Redactor) -> None:
    report.sections = [(title, redactor.text(content)) for title, content in report.sections]


def _write_unstarted(item: pytest.Item, report: pytest.TestReport, facts: _RunFacts,
                     listener: Any) -> None:
    """A scenario skipped before it started: allure-pytest-bdd writes nothing for it."""
    if listener is None:
        return
    from allure_commons.model2 import Label, Status, StatusDetails, TestResult, TestStepResult
    from allure_commons.utils import md5, now, uuid4

    from maip_drlib.pytest_dr.allure_phase import apply_phase
    from maip_drlib.pytest_dr.stages import scenario_name

    template = _scenario_template(item)
    feature_name = (getattr(getattr(template, "feature", None), "name", None)
                    or (getattr(getattr(item, "obj", None), "__doc__", "") or "").split(": ")[0])
    name = scenario_name(item)
    rel = getattr(getattr(template, "feature", None), "rel_filename", None) or item.nodeid
    full_name = f"{os.path.normpath(rel)}:{name}"
    longrepr = report.longrepr
    reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    target = facts.target or _static_target(item.config)
    start = now()
    result = TestResult(uuid=uuid4(), name=name, fullName=full_name, testCaseId=md5(full_name),
                        start=start, stop=start, status=Status.SKIPPED,
                        statusDetails=StatusDetails(message=facts.redactor.text(reason)))
    result.historyId = f"{result.testCaseId}.{md5()}"
    apply_phase(item, result, facts.drill_phase)
    if target is not None and target.simulated:
        result.name = SIMULATED_PREFIX + result.name
        result.description = SIMULATED_NOTE
    for step in getattr(template, "steps", ()):
        result.steps.append(TestStepResult(name=f"{step.keyword} {step.name}",
                                           status=Status.SKIPPED, start=start, stop=start))
    result.labels += [Label(name="feature", value=feature_name),
                      Label(name="framework", value="pytest-bdd")]
    result.labels += [Label(name=n, value=v) for n, v in _labels(item, target, facts)]
    result.labels += [Label(name="tag", value=m.name) for m in item.iter_markers()
                      if not m.args and not m.kwargs and m.name not in ("skip", "usefixtures")]
    with listener.lifecycle.schedule_test_case(uuid=result.uuid) as scheduled:
        scheduled.__dict__.update(result.__dict__)
    listener.lifecycle.write_test_case(uuid=result.uuid)


def _scenario_template(item: pytest.Item) -> Any | None:
    try:
        from pytest_bdd.scenario import scenario_wrapper_template_registry
    except ImportError:
        return None
    function = getattr(item, "function", None)
    return scenario_wrapper_template_registry.get(function) if function is not None else None


_SKIPPED_AT_SETUP = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Innermost wrapper: runs before allure-pytest-bdd's wrapper writes the result."""
    report = yield
    facts = _facts(item.config)
    if facts is None or not isinstance(report, pytest.TestReport):
        return report
    if report.when == "setup" and report.skipped:
        item.stash[_SKIPPED_AT_SETUP] = report
    elif report.when == "teardown":
        _finish_result(item, report, facts)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    facts = _facts(session.config)
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

    target = facts.target or _static_target(session.config)
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
