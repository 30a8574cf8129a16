"""Weighted traffic shift for failback stage 3, and the failover pair's return in stage 4.

- ``replace_failover_with_weighted``: ONE atomic Route 53 batch that DELETEs the failover pair
  and CREATEs two weighted alias records (primary ALB, DR ALB; DNS names and zone ids read from
  ELBv2), carrying each region's health check over, so an unhealthy region still drops out.
- ``restore_failover_pair``: the reverse batch (PRIMARY -> primary ALB, SECONDARY -> DR ALB);
  ``failover_pair_restored`` accepts only that pair, ``weighted_back_on_primary`` only 100/0
  with each record aliasing its own region's ALB.
- ``soak``: watches, for ``soak_s`` seconds, the public endpoint through the drill's resolver
  and both ALBs' ``HTTPCode_ELB_5XX_Count`` and ``TargetResponseTime`` in CloudWatch, and
  returns the first ``Degradation`` it sees (step, region, metric, figure, limit).

Metric reading (``MetricPolicy``): live targets read the Sum of 5XX and the Average latency
of the newest 60-second period (a per-minute count); a simulation publishes one datapoint per
simulated minute every few real seconds, so it reads the newest datapoint of a 1-second period
in the last 3 seconds, with the query's end one second ahead (the query's times travel in
whole seconds, which would hide a datapoint published in the current second).
A missing datapoint reads as no errors (ALBs publish no zero counts).

Not supported: more than two weighted records, non-alias records, latency percentiles
(extended statistics), per-target-group metrics, record types other than A.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from maip_drlib.actions.route53 import (
    alias_record,
    change_record_sets,
    record_set_dict,
    wait_for_insync,
)
from maip_drlib.config import Target
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.weights import Weights
from maip_drlib.drill.weights import validate_steps as validate_steps  # re-exported
from maip_drlib.errors import CheckFailed, ConfigError
from maip_drlib.facts import AlbFact, ChangeStatus, EndpointHealth, RecordSetFact
from maip_drlib.probes import endpoint as endpoint_probes
from maip_drlib.probes import route53 as route53_probes
from maip_drlib.probes.cloudwatch import latest_datapoint

DEFAULT_STEPS: tuple[Weights, ...] = ((10, 90), (50, 50), (90, 10), (100, 0))
ELB_NAMESPACE = "AWS/ApplicationELB"
METRIC_5XX = "HTTPCode_ELB_5XX_Count"
METRIC_LATENCY = "TargetResponseTime"
INSYNC_DEADLINE_S = 300.0


def set_identifier(kind: str, region: str) -> str:
    """The set identifiers the suite uses: ``weighted-us-east-1``, ``primary-us-east-1``..."""
    return f"{kind}-{region}"


@dataclass(frozen=True)
class RecordPair:
    """The two records of ``record_name`` pointing at the primary and the DR ALB."""

    kind: str  # "failover" or "weighted"
    primary: RecordSetFact
    secondary: RecordSetFact

    @property
    def weights(self) -> Weights | None:
        if self.kind != "weighted":
            return None
        return (self.primary.weight or 0, self.secondary.weight or 0)

    def __str__(self) -> str:
        return f"{self.kind} pair: {self.primary}; {self.secondary}"


def find_pair(ctx: DrillContext, zone_id: str, primary_alb: AlbFact,
              dr_alb: AlbFact) -> RecordPair | None:
    """The failover or weighted pair of the record, if any.

    A weighted pair is told apart by the ALB each record aliases; a failover pair by its roles
    (PRIMARY, SECONDARY), because failover stage 3 may have pointed PRIMARY at the DR ALB.
    """
    records = route53_probes.record_sets(ctx.handles.primary, zone_id,
                                         ctx.topology.record_name, "A")
    weighted = [r for r in records if r.kind == "weighted" and r.alias is not None]
    primary = [r for r in weighted if aliases(r, primary_alb.dns_name)]
    secondary = [r for r in weighted if aliases(r, dr_alb.dns_name)]
    if len(primary) == 1 and len(secondary) == 1:
        return RecordPair("weighted", primary[0], secondary[0])
    failover = {r.failover: r for r in records if r.kind == "failover" and r.alias is not None}
    if set(failover) == {"PRIMARY", "SECONDARY"}:
        return RecordPair("failover", failover["PRIMARY"], failover["SECONDARY"])
    return None


def _alb_name(dns_name: str) -> str:
    return dns_name.rstrip(".").lower().removeprefix("dualstack.")


def aliases(record: RecordSetFact, alb_dns_name: str) -> bool:
    """Whether ``record`` is an alias of the ALB named ``alb_dns_name`` (whatever the case, the
    final dot, and the ``dualstack.`` prefix Route 53's console gives ALB aliases)."""
    return (record.alias is not None
            and _alb_name(record.alias.dns_name) == _alb_name(alb_dns_name))


def failover_pair_restored(records: Sequence[RecordSetFact], primary_alb: str,
                           dr_alb: str) -> bool:
    """Exactly the failover pair as before the drill: PRIMARY -> the primary ALB and
    SECONDARY -> the DR ALB (a PRIMARY aliasing the DR ALB, failover 3's change, is not)."""
    roles = {r.failover: r for r in records if r.kind == "failover"}
    return (len(roles) == len(records) == 2
            and "PRIMARY" in roles and aliases(roles["PRIMARY"], primary_alb)
            and "SECONDARY" in roles and aliases(roles["SECONDARY"], dr_alb))


def weighted_back_on_primary(records: Sequence[RecordSetFact], primary_alb: str,
                             dr_alb: str) -> bool:
    """Exactly the weighted pair at 100/0: weight 100 aliasing the primary ALB, 0 the DR's."""
    weighted = [r for r in records if r.kind == "weighted"]
    return (len(weighted) == len(records) == 2
            and any(aliases(r, primary_alb) and r.weight == 100 for r in weighted)
            and any(aliases(r, dr_alb) and r.weight == 0 for r in weighted))


def _wait_insync(ctx: DrillContext, status: ChangeStatus) -> ChangeStatus:
    if status.status == "INSYNC":
        return status
    from maip_drlib.drill.deadlines import deadline_s

    return wait_for_insync(ctx.handles.primary, status.change_id,
                           deadline_s=deadline_s(ctx, INSYNC_DEADLINE_S),
                           poll_initial_s=ctx.poll.initial_s, poll_max_s=ctx.poll.max_s).value


def _change(ctx: DrillContext, zone_id: str, changes: list[dict], comment: str) -> ChangeStatus:
    status = change_record_sets(ctx.handles.primary, zone_id, changes, comment=comment,
                                wait=False)
    return _wait_insync(ctx, status)


def replace_failover_with_weighted(ctx: DrillContext, zone_id: str, pair: RecordPair,
                                   primary_alb: AlbFact, dr_alb: AlbFact,
                                   weights: Weights) -> ChangeStatus:
    """DELETE the failover pair and CREATE the weighted pair in one batch; wait INSYNC."""
    name = ctx.topology.record_name
    changes: list[dict] = [
        {"Action": "DELETE", "ResourceRecordSet": record_set_dict(pair.primary)},
        {"Action": "DELETE", "ResourceRecordSet": record_set_dict(pair.secondary)},
    ]
    for alb, weight, old in ((primary_alb, weights[0], pair.primary),
                             (dr_alb, weights[1], pair.secondary)):
        changes.append({"Action": "CREATE", "ResourceRecordSet": alias_record(
            name, alb.dns_name, alb.canonical_zone_id,
            set_identifier=set_identifier("weighted", alb.region), weight=weight,
            health_check_id=old.health_check_id)})
    return _change(ctx, zone_id, changes, "maip-dr failback: failover pair -> weighted pair")


def set_pair_weights(ctx: DrillContext, zone_id: str, pair: RecordPair,
                     weights: Weights) -> ChangeStatus:
    """UPSERT both weights in one batch; wait INSYNC."""
    changes = []
    for record, weight in ((pair.primary, weights[0]), (pair.secondary, weights[1])):
        upsert = record_set_dict(record)
        upsert["Weight"] = weight
        changes.append({"Action": "UPSERT", "ResourceRecordSet": upsert})
    return _change(ctx, zone_id, changes,
                   f"maip-dr failback: weights primary={weights[0]} DR={weights[1]}")


def restore_failover_pair(ctx: DrillContext, zone_id: str, pair: RecordPair,
                          primary_alb: AlbFact, dr_alb: AlbFact) -> ChangeStatus:
    """DELETE the weighted pair and CREATE PRIMARY/SECONDARY failover records in one batch.

    The health checks are the ones the weighted records carry (stage 3 carried them over from
    the failover pair); a weighted record without one refuses (a failover record needs it).
    """
    name = ctx.topology.record_name
    changes: list[dict] = [
        {"Action": "DELETE", "ResourceRecordSet": record_set_dict(pair.primary)},
        {"Action": "DELETE", "ResourceRecordSet": record_set_dict(pair.secondary)},
    ]
    for alb, role, old in ((primary_alb, "PRIMARY", pair.primary),
                           (dr_alb, "SECONDARY", pair.secondary)):
        if not old.health_check_id:
            raise CheckFailed("weighted record has no health check to restore the failover "
                              "pair with", region=alb.region, resource=str(old),
                              expected="a HealthCheckId", observed="none")
        changes.append({"Action": "CREATE", "ResourceRecordSet": alias_record(
            name, alb.dns_name, alb.canonical_zone_id,
            set_identifier=set_identifier(role.lower(), alb.region), failover=role,
            health_check_id=old.health_check_id)})
    return _change(ctx, zone_id, changes, "maip-dr failback: weighted pair -> failover pair")


# --- Soak --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoakThresholds:
    max_5xx_per_min: float
    max_latency_s: float


@dataclass(frozen=True)
class MetricPolicy:
    """How the soak reads ALB metrics (see the module docstring)."""

    window_s: int
    period_s: int
    errors_statistic: str
    latency_statistic: str
    end_ahead_s: int = 0

    @classmethod
    def for_target(cls, target: Target) -> MetricPolicy:
        if target.simulated:
            return cls(window_s=3, period_s=1, errors_statistic="Maximum",
                       latency_statistic="Maximum", end_ahead_s=1)
        return cls(window_s=180, period_s=60, errors_statistic="Sum",
                   latency_statistic="Average")


@dataclass(frozen=True)
class AlbReading:
    region: str
    alb: str
    http_5xx: float | None
    latency_s: float | None

    def __str__(self) -> str:
        errors = "no datapoint" if self.http_5xx is None else f"{self.http_5xx:g}"
        latency = "no datapoint" if self.latency_s is None else f"{self.latency_s:.3f}s"
        return f"ALB {self.alb} ({self.region}): 5XX {errors}, latency {latency}"


@dataclass(frozen=True)
class Degradation:
    """What made a step fail: where, which metric, the figure seen and the limit."""

    region: str
    resource: str
    metric: str
    figure: str
    limit: str

    def __str__(self) -> str:
        return (f"{self.metric} of {self.resource} ({self.region}) at {self.figure}, "
                f"limit {self.limit}")


def alb_reading(ctx: DrillContext, alb: AlbFact, policy: MetricPolicy) -> AlbReading:
    handle = ctx.handles.by_name(alb.region)
    dimensions = {"LoadBalancer": alb.arn.split(":loadbalancer/", 1)[-1]}
    values = []
    for metric, statistic in ((METRIC_5XX, policy.errors_statistic),
                              (METRIC_LATENCY, policy.latency_statistic)):
        point = latest_datapoint(
            handle, ELB_NAMESPACE, metric, dimensions, statistic=statistic,
            window_s=policy.window_s + policy.end_ahead_s, period_s=policy.period_s,
            now=lambda: datetime.now(UTC) + timedelta(seconds=policy.end_ahead_s))
        values.append(point.value)
    return AlbReading(alb.region, alb.name, values[0], values[1])


def degradation_of(reading: AlbReading, limits: SoakThresholds) -> Degradation | None:
    if reading.http_5xx is not None and reading.http_5xx > limits.max_5xx_per_min:
        return Degradation(reading.region, reading.alb, METRIC_5XX,
                           f"{reading.http_5xx:g} per minute",
                           f"{limits.max_5xx_per_min:g} per minute")
    if reading.latency_s is not None and reading.latency_s > limits.max_latency_s:
        return Degradation(reading.region, reading.alb, METRIC_LATENCY,
                           f"{reading.latency_s:.3f}s", f"{limits.max_latency_s:g}s")
    return None


def endpoint_check(ctx: DrillContext) -> EndpointHealth:
    url = ctx.target.public_endpoint_url.rstrip("/") + ctx.topology.health_path
    return endpoint_probes.endpoint_health(url, resolver=ctx.resolver,
                                           ca_bundle=ctx.target.ca_bundle)


@dataclass(frozen=True)
class SoakResult:
    degradation: Degradation | None
    polls: int
    last_readings: tuple[AlbReading, ...]
    last_endpoint: str


def soak(ctx: DrillContext, albs: tuple[AlbFact, ...], limits: SoakThresholds, soak_s: float,
         *, policy: MetricPolicy | None = None,
         clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], None] = time.sleep) -> SoakResult:
    """Watch the endpoint and the ALBs for ``soak_s`` seconds (at least one poll); stop at the
    first degradation. Polls every ``ctx.poll.max_s`` seconds at most."""
    if soak_s < 0:
        raise ConfigError(f"soak must be >= 0 seconds, got {soak_s}", key="soak_s")
    policy = policy or MetricPolicy.for_target(ctx.target)
    end = clock() + soak_s
    polls = 0
    while True:
        polls += 1
        health = endpoint_check(ctx)
        readings = tuple(alb_reading(ctx, alb, policy) for alb in albs)
        if not health.up:
            found: Degradation | None = Degradation(
                "global", health.url, "endpoint health", str(health), "HTTP 200, status UP")
            return SoakResult(found, polls, readings, str(health))
        for reading in readings:
            found = degradation_of(reading, limits)
            if found is not None:
                return SoakResult(found, polls, readings, str(health))
        remaining = end - clock()
        if remaining <= 0:
            return SoakResult(None, polls, readings, str(health))
        sleep(min(ctx.poll.max_s, remaining))
