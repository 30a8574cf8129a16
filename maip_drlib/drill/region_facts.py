"""What failover stages 2-5 know of a region declared down, without asking it (issue 14).

In a declared outage (``--dr-declare-outage``, not ``--dr-planned``) the primary region's
APIs (ELBv2, EC2, RDS, CloudWatch, STS there) are not asked by failover stages 3-5: what they
need of the primary comes from Route 53 (a global service) and from facts read before the
outage, remembered in the ``DrillContext`` (``ctx.region_facts``) and recorded as a decision
("region facts") in the drill's journal.

- ``alb_dns_names``: region -> its ALB's DNS name, the DR region first. The DR ALB is read from
  ELBv2 in DR. The primary ALB: from ELBv2 there unless the primary is declared down; when it
  is, from the facts remembered earlier in this drill, else from the API record's alias
  targets in Route 53 (an alias into the primary region, before failover 3 changes it). It is
  only used to label an answer "the primary"; "clients on DR" needs the DR ALB alone.
- ``dr_roles``: the RDS writers and replicas seen in DR alone (the primary listed as "not
  asked"), for the preconditions of failover 3-5.
- ``remember(ctx, stage)``: read the facts while the primary answers (readiness, failover 1)
  and record them.

Not supported: reading facts remembered by another process (a resumed drill falls back to
Route 53); IPv6-only ALBs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from maip_drlib.errors import DRError, Unreachable
from maip_drlib.facts import ApiUnreachable, DbInstanceFact, RdsRoles
from maip_drlib.probes import elb as elb_probes
from maip_drlib.probes import rds as rds_probes
from maip_drlib.probes import route53 as route53_probes

if TYPE_CHECKING:
    from maip_drlib.drill.context import DrillContext

_ALB_KEY = "alb_dns_name:"


def primary_declared_down(ctx: DrillContext) -> bool:
    """An unplanned failover with the outage declared: the primary's APIs are not asked."""
    return ctx.options.declared_outage is not None and not ctx.options.planned


def _known(ctx: DrillContext, region: str) -> str | None:
    return ctx.region_facts.get(_ALB_KEY + region)


def _elbv2_dns_name(ctx: DrillContext, region: str) -> str | None:
    """The region's ALB DNS name from its ELBv2, remembered; None when it does not answer."""
    known = _known(ctx, region)
    if known:
        return known
    handles = ctx.handles
    handle = handles.secondary if handles.secondary.region == region else handles.primary
    try:
        alb = elb_probes.load_balancer(handle, ctx.topology.region(region).alb_name)
    except DRError:  # Unreachable, NotFound: the other region may still match
        return None
    ctx.region_facts[_ALB_KEY + region] = alb.dns_name
    return alb.dns_name


def _route53_primary_alb(ctx: DrillContext) -> str | None:
    """An alias target of the API record that lies in the primary region (Route 53 only)."""
    region = ctx.topology.primary.region
    try:
        zone = route53_probes.hosted_zone(ctx.handles.primary, ctx.topology.hosted_zone)
        records = route53_probes.record_sets(ctx.handles.primary, zone.zone_id,
                                             ctx.topology.record_name, "A")
    except (DRError, ClientError):  # any code: the name only labels an answer
        return None
    for record in records:
        if record.alias is not None and f".{region}." in record.alias.dns_name.lower():
            name = record.alias.dns_name.lower().rstrip(".")
            ctx.region_facts[_ALB_KEY + region] = name
            return name
    return None


def alb_dns_names(ctx: DrillContext) -> dict[str, str]:
    """Region -> ALB DNS name, DR first; a region whose name is not known is left out."""
    found: dict[str, str] = {}
    dr = ctx.topology.secondary.region
    dr_name = _elbv2_dns_name(ctx, dr)
    if dr_name:
        found[dr] = dr_name
    primary = ctx.topology.primary.region
    if primary_declared_down(ctx):
        primary_name = _known(ctx, primary) or _route53_primary_alb(ctx)
    else:
        primary_name = _elbv2_dns_name(ctx, primary)
    if primary_name:
        found[primary] = primary_name
    return found


def remember(ctx: DrillContext, stage: str) -> dict[str, str]:
    """Read the ALB facts the later stages need (the primary's only while it is not declared
    down) and record them as the decision "region facts"."""
    names = alb_dns_names(ctx)
    ctx.decisions.record(stage, "region facts", **{f"alb_dns_name_{region}": name
                                                   for region, name in names.items()})
    return names


def dr_roles(ctx: DrillContext) -> RdsRoles:
    """The RDS roles seen in the DR region alone; the primary reported as not asked."""
    handle, topology = ctx.handles.secondary, ctx.topology
    not_asked = ApiUnreachable(region=ctx.handles.primary.region, target="rds",
                               error="not asked: outage declared", elapsed_s=0.0)
    started = time.monotonic()
    try:
        found = rds_probes.instances_named(handle, topology.rds_candidates)
    except Unreachable as error:
        return RdsRoles(writers=(), replicas=(), unreachable_regions=(not_asked, ApiUnreachable(
            region=handle.region, target="rds", error=str(error),
            elapsed_s=time.monotonic() - started)))
    by_role: dict[str, list[DbInstanceFact]] = {"writer": [], "replica": [], "fenced": []}
    for fact in found:
        by_role[fact.role].append(fact)
    return RdsRoles(writers=tuple(by_role["writer"]), replicas=tuple(by_role["replica"]),
                    fenced=tuple(by_role["fenced"]), unreachable_regions=(not_asked,))


__all__ = ["alb_dns_names", "dr_roles", "primary_declared_down", "remember"]
