"""Failback 2's limits and verdicts, from the readiness Gherkin and as readiness verdicts.

Failback 2 (``failback.stage_2_resync``) holds DynamoDB replication and the failback
replica's lag to the same business figures as the readiness preflight: a limit the caller
does not give (a rehearsal, ``registry.Stage.runner``, a test) is read from
``features/readiness.feature`` (``Thresholds.from_gherkin``), never from a default of its
own. Each limit is judged as a readiness ``Verdict`` (fact, expected, observed, ok), which the
stage raises when not ok and records in its outcome's facts.

Not supported: different figures for failback 2 than for readiness outside the Gherkin (the
failback feature's own step gives the DynamoDB figure it states).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maip_drlib.drill.catch_up import ReplicaCatchUp
from maip_drlib.drill.dynamodb_heartbeat import DynamoHeartbeat
from maip_drlib.readiness_thresholds import Thresholds
from maip_drlib.readiness_verdict import Verdict, failed, passed
from maip_drlib.regions import RegionHandle


@dataclass(frozen=True)
class ResyncLimits:
    dynamodb_s: float
    replica_lag_s: float


def limits(dynamodb_s: float | None, replica_lag_s: float | None) -> ResyncLimits:
    """The given limits; a missing one is the readiness Gherkin's figure."""
    if dynamodb_s is None or replica_lag_s is None:
        gherkin = Thresholds.from_gherkin()
        dynamodb_s = gherkin.dynamodb_replication_latency_s if dynamodb_s is None else dynamodb_s
        replica_lag_s = gherkin.rds_replica_lag_s if replica_lag_s is None else replica_lag_s
    return ResyncLimits(dynamodb_s, replica_lag_s)


def heartbeat(sender: RegionHandle, receiver: RegionHandle, beat: DynamoHeartbeat,
              limits: ResyncLimits) -> Verdict:
    """A heartbeat item written in ``sender`` read back in ``receiver`` within the limit."""
    fact = f"DynamoDB replication {sender.region} -> {receiver.region}"
    expected = f"heartbeat read within {limits.dynamodb_s:g}s"
    if beat.delay_s > limits.dynamodb_s:
        return failed(fact, "DynamoDB replication slower than the limit",
                      region=receiver.region, resource=beat.table, expected=expected,
                      observed=str(beat))
    return passed(fact, str(beat), expected=expected, observed=f"{beat.delay_s:g}s",
                  region=receiver.region, resource=beat.table)


def caught_up(region: str, replica: str, lag: ReplicaCatchUp, limit_s: float) -> Verdict:
    """The failback replica caught up within ``limit_s`` (``wait_lag``'s result: it waits
    until caught up or raises ``WaitTimeout``, so in failback 2 this verdict is ok)."""
    fact, expected = "RDS failback replica lag", (f"<= {limit_s:g}s, by WAL position, heartbeat "
                                                  "or replayed commit")
    if not lag.caught_up:
        return failed(fact, "the failback replica has not caught up", region=region,
                      resource=replica, expected=expected, observed=str(lag))
    return passed(fact, str(lag), expected=expected, observed=f"caught up by {lag.method}",
                  region=region, resource=replica)


def as_facts(verdicts: list[Verdict]) -> list[dict[str, Any]]:
    """The verdicts for a ``StageOutcome``'s facts (JSON)."""
    return [{"fact": v.fact, "expected": v.expected, "observed": v.observed, "ok": v.ok}
            for v in verdicts]
