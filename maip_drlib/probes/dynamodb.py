"""DynamoDB global tables: replicas and their status, replication latency per receiving region.

Latency comes from CloudWatch ``AWS/DynamoDB ReplicationLatency`` with the FULL dimension set
(``TableName`` and ``ReceivingRegion``), queried in the sending region, as the runbook does; the
metric is in milliseconds and the fact in seconds.

Not supported: global tables version 2017.11.29 (``describe_global_table``), per-item checks.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from maip_drlib.errors import CheckFailed, NotFound
from maip_drlib.facts import GlobalTableFact, ReplicationLag
from maip_drlib.probes import aws_api, error_code
from maip_drlib.probes.cloudwatch import latest_datapoint
from maip_drlib.regions import RegionHandle, RegionHandles

LATENCY_NAMESPACE = "AWS/DynamoDB"
LATENCY_METRIC = "ReplicationLatency"
LATENCY_WINDOW_S = 900
LATENCY_PERIOD_S = 60


def global_table(handle: RegionHandle, table: str) -> GlobalTableFact:
    try:
        with aws_api(handle, "dynamodb"):
            data = handle.client("dynamodb").describe_table(TableName=table)["Table"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise NotFound(f"DynamoDB table {table} not found in {handle.region}") from error
        raise
    replicas = tuple(
        (str(item["RegionName"]), str(item.get("ReplicaStatus", "UNKNOWN")))
        for item in data.get("Replicas", [])
    )
    return GlobalTableFact(table=table, region=handle.region,
                           status=str(data.get("TableStatus", "UNKNOWN")), replicas=replicas)


def replication_latency(handle: RegionHandle, table: str, receiving_region: str, *,
                        window_s: int = LATENCY_WINDOW_S,
                        period_s: int = LATENCY_PERIOD_S) -> ReplicationLag:
    """Worst latency of the latest minute from ``handle``'s region to ``receiving_region``.

    The runbook's query averages over 5-minute periods of the last hour, which hides a lag
    that began a minute ago; a preflight wants the newest, worst figure (Maximum, 60 s).
    """
    point = latest_datapoint(
        handle, LATENCY_NAMESPACE, LATENCY_METRIC,
        {"TableName": table, "ReceivingRegion": receiving_region},
        statistic="Maximum", window_s=window_s, period_s=period_s,
    )
    seconds = None if point.value is None else point.value / 1000.0
    return ReplicationLag(store="dynamodb", region=receiving_region, resource=table,
                          seconds=seconds, measured_at=point.timestamp)


def require_active_in_both(handles: RegionHandles, table: str) -> list[GlobalTableFact]:
    """``table`` and its replica toward the other region ACTIVE, read in each region;
    ``CheckFailed`` naming the first region where it is not (readiness and failback 2)."""
    facts = []
    for handle in handles:
        fact = global_table(handle, table)
        others = [h.region for h in handles if h.region != handle.region]
        if fact.status != "ACTIVE" or any(fact.replica_status(r) != "ACTIVE" for r in others):
            raise CheckFailed("DynamoDB global table not ACTIVE in both regions",
                              region=handle.region, resource=table,
                              expected="table and replicas ACTIVE", observed=str(fact))
        facts.append(fact)
    return facts
