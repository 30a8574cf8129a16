"""How long the drill's waits may take, in platform seconds, and their floor on a simulation.

The deadlines of the stages' waits (promotion, replica lag, Route 53 changes, clients
following a record change, node groups, deployments, fencing) are platform seconds: on a
simulation whose clock runs ``time_scale`` times faster, ``deadline_s`` turns them into real
seconds, never below ``MIN_SIMULATED_DEADLINE_S`` (pods, HTTP and polls are not scaled).

Not supported: per-target overrides of these figures (they are the runbook's orders of
magnitude, not tuning knobs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maip_drlib.drill.context import DrillContext

# Deadlines in simulated (or live) seconds; a simulation's time_scale shrinks the clock only.
PROMOTION_DEADLINE_S = 1800.0
LAG_ZERO_DEADLINE_S = 900.0
ROUTE53_DEADLINE_S = 300.0
CLIENTS_SWITCH_DEADLINE_S = 300.0
# Beyond a DNS answer's TTL: resolvers re-asking, the authoritative servers taking the change.
DNS_TTL_MARGIN_S = 30.0
NODEGROUP_DEADLINE_S = 900.0
DEPLOYMENTS_DEADLINE_S = 900.0
FENCE_DEADLINE_S = 300.0
# Real seconds a wait gets at least against a simulation (pods, HTTP and polls are not scaled).
MIN_SIMULATED_DEADLINE_S = 20.0


def deadline_s(ctx: DrillContext, seconds: float) -> float:
    """``seconds`` of platform time in real seconds for this target (a floor for simulations)."""
    scale = ctx.target.time_scale
    if not ctx.target.simulated or not scale:
        return seconds
    return max(MIN_SIMULATED_DEADLINE_S, seconds * scale / 60.0)


def clients_switch_deadline_s(ttl_s: float | None) -> float:
    """How long clients may take to follow a record change, in platform seconds: the answer's
    TTL plus a margin when a DNS server gave one (a resolver may cache it that long), else
    ``CLIENTS_SWITCH_DEADLINE_S``; never more than that."""
    if ttl_s is None:
        return CLIENTS_SWITCH_DEADLINE_S
    return min(CLIENTS_SWITCH_DEADLINE_S, ttl_s + DNS_TTL_MARGIN_S)
