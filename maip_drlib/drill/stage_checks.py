"""The check of each stage's precondition over observed facts (``check_failover_1`` ...).

Each check reads a ``StageState`` and returns a ``PreconditionVerdict``; the first condition
that fails is reported, with the stage to run first. The list of what each stage needs, in
words, is ``drill.preconditions``' docstring and ``drill.registry``'s entries. Not supported:
checks that call the platform themselves (they read only what ``StageState`` offers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from maip_drlib.config import Topology
from maip_drlib.drill import failback_names
from maip_drlib.drill.guards import dr_replica, judge_promotion
from maip_drlib.drill.stage_state import PreconditionVerdict, StageKey, StageState
from maip_drlib.facts import DbInstanceFact, RdsRoles
from maip_drlib.probes import rds as rds_probes

# --- Conditions shared by several stages -----------------------------------------------------


def dr_writer_of(roles: RdsRoles, topology: Topology) -> DbInstanceFact | None:
    """The writer in the DR region (the promoted instance), if any."""
    region = topology.secondary.region
    return next((w for w in roles.writers if w.region == region), None)


def _verdict(state: StageState, key: StageKey, ok: bool, found: str, needed: str,
             **extra: Any) -> PreconditionVerdict:
    return PreconditionVerdict(key[0], key[1], ok, found, needed, **extra)


def _dr_unreachable(state: StageState) -> str | None:
    region = state.topology.secondary.region
    return next((str(u) for u in state.roles.unreachable_regions if u.region == region), None)


def _promoted(state: StageState, key: StageKey) -> PreconditionVerdict | None:
    """None when the DR writer is promoted (standalone, available); else the refusal."""
    needed = "the promoted DR writer (standalone, available)"
    unreachable = _dr_unreachable(state)
    if unreachable:
        return _verdict(state, key, False, unreachable, needed,
                        hint="the DR RDS API must answer")
    writer = dr_writer_of(state.roles, state.topology)
    if writer is None or writer.status != "available" or writer.source:
        found = (f"no writer in the DR region ({state.roles})" if writer is None
                 else f"the DR writer not yet available ({writer})")
        return _verdict(state, key, False, found, needed, run_first="failover 2"
                        if key[0] == "failover" else "the failover (failover 1-5)")
    return None


def _clients_on_dr(state: StageState, key: StageKey) -> PreconditionVerdict | None:
    region, seen = state.clients
    if region == state.topology.secondary.region:
        return None
    return _verdict(state, key, False, f"clients not on DR: {seen}",
                    f"clients reaching the DR region ({state.topology.secondary.region})",
                    run_first="failover 3")


def _primary_back_and_fenced(state: StageState, key: StageKey,
                             promoted: DbInstanceFact) -> PreconditionVerdict | None:
    region = state.topology.primary.region
    unreachable = next((str(u) for u in state.roles.unreachable_regions
                        if u.region == region), None)
    needed = "the primary back and its old writer fenced"
    if unreachable:
        return _verdict(state, key, False, f"the primary is not back: {unreachable}", needed,
                        run_first="failback 1")
    others = [w for w in state.roles.writers if w != promoted]
    if others:
        return _verdict(state, key, False, "an old writer beside the promoted one (split "
                        f"brain): {', '.join(map(str, others))}", needed,
                        run_first="failback 1")
    return None


def _resynced(state: StageState, key: StageKey,
              promoted: DbInstanceFact) -> PreconditionVerdict | None:
    topo = state.topology
    if failback_names.failback_replica(state.roles, topo, promoted) is not None:
        return None
    names = " or ".join(rds_probes.primary_writer_names(topo))
    return _verdict(state, key, False, f"no failback replica ({names}) in "
                    f"{topo.primary.region} replicating from {promoted.identifier} "
                    f"({state.roles})",
                    "the data resynced (the failback replica replicating from the DR writer)",
                    run_first="failback 2")


# --- Failover ------------------------------------------------------------------------------


def check_failover_1(state: StageState) -> PreconditionVerdict:
    key: StageKey = ("failover", 1)
    needed = "the DR region holding the database replica (or its promoted writer)"
    unreachable = _dr_unreachable(state)
    if unreachable:
        return _verdict(state, key, False, unreachable, needed,
                        hint="the DR RDS API must answer")
    writer = dr_writer_of(state.roles, state.topology)
    if writer is not None:
        return _verdict(state, key, True, f"already promoted: {writer}", needed,
                        already_done=True)
    replica = dr_replica(state.roles, state.topology)
    if replica is None:
        return _verdict(state, key, False, f"no single DR replica ({state.roles})", needed,
                        hint="no stage creates it: restore the DR replica (readiness shows it)")
    return _verdict(state, key, True, str(replica), needed)


def check_failover_2(state: StageState) -> PreconditionVerdict:
    key: StageKey = ("failover", 2)
    needed = "the DR replica, and the primary down (declared outage) or fenced (planned)"
    unreachable = _dr_unreachable(state)
    if unreachable:
        return _verdict(state, key, False, unreachable, needed,
                        hint="the DR RDS API must answer")
    writer = dr_writer_of(state.roles, state.topology)
    if writer is not None:
        done = "already promoted" if writer.status == "available" else "promotion in progress"
        return _verdict(state, key, True, f"{done}: {writer}", needed,
                        already_done=writer.status == "available")
    replica = dr_replica(state.roles, state.topology)
    if replica is None:
        return _verdict(state, key, False, f"no single DR replica ({state.roles})", needed,
                        hint="no stage creates it: restore the DR replica")
    if replica.status != "available":
        return _verdict(state, key, True, f"promotion in progress or replica busy: {replica}",
                        needed)
    primary, options = state.primary_writer, state.options
    planned_serving = options.planned and primary.serving
    fencing = state.fencing if planned_serving else None
    lag = state.replica_lag if planned_serving else None
    judgement = judge_promotion(primary, options, fencing, lag)
    evidence: dict[str, Any] = {"primary_writer": str(primary), "serving": primary.serving,
                                "planned": options.planned}
    if fencing is not None:
        evidence.update(fencing=str(fencing), replica_lag=str(lag) if lag else None)
    if options.declared_outage is not None:
        declared = options.declared_outage
        evidence.update(declared_by=declared.declared_by, declared_at=declared.declared_at,
                        declared_reason=declared.reason)
    if judgement.allowed:
        return _verdict(state, key, True, str(primary), needed, decision=judgement.decision,
                        evidence=evidence)
    return _verdict(state, key, False, str(primary), needed, decision=judgement.decision,
                    hint=judgement.message.removeprefix("failover 2: "), evidence=evidence,
                    run_first="failover 1" if options.planned else None)


def check_failover_3(state: StageState) -> PreconditionVerdict:
    key: StageKey = ("failover", 3)
    refused = _promoted(state, key)
    if refused is not None:
        return refused
    options = state.options
    if options.declared_outage is None and not options.planned:
        return _verdict(state, key, False, "no outage declared and not a planned failover",
                        "a declared outage or a planned failover",
                        hint="run with --dr-declare-outage REASON or --dr-planned")
    how = "planned failover" if options.planned else "declared outage"
    return _verdict(state, key, True, f"promoted DR writer; {how}", "the promoted DR writer "
                    "and a declared or planned outage")


def check_dr_takes_traffic(key: StageKey) -> Callable[[StageState], PreconditionVerdict]:
    def check(state: StageState) -> PreconditionVerdict:
        refused = _promoted(state, key) or _clients_on_dr(state, key)
        if refused is not None:
            return refused
        return _verdict(state, key, True, f"promoted DR writer; clients: {state.clients[1]}",
                        "the promoted DR writer and clients on DR")
    return check


# --- Failback ------------------------------------------------------------------------------


def check_failback_1(state: StageState) -> PreconditionVerdict:
    key: StageKey = ("failback", 1)
    refused = _promoted(state, key)
    if refused is not None:
        return refused
    promoted = dr_writer_of(state.roles, state.topology)
    return _verdict(state, key, True, f"failover done: {promoted}",
                    "a completed failover (the promoted DR writer)")


def check_failback_2(state: StageState) -> PreconditionVerdict:
    key: StageKey = ("failback", 2)
    refused = _promoted(state, key)
    if refused is not None:
        return refused
    promoted = dr_writer_of(state.roles, state.topology)
    assert promoted is not None
    refused = _primary_back_and_fenced(state, key, promoted)
    return refused or _verdict(state, key, True, str(state.roles),
                               "the primary back and its old writer fenced")


def check_failback_3(state: StageState) -> PreconditionVerdict:
    key: StageKey = ("failback", 3)
    refused = _promoted(state, key)
    if refused is not None:
        return refused
    promoted = dr_writer_of(state.roles, state.topology)
    assert promoted is not None
    refused = (_primary_back_and_fenced(state, key, promoted)
               or _resynced(state, key, promoted))
    return refused or _verdict(state, key, True, str(state.roles), "the primary back, its "
                               "old writer fenced and the data resynced")


def check_failback_4(state: StageState) -> PreconditionVerdict:
    key: StageKey = ("failback", 4)
    topo = state.topology
    needed = ("weights at 100/0 to the primary (primary record -> primary ALB, DR record -> "
              "DR ALB) and the failback replica replicating from the DR writer")
    failback = failback_names.primary_writer(state.roles, topo)
    split = state.roles.split_brain
    if failback is not None:  # resumed after the promotion: the records must agree
        route = state.route
        if route.weighted_back or (route.pair_restored and not split):
            return _verdict(state, key, True, f"already promoted: {failback}; {route}", needed,
                            already_done=route.pair_restored)
        if not split:
            return _verdict(state, key, False, f"traffic not back on the primary: {route}",
                            needed, hint="the failback replica is already promoted: point "
                            "the records at the primary ALB by hand, then re-run")
        # Two writers, traffic not weighted back: an old writer restored beside the DR writer
        # (either name may be the old writer); the checks below refuse it (failback 1).
    refused = _promoted(state, key)
    if refused is not None:
        return refused
    promoted = dr_writer_of(state.roles, state.topology)
    assert promoted is not None
    refused = (_primary_back_and_fenced(state, key, promoted)
               or _resynced(state, key, promoted))
    if refused is not None:
        return refused
    route = state.route
    if not route.weighted_back:
        return _verdict(state, key, False, f"traffic not back on the primary: {route}",
                        needed, run_first="failback 3")
    return _verdict(state, key, True, f"weights 100/0 to the primary; {state.roles}", needed)

