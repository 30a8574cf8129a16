"""The step catalogue (``maip-dr steps``): every step the feature files use is in it, every
entry says what it checks or does, and the command prints it (text, --grep, --json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_bdd.parser import FeatureParser
from pytest_bdd.steps import step_function_context_registry

from maip_drlib.cli import cli
from maip_drlib.drill.pytest_runner import scenarios_root
from maip_drlib.step_catalogue import catalogue, load_catalogue, render

pytestmark = pytest.mark.unit

ROOT = scenarios_root()
FEATURE_FILES = sorted((ROOT / "features").glob("*.feature")) + sorted(
    (ROOT / "examples" / "own-checks").glob("*.feature"))


def _used_steps(path: Path) -> list[tuple[str, str]]:
    feature = FeatureParser(str(path.parent), path.name).parse()
    steps = []
    for template in feature.scenarios.values():
        for step in [*(feature.background.steps if feature.background else []),
                     *template.steps]:
            steps.append((step.type, step.name))
    return steps


def test_every_step_the_feature_files_use_is_in_the_catalogue() -> None:
    entries = {entry.source for entry in load_catalogue()}
    contexts = [context for context in step_function_context_registry.values()
                if context.step_func.__module__.startswith("steps.")]
    assert len(FEATURE_FILES) >= 6  # ours and the example
    for path in FEATURE_FILES:
        for kind, text in _used_steps(path):
            matching = [c for c in contexts if c.type in (kind, None)
                        and c.parser.is_matching(text)]
            assert matching, f"{path.name}: {kind} {text!r} has no step definition"
            sources = {f"{c.step_func.__module__}:{c.step_func.__name__}" for c in matching}
            assert sources & entries, f"{path.name}: {text!r} not in the catalogue"


def test_every_entry_has_a_description_and_typed_parameters() -> None:
    entries = load_catalogue()
    assert len(entries) >= 50
    for entry in entries:
        assert entry.description and entry.description != "(no description)", entry.source
        assert entry.keyword in ("Given", "When", "Then"), entry
        for parameter in entry.parameters:
            assert "{" + parameter.name + "}" in entry.phrase or parameter.kind in (
                "data table", "doc string"), entry
    phrases = {entry.phrase: entry for entry in entries}
    lag = phrases["the RDS replica lag is under {seconds} seconds"]
    assert [(p.name, p.kind) for p in lag.parameters] == [("seconds", "number")]
    named = phrases['the RDS instance "{identifier}" in the {role} region is available']
    assert [(p.name, p.kind) for p in named.parameters] == [
        ("identifier", "text"), ("role", "primary or secondary")]
    secrets = phrases["these secrets the services need are replicated to DR:"]
    assert [(p.name, p.kind) for p in secrets.parameters] == [("datatable", "data table")]


def test_only_the_steps_package_is_listed() -> None:
    load_catalogue()
    assert all(entry.source.startswith("steps.") for entry in catalogue())
    assert catalogue("no_such_package") == []


def test_the_command_prints_greps_and_documents_the_catalogue() -> None:
    runner = CliRunner()
    text = runner.invoke(cli, ["steps"])
    assert text.exit_code == 0, text.output
    assert text.output.startswith(render(load_catalogue()))
    grep = runner.invoke(cli, ["steps", "--grep", "deployment \"{name}\""])
    assert grep.exit_code == 0
    assert grep.output.count("\nThen the deployment \"{name}\"") + grep.output.startswith(
        "Then the deployment") == 3
    assert grep.output.rstrip().endswith("3 steps")
    document = runner.invoke(cli, ["--json", "steps", "--grep", "RTO budget"])
    assert document.exit_code == 0
    data = json.loads(document.stdout)
    assert data == {"steps": [{
        "keyword": "Given", "phrase": "the RTO budget of this stage is {minutes} minutes",
        "parameters": [{"name": "minutes", "kind": "number"}],
        "description": data["steps"][0]["description"], "source": "steps.common_steps:rto_budget"}]}
    assert "RTO budget" in data["steps"][0]["description"]
    missing = runner.invoke(cli, ["steps", "--grep", "no such phrase"])
    assert "--grep: no step matches 'no such phrase'" in str(missing.exception)
