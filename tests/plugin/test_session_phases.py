"""A drill's phases as ordered parts of one pytest session (``pytest_dr/session_phases.py``),
on synthetic scenarios in this process: each phase runs its own selection in drill order with
its own tracker and results file, a scenario can run in two phases, the walk runs its own code
between phases, and a stop inside a phase (``pytest.exit``) ends that phase only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maip_drlib.drill.drill_run import DrillRun
from maip_drlib.drill.evidence_dirs import next_attempt
from maip_drlib.drill.phase_selection import from_stage, with_markers
from maip_drlib.drill.stage_result import PhaseRun
from maip_drlib.evidence.journal import Journal, read_journal
from maip_drlib.evidence.redact import Redactor
from maip_drlib.pytest_dr.session_phases import DrillSession, PhaseRunner

pytestmark = pytest.mark.unit

pytest_plugins = ["pytester"]

READINESS = """
@readiness
Feature: Synthetic readiness
  Scenario: Checked before and after
    When check one runs

  Scenario: Checked before only
    When check two runs
"""

FAILOVER = """
@failover
Feature: Synthetic failover
  @stage_2
  Scenario: Second
    When stage 2 runs

  @stage_1
  Scenario: First
    When stage 1 runs

  @stage_3
  Scenario: Third
    When stage 3 runs
"""

STEPS = """
import pytest
from pytest_bdd import parsers, scenarios, when
from maip_drlib.errors import CheckFailed

scenarios("features")

def _log(text):
    with open("order.txt", "a") as out:
        out.write(text + "\\n")

@when(parsers.parse("check {{name}} runs"))
def check(name):
    _log(f"check {{name}}")

@when(parsers.parse("stage {{n:d}} runs"))
def stage(n):
    _log(f"stage {{n}}")
    if n == {stop_at}:
        pytest.exit("a guard stopped the drill", returncode=3)
    if n == {fail_at}:
        raise CheckFailed("synthetic failure", region="us-west-2", resource="stage")
"""

CONFTEST = """
pytest_plugins = ["maip_drlib.pytest_dr.plugin", "maip_drlib.pytest_dr.fixtures",
                  "maip_drlib.pytest_dr.journal_hooks"]
"""


def _project(pytester: pytest.Pytester, *, stop_at: int = 0, fail_at: int = 0) -> Path:
    (pytester.path / "features").mkdir()
    (pytester.path / "features" / "readiness.feature").write_text(READINESS)
    (pytester.path / "features" / "failover.feature").write_text(FAILOVER)
    pytester.makepyfile(test_synthetic=STEPS.format(stop_at=stop_at, fail_at=fail_at))
    pytester.makeconftest(CONFTEST)
    config = pytester.path / "c.toml"
    config.write_text("[targets.rehearsal]\nkind = 'embedded'\ntime_scale = 0.05\n")
    return config


def _drill(tmp_path: Path) -> DrillRun:
    attempt = next_attempt(tmp_path / "reports", "session-phases")
    journal = Journal.open(attempt.path, drill_id=attempt.drill_id, attempt=attempt.number,
                           redactor=Redactor())
    return DrillRun(attempt=attempt, journal=journal)


def _walk(between: list[str]):
    def walk(runner: PhaseRunner) -> list[PhaseRun]:
        runs = [runner.run("readiness", with_markers("readiness"))]
        between.append("outage")  # the walk's own work between phases
        runs.append(runner.run("failover", from_stage("failover", 1)))
        runs.append(runner.run("readiness-after",
                               with_markers("readiness", name_without=["before_only"])))
        return runs
    return walk


def _three_phases(pytester: pytest.Pytester, tmp_path: Path, **faults: int) -> list[PhaseRun]:
    """Readiness, failover and readiness-after of the synthetic project with ``faults``."""
    config = _project(pytester, **faults)
    drill = _drill(tmp_path)
    plugin = DrillSession(_walk([]), drill=drill)
    pytester.inline_run("-p", "no:cacheprovider", "--dr-config", str(config), "--dr-execute",
                        plugins=[plugin])
    drill.journal.close()
    return plugin.outcome or []


def _order(pytester: pytest.Pytester) -> list[str]:
    return (pytester.path / "order.txt").read_text().splitlines()


def test_phases_run_in_order_in_one_session_with_their_own_results(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    config = _project(pytester)
    drill = _drill(tmp_path)
    between: list[str] = []
    plugin = DrillSession(_walk(between), drill=drill)
    pytester.inline_run("-p", "no:cacheprovider", "--dr-config", str(config), "--dr-execute",
                        plugins=[plugin])
    drill.journal.close()
    assert plugin.started and plugin.escaped is None
    readiness, failover, after = plugin.outcome or []
    assert _order(pytester) == ["check one", "check two", "stage 1", "stage 2", "stage 3",
                                "check one"]
    assert between == ["outage"]
    assert [r.stage for r in failover.results] == [1, 2, 3]
    assert (readiness.exit_code, failover.exit_code, after.exit_code) == (0, 0, 0)
    assert [r.scenario for r in after.results] == ["Checked before and after"]
    files = sorted(p.name for p in drill.attempt.path.glob("results-*.json"))
    assert files == ["results-failover.json", "results-readiness-after.json",
                     "results-readiness.json"]
    written = json.loads(drill.results_file("readiness").read_text())
    assert {row["scenario"] for row in written} == {"Checked before and after",
                                                    "Checked before only"}
    stage_starts = [r for r in read_journal(drill.attempt.path / "journal.jsonl")
                    if r["kind"] == "stage.start"]
    assert len(stage_starts) == 6  # the session wrote to the drill run's journal


def test_a_failure_skips_later_stages_of_its_phase_only(pytester: pytest.Pytester,
                                                       tmp_path: Path) -> None:
    _readiness, failover, after = _three_phases(pytester, tmp_path, fail_at=2)
    assert failover.exit_code == 1 and failover.failed
    assert [r.outcome for r in failover.results] == ["passed", "failed", "skipped"]
    assert after.exit_code == 0 and [r.outcome for r in after.results] == ["passed"]


def test_a_stop_inside_a_phase_ends_that_phase_with_its_code(pytester: pytest.Pytester,
                                                            tmp_path: Path) -> None:
    _readiness, failover, after = _three_phases(pytester, tmp_path, stop_at=2)
    assert failover.exit_code == 3 and failover.failed
    assert "stage 3" not in _order(pytester)
    assert [r.stage for r in failover.results] == [1]  # what ran before the stop is kept
    assert after.exit_code == 0 and _order(pytester)[-1] == "check one"


def test_an_error_of_the_walk_is_kept_for_the_command(pytester: pytest.Pytester,
                                                     tmp_path: Path) -> None:
    config = _project(pytester)

    def walk(runner: PhaseRunner) -> None:
        runner.run("readiness", with_markers("readiness"))
        raise LookupError("the walk's own failure")

    plugin = DrillSession(walk, drill=_drill(tmp_path))
    pytester.inline_run("-p", "no:cacheprovider", "--dr-config", str(config), plugins=[plugin])
    assert isinstance(plugin.escaped, LookupError)
    assert _order(pytester) == ["check one", "check two"]
