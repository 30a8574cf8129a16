"""The dry-run planner (DESIGN.md section 4, "Dry run is a planner").

``plan_drill`` observes the CURRENT state with probes only (``plan_model.observe``: no mutating
call, no ``--dr-execute`` needed) and lists every mutating call the whole drill would make, in
order, assuming its own planned calls succeed: it walks the stages of ``registry.STAGES`` and
asks each stage's planner (``Stage.plans``: ``plan_failover.py``, ``plan_failback.py``) for its
calls, each moving the model forward (after the planned promotion the DR instance is the
writer, after failover 4 the DR deployments run at the failover replicas, ...). The failover
planners use the very decision functions the stages execute (``call_builders``); the failback
calls are described in ``plan_failback.py``. With database access (``target.database``)
failover 2 also lists its one data-plane write (an ``insert`` into the canary table of the
promoted database, ``service`` "postgresql"); the game day's canary writes before the outage are
not stage calls and are not listed.

Not supported: predicting Route 53 health-check failover (the plan lists the explicit change
with its condition; stage 3 skips it when the pair already switched), guards (a plan lists
calls, it does not judge whether ``guard_promotion`` would allow them; its predictions are
recorded in the decision log), DynamoDB and MSK writes other than failback 2's heartbeats, and
values only known after a call (new ARNs are derived from the promoted instance's account).
"""

from __future__ import annotations

from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.outcome import PlannedCall
from maip_drlib.drill.plan_failback import FAILBACK_2, FAILBACK_4, FAILBACK_WEIGHTS
from maip_drlib.drill.plan_model import WEIGHTED_SET_IDENTIFIERS, observe
from maip_drlib.drill.registry import PHASES, stages_of

__all__ = ["FAILBACK_2", "FAILBACK_4", "FAILBACK_WEIGHTS", "WEIGHTED_SET_IDENTIFIERS",
           "PlannedCall", "plan_drill"]


def plan_drill(ctx: DrillContext, *, phases: tuple[str, ...] = PHASES) -> list[PlannedCall]:
    """Every mutating call of the drill's ``phases`` from the current state; none is made."""
    unknown = set(phases) - set(PHASES)
    if unknown:
        raise ValueError(f"unknown phases {sorted(unknown)}; use failover and/or failback")
    ctx.say("planning from the current state (read-only)")
    model = observe(ctx)
    calls: list[PlannedCall] = []
    for phase in PHASES:
        if phase in phases:
            for stage in stages_of(phase):
                calls += stage.planner()(ctx, model)
    ctx.decisions.record("plan", f"{len(calls)} mutating calls planned", phases=list(phases),
                         notes=model.notes, planned=ctx.options.planned)
    return calls
