"""The drill's stages, declared once.

Each ``Stage`` says: its phase and number, its title (the Gherkin scenario that describes it
in ``features/``), what it needs before any mutating call (the words of its precondition:
``preconditions.py`` builds its checks from these entries), the function that carries it out
(``module:function`` in ``maip_drlib.drill``, imported when first run), the function that plans
it (``plans``: its mutating calls from the dry-run planner's model, ``plan_failover.py`` and
``plan_failback.py``), and whether it mutates the platform (``@destructive``). Readers:

- ``preconditions.PRECONDITIONS`` (one per stage here, with the check of the same key);
- ``planner.plan_drill``, which plans the stages in this order, each with its ``plans``;
- ``parse_stage`` for ``sim up --after``, ``gameday --resume-from`` and the ``stage`` command;
- ``drill/rehearse.py``, which runs the stages in this order to reach a practice state;
- the pytest plugin's stage numbers (``pytest_dr/stages.py``);
- ``tests/drill/test_registry.py``, which checks ``features/`` against it (every failover and
  failback scenario is a stage here, with the same title, number and ``@destructive`` tag, and
  an RTO budget step; ``rto_budget_minutes`` reads that budget).

The game day's phases around the stages (readiness, outage, failover, RPO, hold, restore,
failback, readiness again) are declared once, in order, in ``evidence/drill_phases.PHASES``
(the report, the timeline and the merge of a drill's results read them there).

Not supported (yet): ``gameday.py`` still carries the phases out in its own code (one pytest
process per phase), not by walking that table; stage arguments other than the defaults
(the Gherkin's thresholds reach the stages through the step definitions, not through this
table).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maip_drlib.errors import ConfigError

if TYPE_CHECKING:
    from maip_drlib.drill.context import DrillContext
    from maip_drlib.drill.outcome import PlannedCall, StageOutcome
    from maip_drlib.drill.plan_model import PlanModel

PHASES = ("failover", "failback")
STAGE_TEXT = re.compile(r"^(?P<phase>[a-z]+):(?P<number>\d+)$")
STEP_KEYWORDS = ("Given", "When", "Then", "And", "But", "*")
RTO_STEP = re.compile(r"^\s*Given the RTO budget of this stage is (?P<minutes>\d+(?:\.\d+)?) "
                      r"minutes?\s*$")


@dataclass(frozen=True)
class Stage:
    """One stage of the drill."""

    phase: str
    number: int
    title: str
    needs: str
    runs: str  # "module:function" under maip_drlib.drill
    destructive: bool = True

    @property
    def plans(self) -> str:
        """``plan_<phase>:stage_<n>``: the function listing its calls for the dry-run plan."""
        return f"plan_{self.phase}:stage_{self.number}"

    @property
    def name(self) -> str:
        """``failover 2``, as the journal, decisions and errors name it."""
        return f"{self.phase} {self.number}"

    @property
    def key(self) -> str:
        """``failover:2``, as the command line takes it."""
        return f"{self.phase}:{self.number}"

    def runner(self) -> Callable[[DrillContext], StageOutcome]:
        """The function that carries the stage out, with its default arguments."""
        found: Any = _function(self.runs)
        return found  # type: ignore[no-any-return]

    def planner(self) -> Callable[[DrillContext, PlanModel], list[PlannedCall]]:
        """The function that lists the stage's mutating calls from the planner's model."""
        found: Any = _function(self.plans)
        return found  # type: ignore[no-any-return]


def _function(name: str) -> object:
    module, function = name.split(":")
    return getattr(importlib.import_module(f"maip_drlib.drill.{module}"), function)


STAGES: tuple[Stage, ...] = (
    Stage("failover", 1, "The primary region is down, or fenced in a planned failover",
          "the DR database replica", "failover:stage_1_primary_down"),
    Stage("failover", 2, "The DR replica becomes a standalone writer",
          "the DR replica; the primary down or fenced", "failover:stage_2_promote"),
    Stage("failover", 3, "Clients reach the DR load balancer",
          "the promoted DR writer; a declared or planned outage", "failover:stage_3_route_clients"),
    Stage("failover", 4, "DR is scaled to the failover capacity",
          "the promoted DR writer; clients on DR", "failover:stage_4_scale_dr"),
    Stage("failover", 5, "DR serves traffic",
          "the promoted DR writer; clients on DR", "failover:stage_5_dr_serves"),
    Stage("failback", 1, "The primary infrastructure is back and the old writer takes no writes",
          "a completed failover (the promoted DR writer)", "failback:stage_1_primary_restored"),
    Stage("failback", 2, "Data is resynced to the primary region",
          "the primary back; its old writer fenced", "failback:stage_2_resync"),
    Stage("failback", 3, "Traffic shifts back gradually and stops on degradation",
          "the primary back; old writer fenced; data resynced", "failback:stage_3_weighted_shift"),
    Stage("failback", 4, "The platform is back in its steady state",
          "weights 100/0 to the primary; the records' targets", "failback:stage_4_steady_state"),
)
_BY_KEY = {(stage.phase, stage.number): stage for stage in STAGES}


def stages_of(phase: str) -> tuple[Stage, ...]:
    """The stages of ``phase``, in order."""
    return tuple(stage for stage in STAGES if stage.phase == phase)


def stage(phase: str, number: int, *, key: str = "stage") -> Stage:
    """The stage ``phase number``; a ConfigError naming ``key`` and the valid stages."""
    try:
        return _BY_KEY[(phase, number)]
    except KeyError:
        raise ConfigError(f"no stage {phase} {number}: expected {valid_stages()}",
                          key=key) from None


def parse_stage(text: str, *, key: str) -> Stage:
    """``failover:3`` -> that stage; a ConfigError naming ``key`` for anything else."""
    match = STAGE_TEXT.match(text.strip())
    found = _BY_KEY.get((match.group("phase"), int(match.group("number")))) if match else None
    if found is None:
        raise ConfigError(f"expected {valid_stages()}, got {text!r}", key=key)
    return found


def valid_stages() -> str:
    """``failover:1..5 or failback:1..4``, from the table."""
    return " or ".join(f"{phase}:1..{len(stages_of(phase))}" for phase in PHASES)


def scenario_steps(stage_: Stage, features: Path) -> tuple[str, ...]:
    """The step lines (stripped) of ``stage_``'s scenario in ``features/<phase>.feature``."""
    path = features / f"{stage_.phase}.feature"
    steps: list[str] = []
    in_scenario = False
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text.startswith(("Scenario:", "Scenario Outline:")):
            if in_scenario:
                break
            in_scenario = text.split(":", 1)[1].strip() == stage_.title
        elif in_scenario and text.split(" ", 1)[0] in STEP_KEYWORDS:
            steps.append(text)
    return tuple(steps)


def step_text(stage_: Stage, features: Path, keyword: str) -> str | None:
    """The first ``keyword`` step of ``stage_``'s scenario, without the keyword."""
    return next((line.split(" ", 1)[1] for line in scenario_steps(stage_, features)
                 if line.split(" ", 1)[0] == keyword), None)


def rto_budget_minutes(stage_: Stage, features: Path) -> float | None:
    """The RTO budget the Gherkin gives ``stage_`` ("Given the RTO budget of this stage is N
    minutes"); None without one."""
    for line in scenario_steps(stage_, features):
        if match := RTO_STEP.match(line):
            return float(match.group("minutes"))
    return None
