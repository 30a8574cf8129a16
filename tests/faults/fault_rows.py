"""The fault matrix: every row's fault and the verdict a careful operator expects, in one place.

The tests in this folder look rows up by id (``ROWS[id]``) and record the measured time to
verdict against it; ``render`` turns a run's measurements into the table of
docs/fault-matrix.md. Every fault is simulated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    fault: str
    expected: str


ROWS: dict[str, Row] = {
    "lag-rds": Row("RDS replica lag 120 s (threshold 60 s)",
                   "readiness fails: RDS replica lag over threshold, region, replica, figure"),
    "lag-dynamodb": Row("DynamoDB replication delayed 8 s (threshold 5 s); the simulated "
                        "services write, the metric exists once an item is delivered",
                        "readiness fails: DynamoDB latency over threshold, region, table, figure"),
    "lag-msk": Row("MSK replication latency 300 s (threshold 60 s)",
                   "readiness fails: replicator latency over threshold, region, replicator"),
    "replicator-failed": Row("MSK replicator FAILED",
                             "readiness fails: replicator not RUNNING, region, replicator, state"),
    "throttle-burst-rds": Row("burst of 1 `Throttling` (HTTP 400) on RDS us-west-2",
                              "retried by botocore with backoff; the check passes"),
    "throttle-burst-eks": Row("burst of 1 `TooManyRequestsException` (HTTP 429) on EKS "
                              "us-west-2", "retried by botocore with backoff; the check passes"),
    "throttle-burst-dynamodb": Row("burst of 1 `ThrottlingException` on DynamoDB us-east-1",
                                   "retried by botocore with backoff; the check passes"),
    "throttle-burst-route53": Row("burst of 1 `Throttling` on Route 53",
                                  "retried by botocore with backoff; the check passes"),
    "throttle-burst-in-wait": Row("burst of 6 `Throttling` on RDS us-west-2 during a wait",
                                  "the wait polls through it and succeeds before its deadline"),
    "throttle-persistent": Row("persistent `Throttling` on RDS us-west-2",
                               "readiness fails at once: RDS in us-west-2 throttled, code, "
                               "HTTP status, attempts"),
    "throttle-burst-every-service": Row(
        "burst of 1 throttle on every AWS service readiness calls, in each region (RDS, EKS, "
        "DynamoDB, CloudWatch, MSK, Secrets Manager, ECR, Service Quotas, EC2, ELB, Route 53)",
        "retried by botocore with backoff; every readiness check passes"),
    "throttle-persistent-every-service": Row(
        "persistent throttle on one service at a time in us-west-2 (Secrets Manager, ECR, "
        "Service Quotas, EC2, ELB, CloudWatch, MSK)",
        "the checks calling it fail at once, naming region, API, code, HTTP status, "
        "attempts; the other checks pass (time: slowest service)"),
    "route53-impaired-change-needed": Row(
        "Route 53 control plane answers 503 while clients still reach the primary",
        "failover 3 fails: Route 53 control plane impaired, data-plane path named"),
    "primary-kube-refuse": Row("primary Kubernetes API refuses, AWS APIs answer",
                               "failover 1 fails: primary not down (writer available)"),
    "primary-kube-hang": Row("primary Kubernetes API hangs, AWS APIs answer",
                             "failover 1 fails (bounded): primary not down (writer available)"),
    "primary-aws-5xx": Row("primary AWS APIs answer 503, its Kubernetes API refuses",
                           "failover 1 passes: primary down, writer API answering HTTP 503"),
    "primary-nodes-notready": Row("primary nodes NotReady (API answers), primary AWS refuses",
                                  "failover 1 passes: primary down, nodes NotReady named"),
    "primary-aws-hang": Row("us-east-1 outage, every API hangs",
                            "failover 1 passes (bounded by client timeouts): primary down"),
    "primary-aws-refuse": Row("us-east-1 outage, every API refuses connections",
                              "failover 1 passes: primary down"),
    "promotion-fails": Row("RDS promotion ends in a terminal state (`failed`)",
                           "failover 2 fails at once, not at its deadline: instance, status"),
    "promotion-stuck": Row("promotion stuck in `modifying` past its 15-minute budget, then "
                           "completes", "failover 2 passes late: RTO verdict fails, drill goes on"),
    "route53-impaired-pair-switched": Row(
        "Route 53 control plane answers 503 during the us-east-1 outage, pair already switched",
        "failover 3 passes: clients already reach DR, no Route 53 call"),
    "nodegroup-update-fails": Row("EKS node group update ends `Failed`",
                                  "failover 4 fails at once: update id, node group, region, error"),
    "pods-crashloop": Row("DR pods never ready: CrashLoopBackOff",
                          "failover 4 fails at its deadline: deployments, pods, reason"),
    "pods-imagepull": Row("DR pods never ready: ImagePullBackOff",
                          "failover 5 fails at once: deployments, pods, reason"),
    "endpoint-503": Row("DR endpoint answers 503 (PRIMARY record already aliases the DR ALB)",
                        "failover 5 fails: endpoint not served UP by DR, HTTP 503 named"),
    "endpoint-down": Row('DR endpoint {"status":"DOWN"}, component db DOWN (record aliases '
                         "the DR ALB)",
                         "failover 5 fails: DOWN components named"),
    "synthetic-fails": Row("synthetic request answers 500 while health says UP",
                           "failover 5 fails: synthetic request, HTTP 500"),
    "split-brain": Row("restored old primary writer accepts writes at failback",
                       "failback 1 detects split brain and fences it before any traffic shift"),
    "route53-change-pending": Row("Route 53 change stuck PENDING",
                                  "failback 3 fails at its deadline: change id, PENDING"),
    "alb-degraded-mid-shift": Row("primary ALB 5XX rate up at step 2 of the weighted shift",
                                  "failback 3 stops and shifts back to 10/90, step, metric"),
}
for _phase, _count in (("failover", 5), ("failback", 4)):
    for _n in range(1, _count + 1):
        ROWS[f"kill-{_phase}-{_n}"] = Row(
            f"runner SIGKILLed in {_phase} stage {_n} (sim target)",
            f"resumed with --resume-from {_phase}:{_n}: the stage passes, nothing done twice, "
            "the journal names the interruption")


def render(measured: dict[str, dict[str, object]]) -> str:
    """The Markdown table of a run: one line per row in table order."""
    lines = ["| row | fault (simulated) | expected verdict | outcome | time to verdict (s) |",
             "|---|---|---|---|---|"]
    for row_id, row in ROWS.items():
        found = measured.get(row_id)
        outcome = str(found["outcome"]) if found else "not run"
        seconds = f"{float(found['seconds']):.2f}" if found else "-"  # type: ignore[arg-type]
        lines.append(f"| {row_id} | {row.fault} | {row.expected} | {outcome} | {seconds} |")
    return "\n".join(lines) + "\n"


# Measurements of this run: row id -> {"outcome", "seconds"} (written at session end).
MEASURED: dict[str, dict[str, object]] = {}


class Recorder:
    """Measures time to verdict of one row: ``start()`` at injection, ``done()`` at verdict."""

    def __init__(self) -> None:
        self._started: float | None = None

    def start(self) -> None:
        self._started = time.monotonic()

    def done(self, row_id: str, outcome: str) -> float:
        if row_id not in ROWS:
            raise KeyError(f"row {row_id!r} is not in fault_rows.ROWS")
        assert self._started is not None, "start() before done()"
        seconds = time.monotonic() - self._started
        self._started = None
        return self.measured(row_id, outcome, seconds)

    def measured(self, row_id: str, outcome: str, seconds: float) -> float:
        """Record a time to verdict measured by the row itself (the slowest of several)."""
        if row_id not in ROWS:
            raise KeyError(f"row {row_id!r} is not in fault_rows.ROWS")
        MEASURED[row_id] = {"outcome": outcome, "seconds": round(seconds, 3)}
        return seconds
