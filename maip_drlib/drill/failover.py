"""The five failover stages of DESIGN.md section 4, one function each, over a ``DrillContext``.

Every stage is idempotent: it first observes the current state, decides the mutating calls it
needs with the same pure functions the dry-run planner uses (``call_builders.py``), and makes
only those (behind ``require_execute``). Re-running a stage after an interruption recognises an
already promoted writer, an already scaled node group or deployment, and an already applied
Route 53 change, and then makes no call. Deadlines are platform seconds (``deadlines.py``).

Where a stage starts: each stage first calls ``preconditions.require`` (before any mutating
call and before ``require_execute``); a state it cannot start from is refused (exit 3) naming
what was found and the stage to run first (failover 2's promotion guard is part of it).
Planned failover (stage 1, ``planned_fence.py``): after the deployments are at 0, the stage
waits until no pod of the services is left and, with database access, no service session
remains on the old writer (``guards.observe_fencing``), then for replica lag zero; the
evidence is recorded.

Route 53 (stage 3): clients are first asked where they land (``ctx.resolver``). If they already
reach the DR ALB (the failover pair switched on its own because the primary health check
failed), nothing changes. Otherwise ONE atomic change batch UPSERTs the PRIMARY failover record
to alias the DR ALB (DNS name and canonical zone id read from ELBv2), without the primary's
health check and with ``EvaluateTargetHealth``; the pair stays a pair (never the runbook's
simple-alias UPSERT, which Route 53 rejects beside it). Failback 4 restores the pair.

Where clients land (``clients_landing.py``): the target's resolver answers the public name.
Stage 3 waits for the answer to move within the answer's TTL plus ``DNS_TTL_MARGIN_S`` when a
DNS server gave a TTL (else ``CLIENTS_SWITCH_DEADLINE_S``). Not supported: Aurora, fencing at
the database.

Data plane (only when the target has database access, ``target.database``; without it stage 2
is exactly the control-plane check): once RDS reads the promoted instance available, stage 2
proves it commits a real write (``actions.postgres.accepts_writes``, a row of kind ``write``
in the suite's canary table, behind ``require_execute``) and records it as a decision. The row
is keyed by the drill id the caller passes (``drill_id``), else by
``drill_ids.STAGE_DRILL_ID``; failback stage 2's continuity check looks for the same key. Not
supported: IAM tokens against the simulation, a write check on a live target whose login may
not create the canary schema.

``maip_drlib.actions.kube`` is imported inside the functions that scale: it loads the kubernetes
package (about 0.6 s), which collecting the scenarios does not need.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from maip_drlib.actions import eks as eks_actions
from maip_drlib.actions import rds as rds_actions
from maip_drlib.actions import route53 as route53_actions
from maip_drlib.drill import preconditions, region_facts, synthetic
from maip_drlib.drill.call_builders import (
    desired_replicas,
    dr_writer,
    failover_pair_changes,
    nodegroup_calls,
    promotion_calls,
    scale_deployments_calls,
)
from maip_drlib.drill.clients_landing import (
    api_hostname,
    clients_answer,
    clients_region,
    route53_control_plane,
    route_state,
)
from maip_drlib.drill.context import DrillContext, SyntheticRequest
from maip_drlib.drill.deadlines import (
    DEPLOYMENTS_DEADLINE_S,
    DNS_TTL_MARGIN_S,
    NODEGROUP_DEADLINE_S,
    PROMOTION_DEADLINE_S,
    ROUTE53_DEADLINE_S,
    clients_switch_deadline_s,
    deadline_s,
)
from maip_drlib.drill.drill_ids import data_plane_drill_id
from maip_drlib.drill.guards import (
    dr_replica,
    primary_writer_state,
    require_execute,
)
from maip_drlib.drill.outcome import StageOutcome
from maip_drlib.drill.planned_fence import fence_primary
from maip_drlib.errors import CheckFailed, WaitFailed, WaitTimeout
from maip_drlib.facts import (
    ApiUnreachable,
)
from maip_drlib.probes import eks as eks_probes
from maip_drlib.probes import endpoint as endpoint_probes
from maip_drlib.probes import error_code
from maip_drlib.probes import kube as kube_probes
from maip_drlib.probes import rds as rds_probes
from maip_drlib.regions import RegionHandle
from maip_drlib.waits import WaitSpec, wait_for

if TYPE_CHECKING:
    from maip_drlib.actions.kube import DeploymentsReadiness

STAGE_1 = "failover 1"
STAGE_2 = "failover 2"
STAGE_3 = "failover 3"
STAGE_4 = "failover 4"
STAGE_5 = "failover 5"

# --- Stage 1 ---------------------------------------------------------------------------------


def stage_1_primary_down(ctx: DrillContext) -> StageOutcome:
    """The primary is down (unplanned), or up and fenced at the application (planned).

    Down: its Kubernetes API unreachable or no node Ready, and its writer not serving
    (``guards.PrimaryWriterState.serving``: unreachable, stopped or gone, or with database
    access refusing writes)."""
    preconditions.require(ctx, "failover", 1)
    # What stages 2-5 need of the primary, read before they must do without it.
    region_facts.remember(ctx, STAGE_1)
    if ctx.options.planned:
        return fence_primary(ctx)
    ctx.say("checking that the primary region is down (Kubernetes API and RDS writer)")
    nodes = kube_probes.nodes(ctx.handles.primary)
    kube_down = isinstance(nodes, ApiUnreachable) or not nodes.ready
    writer = primary_writer_state(ctx)
    rds_down = not writer.serving
    facts = {"primary_nodes": str(nodes), "primary_writer": str(writer),
             "kube_down": kube_down, "rds_down": rds_down}
    ctx.decisions.record(STAGE_1, "primary down" if kube_down and rds_down else "primary up",
                         **facts)
    if not (kube_down and rds_down):
        raise CheckFailed(
            "the primary region is not down (an unplanned failover needs it down; a planned "
            "one runs with --dr-planned and fences it)",
            region=ctx.handles.primary.region, resource="kubernetes API and RDS writer",
            expected="API unreachable or nodes NotReady, and writer unreachable or not serving",
            observed=f"{nodes}; {writer}",
        )
    return StageOutcome(STAGE_1, f"primary down: {nodes}; {writer}", (), facts)


# --- Stage 2 ---------------------------------------------------------------------------------


def prove_accepts_writes(ctx: DrillContext, stage: str, identifier: str,
                         drill_id: str | None) -> dict[str, str]:
    """With database access: commit a write on ``identifier`` (DR region) and read it back.

    Returns the evidence (empty without database access: nothing is checked, nothing passes
    silently, the stage stays control-plane only). Mutating: behind ``require_execute``.
    """
    if ctx.target.database is None:
        return {}
    from maip_drlib.actions import postgres as pg_actions
    from maip_drlib.probes import postgres as pg_probes

    handle = ctx.handles.secondary
    require_execute(ctx, stage, f"writing one canary row into {identifier} (accepts writes)")
    ctx.say(f"proving {identifier} ({handle.region}) accepts a real write")
    spec = pg_probes.connection_spec(handle, ctx.target.database, identifier)
    accepted = pg_actions.accepts_writes(spec, data_plane_drill_id(drill_id, ctx))
    evidence = {"accepts_writes": str(accepted)}
    ctx.decisions.record(stage, "promoted database accepts writes", **evidence)
    return evidence


def stage_2_promote(ctx: DrillContext, *, deadline: float | None = None,
                    drill_id: str | None = None) -> StageOutcome:
    """Promote the DR replica and wait for a standalone writer; with database access, prove
    it commits a write (``prove_accepts_writes``). The precondition (``preconditions``,
    failover 2) runs the promotion guard (``guards.judge_promotion``) first."""
    preconditions.require(ctx, "failover", 2)
    handle = ctx.handles.secondary
    ctx.say("discovering the writer and its replicas")
    roles = rds_probes.find_writer_and_replicas(ctx.handles, ctx.topology)
    limit = deadline if deadline is not None else deadline_s(ctx, PROMOTION_DEADLINE_S)
    existing = dr_writer(roles, ctx.topology)
    if existing is not None and existing.status == "available":
        facts: dict[str, Any] = {"writer": str(existing), "split_brain": roles.split_brain}
        ctx.decisions.record(STAGE_2, "already promoted", **facts)
        facts.update(prove_accepts_writes(ctx, STAGE_2, existing.identifier, drill_id))
        summary = f"already a standalone writer: {existing}"
        if "accepts_writes" in facts:
            summary += f"; {facts['accepts_writes']}"
        return StageOutcome(STAGE_2, summary, (), facts)
    calls = promotion_calls(STAGE_2, roles, ctx.topology)
    replica = dr_replica(roles, ctx.topology)
    identifier = existing.identifier if existing else replica.identifier  # type: ignore[union-attr]
    actions: list[str] = []
    if calls and replica is not None and replica.status == "available":
        require_execute(ctx, STAGE_2, f"promoting {identifier}")
        ctx.say(f"promoting {identifier} in {handle.region}")
        try:
            with _rds_call():
                handle.client("rds").promote_read_replica(DBInstanceIdentifier=identifier)
            actions.append(f"rds {handle.region}: promote_read_replica {identifier}")
        except _PromotionInProgress:
            ctx.say(f"{identifier}: a promotion is already in progress; waiting for it")
    else:
        ctx.say(f"{identifier} is {replica.status if replica else existing.status}: "  # type: ignore[union-attr]
                "waiting for the promotion already in progress")
    ctx.say(f"waiting until {identifier} is a standalone available writer")
    try:
        promoted = rds_actions.wait_for_standalone_writer(
            handle, identifier, deadline_s=limit, poll_max_s=ctx.poll.max_s).value
    except (WaitFailed, WaitTimeout) as error:
        raise CheckFailed(f"{STAGE_2}: promotion of {identifier} did not complete: {error}",
                          region=handle.region, resource=identifier,
                          expected="standalone available writer",
                          observed=str(error.last_observed)) from error
    facts = {"writer": str(promoted), "arn": promoted.arn}
    ctx.decisions.record(STAGE_2, "promoted", **facts)
    written = prove_accepts_writes(ctx, STAGE_2, identifier, drill_id)
    facts.update(written)
    summary = f"promoted: {promoted}"
    if written:
        summary += f"; {written['accepts_writes']}"
        actions.append(f"postgres {handle.region}: accepts-writes canary row in {identifier}")
    return StageOutcome(STAGE_2, summary, tuple(actions), facts)


class _PromotionInProgress(Exception):
    """Internal: RDS says the instance is not in a state to promote (already promoting)."""


@contextmanager
def _rds_call() -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        if error_code(error) == "InvalidDBInstanceState":
            raise _PromotionInProgress(str(error)) from error
        raise


# --- Stage 3 ---------------------------------------------------------------------------------


def stage_3_route_clients(ctx: DrillContext) -> StageOutcome:
    """Clients reach the DR ALB: by the failover pair on its own, or by changing the pair."""
    preconditions.require(ctx, "failover", 3)
    dr_region = ctx.handles.secondary.region
    ctx.say(f"checking where clients of {api_hostname(ctx)} land")
    region, seen, ttl_s = clients_answer(ctx)
    if region == dr_region:
        facts = {"clients": seen, "changed": False}
        ctx.decisions.record(STAGE_3, "clients already reach DR", **facts)
        return StageOutcome(STAGE_3, f"clients already reach the DR ALB: {seen}", (), facts)
    handle = ctx.handles.primary
    with route53_control_plane(STAGE_3):
        zone_id, records, dr_alb = route_state(ctx)
        changes = failover_pair_changes(records, dr_alb)
        actions: list[str] = []
        if changes:
            require_execute(ctx, STAGE_3, "pointing the PRIMARY failover record at the DR ALB")
            ctx.say(f"pointing the PRIMARY failover record at {dr_alb.dns_name} "
                    f"(zone {dr_alb.canonical_zone_id}); waiting for INSYNC")
            status = route53_actions.change_record_sets(
                handle, zone_id, changes, comment="maip-dr failover: PRIMARY -> DR ALB",
                deadline_s=deadline_s(ctx, ROUTE53_DEADLINE_S))
            actions.append(f"route53: change_resource_record_sets {status.change_id} "
                           f"(PRIMARY -> {dr_alb.dns_name})")
    switch_s = clients_switch_deadline_s(ttl_s)
    ctx.say(f"waiting until clients resolve {api_hostname(ctx)} to {dr_region} (within "
            + (f"the answer's TTL {ttl_s:g} s plus {DNS_TTL_MARGIN_S:g} s" if ttl_s is not None
               else f"{switch_s:g} s") + " of platform time)")
    outcome = wait_for(
        WaitSpec(f"clients of {api_hostname(ctx)} to reach the DR ALB",
                 deadline_s=deadline_s(ctx, switch_s),
                 poll_initial_s=ctx.poll.initial_s, poll_max_s=ctx.poll.max_s),
        lambda: clients_region(ctx),
        success=lambda answer: answer[0] == dr_region,
    )
    facts = {"clients": outcome.value[1], "changed": bool(actions), "before": seen}
    ctx.decisions.record(STAGE_3, "clients reach DR", **facts)
    return StageOutcome(STAGE_3, f"clients reach the DR ALB: {outcome.value[1]}",
                        tuple(actions), facts)


# --- Stage 4 ---------------------------------------------------------------------------------


def stage_4_scale_dr(ctx: DrillContext) -> StageOutcome:
    """DR node group to the failover scaling and every deployment to the failover replicas."""
    preconditions.require(ctx, "failover", 4)
    handle, topology = ctx.handles.secondary, ctx.topology
    place, namespace, replicas = topology.secondary, topology.namespace, topology.failover_replicas
    actions: list[str] = []
    state = eks_probes.nodegroup_state(handle, place.eks_cluster, place.nodegroup)
    for update in state.updates_in_progress:
        ctx.say(f"waiting for node group update {update.update_id} already in progress")
        eks_actions.wait_for_nodegroup_update(
            handle, place.eks_cluster, place.nodegroup, update.update_id,
            deadline_s=deadline_s(ctx, NODEGROUP_DEADLINE_S), poll_max_s=ctx.poll.max_s)
    if nodegroup_calls(STAGE_4, handle.region, place.eks_cluster, place.nodegroup,
                       state.scaling, topology.failover_scaling):
        require_execute(ctx, STAGE_4, f"scaling node group {place.nodegroup}")
        wanted = topology.failover_scaling
        ctx.say(f"scaling node group {place.nodegroup} to min={wanted.min_size} "
                f"desired={wanted.desired_size} max={wanted.max_size}; waiting for the update")
        update = eks_actions.update_nodegroup_scaling(
            handle, place.eks_cluster, place.nodegroup, wanted,
            deadline_s=deadline_s(ctx, NODEGROUP_DEADLINE_S), poll_max_s=ctx.poll.max_s).value
        actions.append(f"eks {handle.region}: update_nodegroup_config {update.update_id}")
    desired = desired_replicas(handle, namespace)
    calls = scale_deployments_calls(STAGE_4, handle.region, namespace, desired, replicas)
    limit = deadline_s(ctx, DEPLOYMENTS_DEADLINE_S)
    if calls:
        require_execute(ctx, STAGE_4, f"scaling {len(calls)} DR deployments to {replicas}")
        ctx.say(f"scaling every deployment in {namespace} ({handle.region}) to {replicas}; "
                "waiting until ready")
        from maip_drlib.actions import kube as kube_actions

        kube_actions.scale_deployments(handle, namespace, replicas)
        actions.append(f"kubernetes {handle.region}: scale {len(calls)} deployments in "
                       f"{namespace} to {replicas}")
    else:
        ctx.say(f"deployments in {namespace} already at {replicas}; waiting until ready")
    readiness = _wait_ready(ctx, handle, namespace, replicas, limit)
    nodes = kube_probes.nodes(handle)
    facts = {"nodegroup": str(eks_probes.nodegroup_state(handle, place.eks_cluster,
                                                         place.nodegroup, include_updates=False)),
             "deployments": str(readiness), "nodes": str(nodes)}
    ctx.decisions.record(STAGE_4, "DR scaled", **facts)
    return StageOutcome(STAGE_4, f"DR scaled: {readiness}; {nodes}", tuple(actions), facts)


def _wait_ready(ctx: DrillContext, handle: RegionHandle, namespace: str, replicas: int,
                limit: float) -> DeploymentsReadiness:
    """Every deployment at ``replicas`` ready; each poll (the progress line) and the error
    say why pods wait: Pending beyond the nodes' capacity names the scheduler's reason."""
    from maip_drlib.drill import scale_wait

    try:
        return scale_wait.wait_deployments_ready(
            handle, namespace, replicas, deadline_s=limit, poll_initial_s=ctx.poll.initial_s,
            poll_max_s=ctx.poll.max_s).value.readiness
    except WaitTimeout as timeout:
        raise CheckFailed(f"{STAGE_4}: {timeout}", region=handle.region, resource=namespace,
                          expected=f"{replicas} ready replicas each",
                          observed=str(timeout.last_observed)) from timeout


# --- Stage 5 ---------------------------------------------------------------------------------


def stage_5_dr_serves(ctx: DrillContext, synthetic_request: SyntheticRequest | None = None
                      ) -> StageOutcome:
    """DR pods ready, services present, the endpoint UP through DNS in DR, the synthetic call."""
    preconditions.require(ctx, "failover", 5)
    request = synthetic_request or SyntheticRequest()
    handle, namespace = ctx.handles.secondary, ctx.topology.namespace
    ctx.say(f"checking DR pods and services in {namespace} ({handle.region})")
    deployments = kube_probes.deployments(handle, namespace)
    not_ready = [item for item in deployments if not item.is_ready or item.desired == 0]
    if not deployments or not_ready:
        from maip_drlib.drill import scale_wait

        raise CheckFailed(
            f"{STAGE_5}: DR deployments not ready: "
            f"{', '.join(map(str, not_ready)) or 'none found'}; "
            f"{scale_wait.pod_reasons(handle, namespace, not_ready)}",
            region=handle.region, resource=namespace, expected="every deployment ready",
            observed=f"{len(deployments) - len(not_ready)}/{len(deployments)} ready")
    services = kube_probes.services(handle, namespace)
    if not services:
        raise CheckFailed(f"{STAGE_5}: no services in the DR namespace", region=handle.region,
                          resource=namespace, expected="services present", observed="none")
    region, seen = clients_region(ctx)
    base = ctx.target.public_endpoint_url.rstrip("/")
    ctx.say(f"checking {base}{ctx.topology.health_path} through DNS ({seen})")
    health = endpoint_probes.endpoint_health(f"{base}{ctx.topology.health_path}",
                                             resolver=ctx.resolver,
                                             ca_bundle=ctx.target.ca_bundle)
    if region != handle.region or not health.up:
        raise CheckFailed(f"{STAGE_5}: the public endpoint is not served UP by DR",
                          region=handle.region, resource=base,
                          expected=f"UP, resolving to {handle.region}",
                          observed=f"{health}; resolves: {seen}")
    ctx.say(f"synthetic request {request.method} {request.path}")
    result = synthetic.send(request.method, f"{base}{request.path}", resolver=ctx.resolver,
                            ca_bundle=ctx.target.ca_bundle)
    if result.status != request.expected_status:
        raise CheckFailed(f"{STAGE_5}: synthetic request failed", region=handle.region,
                          resource=f"{request.method} {request.path}",
                          expected=f"HTTP {request.expected_status}", observed=str(result))
    facts: dict[str, Any] = {
        "deployments": len(deployments), "services": [item.name for item in services],
        "endpoint": str(health), "resolves": seen, "synthetic": str(result),
    }
    ctx.decisions.record(STAGE_5, "DR serves", **facts)
    return StageOutcome(STAGE_5, f"DR serves: {health}; {result}", (), facts)


__all__ = [
    "STAGE_1", "STAGE_2", "STAGE_3", "STAGE_4", "STAGE_5", "prove_accepts_writes",
    "stage_1_primary_down", "stage_2_promote", "stage_3_route_clients", "stage_4_scale_dr",
    "stage_5_dr_serves",
]
