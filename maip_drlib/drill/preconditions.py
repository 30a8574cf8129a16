"""Where each stage starts: the state it needs before any mutating call (DESIGN.md 4a).

One place, keyed by ``(phase, stage)`` (``PRECONDITIONS``, one per stage of ``registry.STAGES``,
whose words say what each stage needs): what each stage needs, in words,
and a check over observed facts that returns a typed ``PreconditionVerdict`` (what was found,
what is needed, which stage to run first, whether the stage's work is already done). Every
stage function calls ``require(ctx, phase, stage)`` FIRST, before any mutating call and
before ``require_execute``; the Given step "the platform is where this stage starts" calls
the same. A verdict that fails raises ``GuardRefused`` (exit 3) with one line naming the state
found and the stage to run first; every verdict is recorded in ``ctx.decisions``. Work already
done passes (a stage re-run after it succeeded, a resumed drill): the stage then recognises
it and makes no call.

What each stage needs (``check_*`` in ``drill.stage_checks``; the first condition that fails
is reported):

- failover 1: the DR region holds the database replica (or its promoted writer: done).
- failover 2: the DR replica (or its promoted writer: done); the primary writer down or fenced
  (``guards.judge_promotion``: a declared outage with the primary not serving, or a planned
  failover whose fencing holds).
- failover 3: the promoted DR writer (standalone, available) and a declared outage or a
  planned failover.
- failover 4 and 5: the promoted DR writer, and clients reaching the DR region (stage 4
  scales DR for the traffic that stage 3 moved there; stage 5 checks DR serves it).
- failover 3-5 in a declared outage (not planned) ask nothing of the primary region: the RDS
  roles are read in DR only and where clients land is judged by the DR ALB
  (``region_facts``).
- failback 1: a completed failover (the promoted writer in DR).
- failback 2: that, the primary back (its RDS API answers) and its old writer fenced (no
  second writer).
- failback 3: that, and the data resynced (the failback replica in the primary region, under
  either of its names ``topology.primary.rds_instance`` / ``topology.failback_replica``,
  replicating from the DR writer; ``drill.failback_names``).
- failback 4: failback 3's state with the weighted pair at 100/0 to the primary (each record
  aliasing its own region's ALB); or, resumed, the failback replica already promoted (a
  primary-region writer under either name) and the records at 100/0, or the failover pair
  restored (PRIMARY -> primary ALB, SECONDARY -> DR ALB) with that writer the only one. Two
  writers with the pair as before the drill is an old writer restored beside the DR writer
  (failback 1's to fence), not a resumed stage 4.

Facts are read lazily through a ``PlatformView`` (only what a check asks for); tests give a
plain object with the same attributes. The facts and the verdict are in ``drill.stage_state``,
the checks in ``drill.stage_checks``; this module holds one ``Precondition`` per stage and
``require``. Not supported: preconditions of readiness and RPO scenarios; the planner does not
judge preconditions (it models its own calls forward).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from maip_drlib.drill import region_facts, registry
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.stage_checks import (
    check_dr_takes_traffic,
    check_failback_1,
    check_failback_2,
    check_failback_3,
    check_failback_4,
    check_failover_1,
    check_failover_2,
    check_failover_3,
    dr_writer_of,
)
from maip_drlib.drill.stage_state import (
    PlatformView,
    PreconditionVerdict,
    RouteFacts,
    StageKey,
    StageState,
)
from maip_drlib.errors import GuardRefused

# Stages that must not ask a primary declared down (issue 14 item 6; region_facts.py).
_WITHOUT_PRIMARY: frozenset[StageKey] = frozenset({("failover", 3), ("failover", 4),
                                                   ("failover", 5)})


@dataclass(frozen=True)
class Precondition:
    """What one stage needs, in words, and the check that judges it."""

    phase: str
    stage: int
    needs: str
    check: Callable[[StageState], PreconditionVerdict]


_CHECKS: dict[StageKey, Callable[[StageState], PreconditionVerdict]] = {
    ("failover", 1): check_failover_1,
    ("failover", 2): check_failover_2,
    ("failover", 3): check_failover_3,
    ("failover", 4): check_dr_takes_traffic(("failover", 4)),
    ("failover", 5): check_dr_takes_traffic(("failover", 5)),
    ("failback", 1): check_failback_1,
    ("failback", 2): check_failback_2,
    ("failback", 3): check_failback_3,
    ("failback", 4): check_failback_4,
}
# One per stage of the registry, in its words (a stage without a check fails at import).
PRECONDITIONS: dict[StageKey, Precondition] = {
    (stage.phase, stage.number): Precondition(stage.phase, stage.number, stage.needs,
                                              _CHECKS[(stage.phase, stage.number)])
    for stage in registry.STAGES
}


def precondition(phase: str, stage: int) -> Precondition:
    try:
        return PRECONDITIONS[(phase, stage)]
    except KeyError:
        raise KeyError(f"no precondition for {phase} {stage}") from None


def evaluate(state: StageState, phase: str, stage: int) -> PreconditionVerdict:
    """The verdict of ``(phase, stage)`` over ``state`` (no recording, no raising)."""
    return precondition(phase, stage).check(state)


def require(ctx: DrillContext, phase: str, stage: int,
            state: StageState | None = None) -> PreconditionVerdict:
    """Judge, record in ``ctx.decisions`` and refuse (``GuardRefused``) when not met."""
    if state is None:
        state = PlatformView(ctx)
        if getattr(state, "skip_primary", None) is False:  # a real view, not a test's fake
            state.skip_primary = ((phase, stage) in _WITHOUT_PRIMARY
                                  and region_facts.primary_declared_down(ctx))
    verdict = evaluate(state, phase, stage)
    decision = verdict.decision or (
        "precondition met: work already done" if verdict.already_done and verdict.ok
        else "precondition met" if verdict.ok else "refused: precondition not met")
    ctx.decisions.record(verdict.name, decision, found=verdict.found, needed=verdict.needed,
                         run_first=verdict.run_first, **verdict.evidence)
    if not verdict.ok:
        raise GuardRefused(verdict.message())
    return verdict


__all__ = ["PRECONDITIONS", "PlatformView", "Precondition", "PreconditionVerdict",
           "RouteFacts", "StageState", "dr_writer_of", "evaluate", "precondition", "require"]
