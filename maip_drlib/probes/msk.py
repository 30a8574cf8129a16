"""MSK: cluster states (by topology name) and replicators (name contains a fragment, matched
here: the API's name filter is a prefix).

Replicator lag defaults to ``AWS/Kafka ReplicationLatency`` with dimension ``ReplicatorName``
(milliseconds; reported in seconds); the constants name the choice. The runbook's query field
``CurrentState`` does not exist: the API field is ``ReplicatorState``.

Not supported: broker-level checks (no Kafka data plane), serverless cluster details.
"""

from __future__ import annotations

from typing import Any

from maip_drlib.facts import MskClusterFact, ReplicationLag, ReplicatorFact
from maip_drlib.probes import aws_api
from maip_drlib.probes.cloudwatch import latest_datapoint
from maip_drlib.regions import RegionHandle

REPLICATOR_LAG_NAMESPACE = "AWS/Kafka"
REPLICATOR_LAG_METRIC = "ReplicationLatency"
REPLICATOR_LAG_DIMENSION = "ReplicatorName"


def clusters(handle: RegionHandle, names: tuple[str, ...]) -> tuple[MskClusterFact, ...]:
    """The clusters of ``names`` present in the region (missing ones are simply absent)."""
    facts: list[MskClusterFact] = []
    kwargs: dict[str, Any] = {}
    with aws_api(handle, "kafka"):
        while True:
            page = handle.client("kafka").list_clusters_v2(**kwargs)
            for item in page.get("ClusterInfoList", []):
                if item.get("ClusterName") in names:
                    facts.append(MskClusterFact(
                        name=str(item["ClusterName"]), region=handle.region,
                        state=str(item.get("State", "UNKNOWN")),
                        arn=str(item.get("ClusterArn", "")),
                        cluster_type=item.get("ClusterType"),
                    ))
            token = page.get("NextToken")
            if not token:
                return tuple(facts)
            kwargs["NextToken"] = token


def replicators(handle: RegionHandle, name_contains: str) -> tuple[ReplicatorFact, ...]:
    """The region's replicators whose name contains ``name_contains``.

    Every page is listed without ``ReplicatorNameFilter`` and matched here: the API's filter
    keeps names that START with it (API reference, ListReplicators), so passing a fragment
    would miss ``prod-maip-replicator``.
    """
    facts: list[ReplicatorFact] = []
    kwargs: dict[str, Any] = {}
    with aws_api(handle, "kafka"):
        while True:
            page = handle.client("kafka").list_replicators(**kwargs)
            for item in page.get("Replicators", []):
                name = str(item.get("ReplicatorName", ""))
                if name_contains in name:
                    facts.append(ReplicatorFact(
                        name=name, arn=str(item.get("ReplicatorArn", "")),
                        state=str(item.get("ReplicatorState", "UNKNOWN")), region=handle.region,
                    ))
            token = page.get("NextToken")
            if not token:
                return tuple(facts)
            kwargs["NextToken"] = token


def replicator_lag(handle: RegionHandle, replicator_name: str, *,
                   window_s: int = 900) -> ReplicationLag:
    point = latest_datapoint(
        handle, REPLICATOR_LAG_NAMESPACE, REPLICATOR_LAG_METRIC,
        {REPLICATOR_LAG_DIMENSION: replicator_name}, statistic="Maximum", window_s=window_s,
    )
    seconds = None if point.value is None else point.value / 1000.0
    return ReplicationLag(store="msk", region=handle.region, resource=replicator_name,
                          seconds=seconds, measured_at=point.timestamp)
