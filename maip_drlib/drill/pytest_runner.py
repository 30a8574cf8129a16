"""One phase of Gherkin scenarios in a pytest session of this process (``maip-dr readiness``
and ``stage``), its results read back typed; a game day's phases share one session instead
(``drill/gameday.py``, ``pytest_dr/session_phases.py``).

The scenarios run from a clone's top folder, or from the copy a wheel install carries in
``maip_drlib/_scenarios`` (``maip_drlib.scenarios_home``). Not supported: an installation with
neither (one line says so, exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from maip_drlib.drill.drill_run import DrillRun
from maip_drlib.drill.stage_result import PhaseRun, StageResult
from maip_drlib.evidence.redact import Redactor
from maip_drlib.scenarios_home import scenarios_home

if TYPE_CHECKING:
    from maip_drlib.pytest_dr.session_phases import PhaseRunner


def scenarios_root() -> Path:
    """The pytest root of the scenarios: the clone's top, else the packaged copy."""
    return scenarios_home()


def read_results(path: Path) -> tuple[StageResult, ...]:
    """The rows of a ``results-<phase>.json`` file, typed (none when it was not written)."""
    import json

    if not path.exists():
        return ()
    return tuple(StageResult.from_row(row) for row in json.loads(path.read_text()))


def run_scenarios(phase: str, *required_markers: str, results_path: Path,
                  dr_args: list[str], extra_args: list[str], allure_dir: Path | None = None,
                  redactor: Redactor | None = None, drill: DrillRun | None = None) -> PhaseRun:
    """The scenarios with every one of ``required_markers`` (``readiness``; ``failover``,
    ``stage_2``) as phase ``phase`` of one pytest session; output streams to the terminal
    through ``redactor`` when given."""
    from maip_drlib.drill.phase_selection import with_markers
    from maip_drlib.pytest_dr.session_run import run_session

    args = ["--dr-results", str(results_path), *dr_args]
    if allure_dir is not None:
        args += ["--alluredir", str(allure_dir)]
    select = with_markers(*required_markers)

    def walk(runner: PhaseRunner) -> PhaseRun:
        return runner.run(phase, select)

    outcome = run_session(walk, args=[*args, *extra_args], drill=drill,
                          phases=required_markers[:1], redactor=redactor)
    if outcome.walked is not None:
        return outcome.walked
    return PhaseRun(phase=phase, exit_code=outcome.exit_code, results=read_results(results_path))
