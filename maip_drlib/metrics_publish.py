"""DR readiness and drill results as CloudWatch metrics, published from the region that is up.

``readiness_data(results, target=...)`` turns readiness results (``CheckResult`` objects of
``maip_drlib.readiness.run_readiness`` or the result dicts of ``maip-dr readiness --json``)
into one ``ReadinessCheck`` datum per check (1 passed, 0 failed; a check that gave no verdict
publishes nothing) and one ``ReadinessPassed`` per run. ``gameday_data(summary)`` turns a
``summary.json`` document into stage durations, stage outcomes, RTO per stage and end to end,
RPO per measured store and the drill verdict (the table in docs/notifications-and-metrics.md).

``publish(handles, data, namespace=...)`` sends them with ``PutMetricData`` in batches within
CloudWatch's limits, through the handles' clients (their timeouts and retries bound every
call). Region order: the secondary first when the primary is declared down, else the primary;
a region that does not answer (connection error, timeout, throttle or 5xx after the client's
retries) hands the remaining batches to the other region. It returns a ``Publication`` that
says what went where and never raises for an AWS failure: metrics never fail a drill.

Not supported: high-resolution (1 s) metrics, statistic sets, metric streams, dashboards and
alarms (create them from the published names), publishing to both regions at once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from maip_drlib.errors import PermissionDenied
from maip_drlib.regions import RegionHandle, RegionHandles

DEFAULT_NAMESPACE = "MAIP/DR"
MAX_DATA_PER_CALL = 1000  # CloudWatch: at most 1000 metrics per PutMetricData
MAX_BYTES_PER_CALL = 512 * 1024  # CloudWatch: 1 MB per request; half of it as a margin
MAX_DIMENSION_VALUE = 1024


@dataclass(frozen=True)
class Datum:
    """One metric value with its full dimension set (names in publishing order)."""

    name: str
    value: float
    unit: str
    dimensions: tuple[tuple[str, str], ...]

    def as_cloudwatch(self, timestamp: datetime) -> dict[str, Any]:
        return {"MetricName": self.name, "Value": float(self.value), "Unit": self.unit,
                "Timestamp": timestamp,
                "Dimensions": [{"Name": k, "Value": v[:MAX_DIMENSION_VALUE]}
                               for k, v in self.dimensions]}


@dataclass
class Publication:
    """What was published where; ``errors`` holds one line per region that failed."""

    namespace: str
    published: dict[str, int] = field(default_factory=dict)  # region -> data published
    errors: list[str] = field(default_factory=list)
    total: int = 0

    @property
    def complete(self) -> bool:
        return sum(self.published.values()) == self.total

    @property
    def region(self) -> str | None:
        """The region that took the data (the last one, when a fallback happened)."""
        return next(reversed(self.published), None) if self.published else None

    def describe(self) -> str:
        where = ", ".join(f"{n} in {r}" for r, n in self.published.items()) or "none"
        text = (f"metrics: {sum(self.published.values())}/{self.total} published to "
                f"{self.namespace} ({where})")
        return text + (f"; errors: {'; '.join(self.errors)}" if self.errors else "")


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _field(result: Any, name: str, default: Any = None) -> Any:
    if isinstance(result, Mapping):
        return result.get(name, default)
    return getattr(result, name, default)


def readiness_data(results: Iterable[Any], *, target: str,
                   phase: str = "readiness") -> list[Datum]:
    """``ReadinessCheck`` per check (1/0) and ``ReadinessPassed`` for the run (1/0).

    A result is a ``CheckResult`` (``name``; ``outcome``, which reads its verdict) or a
    scenario dict (``scenario``, ``outcome``): one rule, the results' own, for both. Skipped
    or not-checked results (no verdict) publish nothing.
    """
    data: list[Datum] = []
    verdicts: list[bool] = []
    for result in results:
        name = _field(result, "name") or _field(result, "scenario")
        outcome = _field(result, "outcome")
        if not name or outcome not in ("passed", "failed"):
            continue
        passed = outcome == "passed"
        verdicts.append(passed)
        data.append(Datum("ReadinessCheck", 1.0 if passed else 0.0, "Count",
                          (("Target", target), ("Phase", phase), ("Check", str(name)))))
    if verdicts:
        data.append(Datum("ReadinessPassed", 1.0 if all(verdicts) else 0.0, "Count",
                          (("Target", target), ("Phase", phase))))
    return data


def _stage_label(result: Mapping[str, Any]) -> str:
    stage = result.get("stage")
    return f"{result.get('phase')} {stage}" if stage else str(result.get("phase"))


def readiness_runs(stages: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """The readiness results of a game day per run: ``readiness`` before the drill and
    ``readiness-after``. Both runs' results carry the phase ``readiness`` (their Gherkin tag);
    ``summary.json`` lists stages in drill order, so a readiness result after the first
    drill stage belongs to the run after it. An explicit ``readiness-after`` phase is kept."""
    runs: dict[str, list[Mapping[str, Any]]] = {}
    after_drill = False
    for result in stages:
        phase = str(result.get("phase", ""))
        if not phase.startswith("readiness"):
            after_drill = True
            continue
        if phase == "readiness" and after_drill:
            phase = "readiness-after"
        runs.setdefault(phase, []).append(result)
    return runs


def gameday_data(summary: Mapping[str, Any]) -> list[Datum]:
    """Metrics of a finished drill from its ``summary.json`` document."""
    target = str((summary.get("target") or {}).get("name", "unknown"))
    data: list[Datum] = [Datum("DrillPassed", 1.0 if summary.get("verdict") == "PASS" else 0.0,
                               "Count", (("Target", target),))]
    for phase, rows in readiness_runs(summary.get("stages") or []).items():
        data += readiness_data(rows, target=target, phase=phase)
    for result in summary.get("stages") or []:
        phase = str(result.get("phase", ""))
        if phase.startswith("readiness") or result.get("outcome") == "skipped":
            continue
        dims = (("Target", target), ("Phase", phase), ("Stage", _stage_label(result)))
        data.append(Datum("StagePassed", 1.0 if result.get("outcome") == "passed" else 0.0,
                          "Count", dims))
        if (seconds := _finite(result.get("duration_s"))) is not None:
            data.append(Datum("StageDurationSeconds", seconds, "Seconds", dims))
        if (minutes := _finite(result.get("simulated_minutes"))) is not None \
                and result.get("rto_budget_minutes") is not None:
            data.append(Datum("StageRTOMinutes", minutes, "None", dims))
        if result.get("rto_ok") is not None:
            data.append(Datum("StageWithinRTO", 1.0 if result["rto_ok"] else 0.0, "Count",
                              dims))
    for phase, figure in (summary.get("rto_end_to_end") or {}).items():
        dims = (("Target", target), ("Phase", str(phase)))
        if (minutes := _finite(figure.get("simulated_minutes"))) is not None:
            data.append(Datum("RTOMinutes", minutes, "None", dims))
        if figure.get("ok") is not None:
            data.append(Datum("RTOWithinBudget", 1.0 if figure["ok"] else 0.0, "Count", dims))
    for row in summary.get("rpo") or []:
        seconds = _finite(row.get("rpo_s"))
        if seconds is None:  # not measured: no figure, never a zero
            continue
        dims = (("Target", target), ("Store", str(row.get("store"))))
        data.append(Datum("RPOSeconds", seconds, "Seconds", dims))
        if row.get("ok") is not None:
            data.append(Datum("RPOWithinTarget", 1.0 if row["ok"] else 0.0, "Count", dims))
    return data


def batches(data: Sequence[Datum], timestamp: datetime, *, max_items: int = MAX_DATA_PER_CALL,
            max_bytes: int = MAX_BYTES_PER_CALL) -> list[list[dict[str, Any]]]:
    """The data as PutMetricData batches: at most ``max_items`` each and about ``max_bytes``."""
    out: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for datum in data:
        item = datum.as_cloudwatch(timestamp)
        item_size = len(json.dumps(item, default=str)) + 64
        if current and (len(current) >= max_items or size + item_size > max_bytes):
            out.append(current)
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        out.append(current)
    return out


def region_order(handles: RegionHandles, *, primary_down: bool) -> list[RegionHandle]:
    """The secondary first when the primary is declared down, else the primary first."""
    return [handles.secondary, handles.primary] if primary_down else [handles.primary,
                                                                       handles.secondary]


def _failure(handle: RegionHandle, error: Exception) -> str:
    if isinstance(error, PermissionDenied):  # names the action and the policy granting it
        return str(error)
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        return f"CloudWatch in {handle.region} answered {code or 'an error'} (HTTP {status})"
    return f"CloudWatch in {handle.region} did not answer ({type(error).__name__})"


def check_namespace(namespace: str) -> None:
    """Raise ``ValueError`` (one line) for a namespace CloudWatch would refuse; for the edge."""
    if not namespace or namespace.startswith("AWS/") or len(namespace) > 255 \
            or not namespace.isprintable() or namespace.startswith(":"):
        raise ValueError(f"metrics namespace {namespace!r}: 1-255 printable characters, not "
                         "starting with 'AWS/'")


def publish(handles: RegionHandles, data: Sequence[Datum], *,
            namespace: str = DEFAULT_NAMESPACE, primary_down: bool = False,
            timestamp: datetime | None = None, max_items: int = MAX_DATA_PER_CALL,
            ) -> Publication:
    """PutMetricData of ``data`` from the first region that answers; never raises for AWS."""
    check_namespace(namespace)
    stamp = timestamp or datetime.now(UTC)
    pending = batches(data, stamp, max_items=max_items)
    result = Publication(namespace=namespace, total=len(data))
    for handle in region_order(handles, primary_down=primary_down):
        if not pending:
            break
        client = handle.client("cloudwatch")
        while pending:
            try:
                client.put_metric_data(Namespace=namespace, MetricData=pending[0])
            except (BotoCoreError, ClientError) as error:
                result.errors.append(_failure(handle, error))
                break
            result.published[handle.region] = (result.published.get(handle.region, 0)
                                               + len(pending.pop(0)))
    return result
