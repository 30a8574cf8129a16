"""A drill's phases as ordered parts of one pytest session.

``maip-dr gameday`` (and ``readiness`` and ``stage``, which have one phase) run pytest once,
in their own process. ``DrillSession`` is the plugin they register: it hands the session
their drill run (``drill/drill_run.py``), keeps the scenarios of the drill's phases, and
replaces pytest's test loop with the command's own walk, which runs phases through a
``PhaseRunner`` and does the rest of the drill (canaries, outage, hold, restore) between them.

Each phase runs its selected scenarios in drill order and ends with every fixture torn down,
session-scoped ones included, so the next phase starts from fresh handles and a fresh drill
context, as a new process would. Per phase it has its own stage tracker (a failed failover
stage skips the later failover stages, not the readiness after the drill), its own results
file (``results-<phase>.json`` and its decisions), its own outage declaration (readiness before
an injected outage runs without one) and its own Allure phase. A scenario may run in two
phases (readiness before and after the drill): pytest re-runs the same item.

A ``pytest.exit`` inside a phase (a lost lease before a destructive scenario, a guard's stop)
ends that phase with its code, as the end of a process did; the walk decides what follows.
Ctrl-C and SIGTERM end the session: pytest tears down and writes what it has, and the command
re-raises the interruption once ``pytest.main`` has returned. Any other error of the walk is
kept and re-raised the same way, after the session closed cleanly.

Not supported: ``--collect-only`` runs no phase; pytest's ``--lf``/``--ff`` (the cache plugin
is off for drills); xdist.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Generic, TypeVar

import pytest

from maip_drlib.drill.drill_run import DrillRun
from maip_drlib.drill.phase_selection import Select
from maip_drlib.drill.stage_result import PhaseRun
from maip_drlib.pytest_dr.keys import DRILL_RUN_KEY, OPTIONS_KEY, TARGET_KEY
from maip_drlib.pytest_dr.stages import PHASE_ORDER, StageTracker, drill_order_key, phase_of

Walk = TypeVar("Walk")


class PhaseRunner:
    """Runs the session's items of one phase at a time (see the module's docstring)."""

    def __init__(self, session: pytest.Session, drill: DrillRun | None) -> None:
        self.session = session
        self.drill = drill
        self._options = session.config.stash[OPTIONS_KEY]

    def run(self, phase: str, select: Select, *, declare_outage: bool = True) -> PhaseRun:
        """Run the selected items as phase ``phase``; its results, and its exit code as a
        pytest process would have had it (0, 1 a failure, 5 nothing selected, or a stop's)."""
        session = self.session
        items = sorted((item for item in session.items if select(item)), key=drill_order_key)
        results_path = self.drill.results_file(phase) if self.drill is not None else \
            self._options.results_path
        tracker = self._enter(phase, results_path, declare_outage)
        failed_before = session.testsfailed
        session.shouldfail = session.shouldstop = False  # -x stops a phase, as it did a process
        code: int | None = None
        try:
            for index, item in enumerate(items):
                following = items[index + 1] if index + 1 < len(items) else None
                item.ihook.pytest_runtest_protocol(item=item, nextitem=following)
                if session.shouldfail or session.shouldstop:
                    break
        except pytest.exit.Exception as stop:  # a guard or a lost lease stopped the phase
            code = stop.returncode if stop.returncode is not None else 2
            self._tear_down()
        finally:
            self._leave(tracker, results_path)
        if code is None:
            code = 5 if not items else (1 if session.testsfailed > failed_before else 0)
        return PhaseRun(phase=phase, exit_code=code, results=tuple(tracker.results.values()))

    def _enter(self, phase: str, results_path: Path | None,
               declare_outage: bool) -> StageTracker:
        from maip_drlib.pytest_dr.allure_evidence import enter_phase
        from maip_drlib.pytest_dr.operator import CONTEXT_KEY
        from maip_drlib.pytest_dr.plugin import TRACKER_KEY

        config = self.session.config
        options = dataclasses.replace(
            self._options, results_path=results_path,
            declare_outage=self._options.declare_outage if declare_outage else None)
        config.stash[OPTIONS_KEY] = options
        tracker = StageTracker(config.stash[TARGET_KEY].time_scale)
        config.stash[TRACKER_KEY] = tracker
        if CONTEXT_KEY in config.stash:  # the last phase's context and decisions
            del config.stash[CONTEXT_KEY]
        enter_phase(config, phase)
        return tracker

    def _leave(self, tracker: StageTracker, results_path: Path | None) -> None:
        from maip_drlib.pytest_dr.operator import CONTEXT_KEY, write_decisions

        if results_path is None:
            return
        tracker.write(results_path)
        context = self.session.config.stash.get(CONTEXT_KEY, None)
        if context is not None:
            write_decisions(results_path, context.decisions)

    def _tear_down(self) -> None:
        """After a stop inside a phase: tear down what was set up, as pytest's own end of a
        session does (its runner calls the same ``teardown_exact(None)``; the teardown hooks
        of other plugins would expect the stopped item's call phase to have finished), so the
        next phase starts clean."""
        self.session._setupstate.teardown_exact(None)


class DrillSession(Generic[Walk]):
    """The plugin of a command's one pytest session (registered with ``pytest.main``)."""

    def __init__(self, walk: Callable[[PhaseRunner], Walk], *, drill: DrillRun | None,
                 phases: Iterable[str] = tuple(PHASE_ORDER)) -> None:
        self.walk = walk
        self.drill = drill
        self.phases = frozenset(phases)
        self.outcome: Walk | None = None
        self.started = False  # the walk began (collection passed)
        self.escaped: BaseException | None = None  # re-raised by the command after pytest

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        if self.drill is not None:
            config.stash[DRILL_RUN_KEY] = self.drill

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        kept = [item for item in items if phase_of(item) in self.phases]
        if len(kept) != len(items):
            kept_ids = {id(item) for item in kept}
            config.hook.pytest_deselected(items=[i for i in items if id(i) not in kept_ids])
            items[:] = kept

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            raise session.Interrupted(f"{session.testsfailed} error(s) during collection")
        if session.config.option.collectonly:
            return True
        self.started = True
        try:
            self.outcome = self.walk(PhaseRunner(session, self.drill))
        except pytest.exit.Exception:
            raise  # pytest ends the session with its code
        except KeyboardInterrupt as stop:
            self.escaped = stop  # pytest tears down and writes; the command re-raises it
            raise
        except Exception as error:  # re-raised by the command after pytest
            self.escaped = error
        return True
