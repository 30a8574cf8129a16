"""Cleaning each Allure result before allure-pytest-bdd writes it, and writing unstarted ones.

Step parameters keep only values parsed from the step text, redacted; failure details and
captured sections are redacted; the ``region`` labels come from what steps and failures name;
a simulated run gets the ``[SIMULATED]`` prefix and note; a scenario skipped before it started
is written as a skipped result with its steps (``finish_result``, called at teardown). Not
supported: scenario outlines' example values beyond redaction.
"""

from __future__ import annotations

import ast
import os
import re
from typing import Any

import pytest

from maip_drlib.evidence.redact import Redactor
from maip_drlib.pytest_dr.allure_run import (
    REGION_IN_MESSAGE,
    SIMULATED_NOTE,
    SIMULATED_PREFIX,
    RunFacts,
    labels_of,
    listener_of,
    static_target,
)

SKIPPED_AT_SETUP = pytest.StashKey[pytest.TestReport]()


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
    return set(REGION_IN_MESSAGE.findall(text)) | {
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


def finish_result(item: pytest.Item, report: pytest.TestReport, facts: RunFacts) -> None:
    listener = listener_of(item.config)
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
        skipped = item.stash.get(SKIPPED_AT_SETUP, None)
        if skipped is not None and item.nodeid not in facts.written_skips:
            facts.written_skips.add(item.nodeid)
            _write_unstarted(item, skipped, facts, listener)
    _redact_sections(report, redactor)


def _clean_result(item: pytest.Item, result: Any, facts: RunFacts) -> None:
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
    target = facts.target or static_target(item.config)
    if target is None:
        return
    result.labels += [Label(name="region", value=r) for r in _region_names(roles, target)]
    if target.simulated and not (result.name or "").startswith(SIMULATED_PREFIX):
        result.name = SIMULATED_PREFIX + (result.name or "")
        result.description = "\n\n".join(filter(None, [SIMULATED_NOTE, result.description]))


def _redact_sections(report: pytest.TestReport, redactor: Redactor) -> None:
    report.sections = [(title, redactor.text(content)) for title, content in report.sections]


def _write_unstarted(item: pytest.Item, report: pytest.TestReport, facts: RunFacts,
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
    target = facts.target or static_target(item.config)
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
    result.labels += [Label(name=n, value=v) for n, v in labels_of(item, target, facts)]
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

