"""Read-only verifications the drill's Then (and Given) steps assert, over real state.

Each returns a one-line detail or raises ``CheckFailed`` with evidence; none mutates.
"""

from __future__ import annotations

from maip_drlib.drill import failback_names
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.guards import observe_fencing, primary_writer_state
from maip_drlib.errors import CheckFailed
from maip_drlib.facts import ApiUnreachable
from maip_drlib.probes import endpoint, kube, rds


def _region(ctx: DrillContext, role: str) -> str:
    if role not in ("primary", "secondary"):
        raise CheckFailed(f"unknown region role {role!r}", expected="primary or secondary")
    return getattr(ctx.topology, role).region


def primary_takes_no_writes(ctx: DrillContext) -> str:
    """The primary writer does not serve (``guards.PrimaryWriterState.serving``), or the
    application is verifiably fenced (``guards.observe_fencing``)."""
    state = primary_writer_state(ctx)
    if not state.serving:
        return f"primary writer not serving: {state}"
    writer = state.writer
    fencing = observe_fencing(ctx, writer.identifier if writer else None)
    if not fencing.fenced:
        raise CheckFailed("the primary writer serves and the application is not fenced",
                          region=ctx.handles.primary.region,
                          resource=writer.identifier if writer else "rds",
                          expected="writer not serving, or no deployment, pod or service "
                                   "session left (fenced)", observed=f"{state}; {fencing}")
    return f"application fenced: {fencing}"


def dr_holds_replica_or_writer(ctx: DrillContext) -> str:
    region = ctx.topology.secondary.region
    instances = rds.instances_named(ctx.handles.secondary, ctx.topology.rds_candidates)
    if not instances:
        raise CheckFailed("no database instance in the DR region", region=region,
                          resource=", ".join(ctx.topology.rds_candidates))
    return "; ".join(str(i) for i in instances)


def only_writer_in(ctx: DrillContext, role: str) -> str:
    """One available writer, in ``role``'s region; or, after a planned promotion to DR, the
    old primary writer still RDS-available but verifiably fenced (no deployment wanting
    replicas, no pod of the services, with database access no service session:
    ``guards.observe_fencing``), which is recorded as a decision. Anything else is split
    brain (or no writer) and fails."""
    region = _region(ctx, role)
    roles = rds.find_writer_and_replicas(ctx.handles, ctx.topology)
    available = [w for w in roles.writers if w.status == "available"]
    if [w.region for w in available] == [region]:
        return str(roles)
    mine = [w for w in available if w.region == region]
    others = [w for w in available if w.region != region]
    if (ctx.options.planned and region == ctx.topology.secondary.region and len(mine) == 1
            and len(others) == 1 and others[0].region == ctx.topology.primary.region):
        fencing = observe_fencing(ctx, others[0].identifier)
        if fencing.fenced:
            ctx.decisions.record("verify", "old writer available but fenced (planned "
                                 "failover): not split brain", old_writer=str(others[0]),
                                 fencing=str(fencing))
            return f"{roles}; old writer fenced at the application: {fencing}"
        raise CheckFailed("split brain: the old writer is available and not fenced",
                          region=others[0].region, resource=others[0].identifier,
                          expected="no deployment, pod or service session left",
                          observed=str(fencing))
    raise CheckFailed("the available writer is not (only) where expected", region=region,
                      resource="rds", expected=f"one available writer in {region}",
                      observed=str(roles))


def failover_pair_restored(ctx: DrillContext) -> str:
    """The failover pair as before the drill: PRIMARY -> primary ALB, SECONDARY -> DR ALB."""
    from maip_drlib.drill.preconditions import PlatformView

    route = PlatformView(ctx).route
    if not route.pair_restored:
        raise CheckFailed("the failover pair is not restored", resource=ctx.topology.record_name,
                          expected=f"PRIMARY -> {route.primary_alb}, SECONDARY -> "
                                   f"{route.dr_alb}", observed=str(route))
    return str(route)


def clients_resolve_to(ctx: DrillContext, role: str) -> str:
    """The public name's answer leads to ``role``'s region: named in the answer (simulation)
    or an address of that region's ALB (live), as ``clients_landing.clients_region`` judges it."""
    from maip_drlib.drill.clients_landing import api_hostname, clients_region

    region = _region(ctx, role)
    seen, how = clients_region(ctx)
    if seen != region:
        raise CheckFailed("clients do not resolve the public name to the expected region",
                          resource=api_hostname(ctx), expected=region, observed=how)
    return f"{api_hostname(ctx)} -> {how}"


def deployments_ready(ctx: DrillContext, role: str, replicas: int) -> str:
    handle = ctx.handles.by_name(_region(ctx, role))
    deployments = kube.deployments(handle, ctx.topology.namespace)
    short = [f"{d.name} {d.ready}/{d.desired}" for d in deployments
             if d.ready < replicas or d.desired < replicas]
    if not deployments or short:
        raise CheckFailed("deployments below the expected ready replicas", region=handle.region,
                          resource=ctx.topology.namespace, expected=f">= {replicas} ready",
                          observed=", ".join(short) or "no deployments")
    return f"{len(deployments)} deployments with >= {replicas} ready replicas"


def endpoint_up_from(ctx: DrillContext, role: str) -> str:
    region = _region(ctx, role)
    url = ctx.target.public_endpoint_url.rstrip("/") + ctx.topology.health_path
    from maip_drlib.drill.clients_landing import clients_region

    health = endpoint.endpoint_health(url, resolver=ctx.resolver, ca_bundle=ctx.target.ca_bundle)
    named = health.resolved_address or ""
    # A simulated answer names its region; a live one is an address, judged as failover 3
    # judges it (the ALB whose addresses it is, through the same DNS servers).
    seen, how = (region, named) if region in named else clients_region(ctx)
    if not health.up or seen != region:
        raise CheckFailed("the endpoint is not UP from the expected region", resource=url,
                          expected=f"UP via {region}", observed=f"{health}; answer: {how}")
    return str(health)


def failback_replica_replicates(ctx: DrillContext) -> str:
    """Failback 2's replica, under either primary name (``drill.failback_names``),
    replicates from the writer."""
    roles = rds.find_writer_and_replicas(ctx.handles, ctx.topology)
    writer = roles.writer
    replica = (failback_names.failback_replica(roles, ctx.topology, writer) if writer
               else None)
    if replica is None:
        raise CheckFailed("the failback replica does not replicate from the writer",
                          region=ctx.topology.primary.region,
                          resource=" or ".join(rds.primary_writer_names(ctx.topology)),
                          observed=str(roles))
    return str(replica)


def nodes_reachable(ctx: DrillContext, role: str) -> str:
    handle = ctx.handles.by_name(_region(ctx, role))
    fact = kube.nodes(handle)
    if isinstance(fact, ApiUnreachable):
        raise CheckFailed("Kubernetes API unreachable", region=handle.region,
                          observed=str(fact))
    return str(fact)
