"""Where clients of the public name land now, and the Route 53 state that decides it.

The target's resolver (``resolvers.resolver_for``: the DNS servers of ``dns_nameservers``,
else the simulation's control server, else the system's) answers the public name; a simulated
answer names the region, a live one is compared with the addresses of each region's ALB DNS
name (the DR region first: a primary declared down is not asked). ``route_state`` reads the
hosted zone, the API record's sets and the DR ALB; ``route53_control_plane`` turns a failing
Route 53 control plane into its known diagnosis.

Not supported: clients behind caches the configured resolvers do not show, IPv6-only ALBs,
CDNs in front of the ALB.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from maip_drlib.drill import region_facts
from maip_drlib.drill.context import DrillContext
from maip_drlib.errors import CheckFailed, NotFound, Unreachable
from maip_drlib.facts import AlbFact, RecordSetFact
from maip_drlib.probes import elb as elb_probes
from maip_drlib.probes import error_code
from maip_drlib.probes import route53 as route53_probes
from maip_drlib.resolvers import ResolvedAddress

ROUTE53_CONTROL_PLANE_CODES = frozenset({
    "ServiceUnavailable", "InternalFailure", "InternalError", "PriorRequestNotComplete",
})
ROUTE53_DIAGNOSIS = (
    "Route 53 control plane impaired, a known effect of a us-east-1 event; the failover "
    "pair's health checks are the data-plane path"
)
_REGION_IN_DETAIL = re.compile(r"region ([a-z]{2}-[a-z]+-\d)")


def api_hostname(ctx: DrillContext) -> str:
    return urlsplit(ctx.target.public_endpoint_url).hostname or ctx.topology.record_name


def clients_region(ctx: DrillContext) -> tuple[str | None, str]:
    """The region whose ALB clients reach now, and how that was seen (``None``: unknown)."""
    region, seen, _ttl = clients_answer(ctx)
    return region, seen


def clients_answer(ctx: DrillContext) -> tuple[str | None, str, float | None]:
    """``clients_region`` with the answer's TTL (None without a DNS answer)."""
    try:
        resolved: ResolvedAddress = ctx.resolver.resolve(api_hostname(ctx), 443)
    except (NotFound, Unreachable) as error:
        return None, f"unresolved: {error}", None
    region, seen = _region_of(ctx, resolved)
    return region, seen, resolved.ttl_s


def _region_of(ctx: DrillContext, resolved: ResolvedAddress) -> tuple[str | None, str]:
    match = _REGION_IN_DETAIL.search(resolved.detail)
    if match:
        return match.group(1), str(resolved)
    # DR first; a primary declared down is not asked (region_facts: Route 53, facts read
    # before the outage), and a region in outage cannot say its ALB's name anyway.
    for region, dns_name in region_facts.alb_dns_names(ctx).items():
        if resolved.host in _alb_addresses(ctx, dns_name):
            return region, f"{resolved} = {dns_name}"
    return None, f"{resolved} matches no ALB of the topology"


def _alb_addresses(ctx: DrillContext, dns_name: str) -> set[str]:
    """The ALB name's addresses from the DNS servers the target names (the same servers that
    answered the public name), else from the system's resolver; empty when none answers."""
    nameservers = getattr(ctx.resolver, "nameservers", ())
    if nameservers:
        from maip_drlib.dns_answers import query

        return {address for nameserver in nameservers
                for address in query(nameserver, dns_name).addresses}
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(dns_name, 443)}
    except OSError:
        return set()


@contextmanager
def route53_control_plane(stage: str) -> Iterator[None]:
    """Turn a failing Route 53 control plane into the known diagnosis (CheckFailed)."""
    try:
        yield
    except ClientError as error:
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if error_code(error) in ROUTE53_CONTROL_PLANE_CODES or status >= 500:
            raise CheckFailed(f"{stage}: {ROUTE53_DIAGNOSIS}", region="us-east-1",
                              resource="route53", expected="control plane answers",
                              observed=f"{error_code(error)} (HTTP {status})") from error
        raise
    except Unreachable as error:
        raise CheckFailed(f"{stage}: {ROUTE53_DIAGNOSIS}", region="us-east-1",
                          resource="route53", expected="control plane answers",
                          observed=str(error)) from error


def route_state(ctx: DrillContext) -> tuple[str, tuple[RecordSetFact, ...], AlbFact]:
    """Zone id, the API record's sets and the DR ALB (Route 53 reads: control plane)."""
    handle = ctx.handles.primary
    zone = route53_probes.hosted_zone(handle, ctx.topology.hosted_zone)
    records = route53_probes.record_sets(handle, zone.zone_id, ctx.topology.record_name, "A")
    dr_alb = elb_probes.load_balancer(ctx.handles.secondary, ctx.topology.secondary.alb_name)
    return zone.zone_id, records, dr_alb
