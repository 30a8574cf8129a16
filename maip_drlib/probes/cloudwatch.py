"""CloudWatch: the latest datapoint of one metric with its FULL dimension set.

moto (and CloudWatch for some metrics) match dimensions by subset, so a partial set can mix
series: callers always pass every dimension the metric is published with.

Not supported: metric math, percentiles (extended statistics), and GetMetricData batching.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from maip_drlib.facts import MetricDatapoint
from maip_drlib.probes import aws_api
from maip_drlib.regions import RegionHandle

DEFAULT_WINDOW_S = 3600
DEFAULT_PERIOD_S = 60


def _utc_now() -> datetime:
    return datetime.now(UTC)


def latest_datapoint(
    handle: RegionHandle,
    namespace: str,
    metric: str,
    dimensions: Mapping[str, str],
    *,
    statistic: str = "Average",
    window_s: int = DEFAULT_WINDOW_S,
    period_s: int = DEFAULT_PERIOD_S,
    now: Callable[[], datetime] = _utc_now,
) -> MetricDatapoint:
    """The newest datapoint of ``metric`` in the last ``window_s`` seconds (value None if none)."""
    if not dimensions:
        raise ValueError(f"{namespace}/{metric}: give the full dimension set")
    # The query's times travel in whole seconds: a datapoint stamped in the current second
    # would fall after an EndTime of "now". One period of slack keeps the newest one in.
    end = now() + timedelta(seconds=period_s)
    dimension_list = [{"Name": name, "Value": value} for name, value in dimensions.items()]
    with aws_api(handle, "cloudwatch"):
        response = handle.client("cloudwatch").get_metric_statistics(
            Namespace=namespace,
            MetricName=metric,
            Dimensions=dimension_list,
            StartTime=end - timedelta(seconds=window_s + period_s),
            EndTime=end,
            Period=period_s,
            Statistics=[statistic],
        )
    dims = tuple(dimensions.items())
    points = response.get("Datapoints", [])
    if not points:
        return MetricDatapoint(namespace, metric, dims, statistic, None)
    newest = max(points, key=lambda point: point["Timestamp"])
    return MetricDatapoint(
        namespace=namespace,
        metric=metric,
        dimensions=dims,
        statistic=statistic,
        value=float(newest[statistic]),
        unit=newest.get("Unit"),
        timestamp=newest["Timestamp"],
    )
