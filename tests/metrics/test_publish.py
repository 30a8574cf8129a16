"""CloudWatch metrics of readiness and drills, published to the shared simulation and read back
with GetMetricData (simulated CloudWatch: moto)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from maip_drlib.metrics_publish import (
    Datum,
    batches,
    gameday_data,
    publish,
    readiness_data,
)
from maip_drlib.readiness import CheckResult
from maip_drlib.regions import RegionHandles

pytestmark = pytest.mark.sim

PRIMARY, SECONDARY = "us-east-1", "us-west-2"

SUMMARY: dict[str, Any] = {
    "drill_id": "gameday-1", "verdict": "FAIL", "simulated": True,
    "target": {"name": "embedded", "kind": "embedded"},
    "stages": [
        {"phase": "readiness", "stage": None, "scenario": "RDS writer and replica",
         "outcome": "passed"},
        {"phase": "readiness", "stage": None, "scenario": "vCPU quota", "outcome": "skipped"},
        {"phase": "failover", "stage": 2, "scenario": "Promote", "outcome": "passed",
         "duration_s": 1.5, "simulated_minutes": 7.5, "rto_budget_minutes": 10, "rto_ok": True},
        {"phase": "failover", "stage": 3, "scenario": "Route", "outcome": "failed",
         "duration_s": 4.0, "simulated_minutes": 20.0, "rto_budget_minutes": 5,
         "rto_ok": False},
        {"phase": "failover", "stage": 4, "scenario": "Scale", "outcome": "skipped"},
        {"phase": "readiness-after", "stage": None, "scenario": "RDS writer and replica",
         "outcome": "failed"},
    ],
    "rto_end_to_end": {"failover": {"simulated_minutes": 27.5, "budget_minutes": 40,
                                    "ok": None, "complete": False}},
    "rpo": [{"store": "dynamodb", "rpo_s": 0.4, "target_s": 60, "ok": True},
            {"store": "rds", "rpo_s": None}],
}


def names(data: list[Datum]) -> list[tuple[str, float, dict[str, str]]]:
    return [(d.name, d.value, dict(d.dimensions)) for d in data]


def test_readiness_data_from_check_results_and_scenarios():
    checks = [CheckResult("rds writer", "us-east-1", True, "ok", 0.1),
              CheckResult("dynamodb latency", "us-west-2", False, "30s", 0.1, "check"),
              CheckResult("vcpu quota", "us-west-2", True, "no answer", 0.1, "not-checked",
                          checked=False)]
    data = names(readiness_data(checks, target="prod"))
    assert data == [
        ("ReadinessCheck", 1.0, {"Target": "prod", "Phase": "readiness", "Check": "rds writer"}),
        ("ReadinessCheck", 0.0, {"Target": "prod", "Phase": "readiness",
                                 "Check": "dynamodb latency"}),
        ("ReadinessPassed", 0.0, {"Target": "prod", "Phase": "readiness"})]
    scenarios = [{"scenario": "a", "outcome": "passed"}, {"scenario": "b", "outcome": "skipped"}]
    assert [d[:2] for d in names(readiness_data(scenarios, target="t"))] == [
        ("ReadinessCheck", 1.0), ("ReadinessPassed", 1.0)]
    assert readiness_data([], target="t") == []


def test_gameday_data_from_a_summary():
    data = names(gameday_data(SUMMARY))
    by_name: dict[str, list] = {}
    for name, value, dims in data:
        by_name.setdefault(name, []).append((value, dims))
    assert by_name["DrillPassed"] == [(0.0, {"Target": "embedded"})]
    assert (0.0, {"Target": "embedded", "Phase": "readiness-after"}) in by_name["ReadinessPassed"]
    assert [v for v, _ in by_name["StagePassed"]] == [1.0, 0.0]  # the skipped stage: nothing
    assert by_name["StageDurationSeconds"][0] == (
        1.5, {"Target": "embedded", "Phase": "failover", "Stage": "failover 2"})
    assert [v for v, _ in by_name["StageRTOMinutes"]] == [7.5, 20.0]
    assert [v for v, _ in by_name["StageWithinRTO"]] == [1.0, 0.0]
    assert by_name["RTOMinutes"] == [(27.5, {"Target": "embedded", "Phase": "failover"})]
    assert "RTOWithinBudget" not in by_name  # incomplete: no verdict
    assert by_name["RPOSeconds"] == [(0.4, {"Target": "embedded", "Store": "dynamodb"})]
    assert by_name["RPOWithinTarget"] == [(1.0, {"Target": "embedded", "Store": "dynamodb"})]


def test_batches_stay_within_the_limits():
    data = [Datum("M", float(n), "Count", (("Target", "t"), ("Check", f"c{n}")))
            for n in range(45)]
    stamp = datetime.now(UTC)
    assert [len(b) for b in batches(data, stamp, max_items=20)] == [20, 20, 5]
    assert [len(b) for b in batches(data, stamp)] == [45]
    small = batches(data, stamp, max_bytes=2000)
    assert all(len(b) < 45 for b in small) and sum(map(len, small)) == 45


def test_bad_namespace_is_refused(handles: RegionHandles):
    with pytest.raises(ValueError, match="namespace"):
        publish(handles, [], namespace="AWS/EC2")


def unique() -> tuple[str, str]:
    """A namespace and a target name of this test alone: moto 5.2.5's GetMetricData ignores
    the namespace when dimensions are given, so the Target dimension keeps tests apart."""
    tag = uuid.uuid4().hex[:8]
    return f"MAIP/DR-test-{tag}", f"embedded-{tag}"


def read_back(handles: RegionHandles, region: str, namespace: str, datum: Datum) -> list[float]:
    now = datetime.now(UTC)
    answer = handles.by_name(region).client("cloudwatch").get_metric_data(
        MetricDataQueries=[{"Id": "m0", "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": datum.name,
                       "Dimensions": [{"Name": k, "Value": v} for k, v in datum.dimensions]},
            "Period": 60, "Stat": "Maximum"}}],
        StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=2))
    return list(answer["MetricDataResults"][0]["Values"])


def test_published_metrics_read_back_from_the_primary(handles: RegionHandles):
    namespace, target = unique()
    data = gameday_data(dict(SUMMARY, target={"name": target, "kind": "embedded"}))
    result = publish(handles, data, namespace=namespace, max_items=5)
    assert result.complete and result.errors == [] and result.region == PRIMARY
    assert result.published == {PRIMARY: len(data)} and len(data) > 5  # several batches
    for datum in data:
        assert read_back(handles, PRIMARY, namespace, datum) == [datum.value], datum
    assert read_back(handles, SECONDARY, namespace, data[0]) == []


def test_primary_declared_down_publishes_from_the_secondary(handles: RegionHandles):
    namespace, target = unique()
    data = readiness_data([{"scenario": "a", "outcome": "passed"}], target=target)
    result = publish(handles, data, namespace=namespace, primary_down=True)
    assert result.published == {SECONDARY: 2} and not result.errors
    assert read_back(handles, SECONDARY, namespace, data[0]) == [1.0]


def test_a_region_in_outage_falls_back_to_the_other(simulation, handles: RegionHandles):
    namespace, target = unique()
    data = readiness_data([{"scenario": "a", "outcome": "failed"}], target=target)
    simulation.faults.region_outage(PRIMARY)
    try:
        started = time.monotonic()
        result = publish(handles, data, namespace=namespace)
        elapsed = time.monotonic() - started
    finally:
        simulation.faults.restore_region(PRIMARY)
    assert result.published == {SECONDARY: 2} and result.complete
    assert len(result.errors) == 1 and "CloudWatch in us-east-1 did not answer" in result.errors[0]
    assert elapsed < 15, elapsed  # the handle's timeouts and retries bound it
    assert read_back(handles, SECONDARY, namespace, data[0]) == [0.0]
    assert result.describe().startswith(f"metrics: 2/2 published to {namespace} (2 in us-west-2)")


def test_both_regions_down_is_reported_not_raised(simulation, handles: RegionHandles):
    data = readiness_data([{"scenario": "a", "outcome": "passed"}], target="embedded")
    for region in (PRIMARY, SECONDARY):
        simulation.faults.region_outage(region)
    try:
        result = publish(handles, data, namespace="MAIP/DR-test-down")
    finally:
        for region in (PRIMARY, SECONDARY):
            simulation.faults.restore_region(region)
    assert result.published == {} and not result.complete and len(result.errors) == 2
    assert "0/2 published" in result.describe()


def test_gameday_data_from_a_written_summary(tmp_path):
    """The document maip_drlib.evidence.summary_files writes, not a hand-made one."""
    import json

    from maip_drlib.evidence.summary_files import write_summary

    stages = [s for s in SUMMARY["stages"] if s["outcome"] != "skipped"]
    _, path = write_summary(tmp_path, results=stages, rpo=SUMMARY["rpo"],
                            target={"name": "embedded", "kind": "embedded"}, operator="op",
                            simulated=True, time_scale=0.2, drill_id="d1", rto_end_to_end={})
    data = names(gameday_data(json.loads(path.read_text())))
    assert ("DrillPassed", 0.0, {"Target": "embedded"}) in data
    assert ("RPOSeconds", 0.4, {"Target": "embedded", "Store": "dynamodb"}) in data
    assert ("RTOMinutes", 27.5, {"Target": "embedded", "Phase": "failover"}) in data
    assert ("StageRTOMinutes", 20.0, {"Target": "embedded", "Phase": "failover",
                                      "Stage": "failover 3"}) in data


def test_the_readiness_run_after_the_drill_is_its_own_phase():
    """In a real summary both readiness runs carry the phase ``readiness`` (their Gherkin
    tag); their position in drill order tells them apart."""
    check = {"phase": "readiness", "stage": None, "scenario": "RDS writer and replica"}
    stages = [dict(check, outcome="passed"),
              {"phase": "failover", "stage": 1, "scenario": "Down", "outcome": "passed"},
              dict(check, outcome="failed")]
    data = names(gameday_data({"target": {"name": "t"}, "verdict": "FAIL", "stages": stages}))
    readiness = [d for d in data if d[0].startswith("Readiness")]
    assert readiness == [
        ("ReadinessCheck", 1.0, {"Target": "t", "Phase": "readiness",
                                 "Check": "RDS writer and replica"}),
        ("ReadinessPassed", 1.0, {"Target": "t", "Phase": "readiness"}),
        ("ReadinessCheck", 0.0, {"Target": "t", "Phase": "readiness-after",
                                 "Check": "RDS writer and replica"}),
        ("ReadinessPassed", 0.0, {"Target": "t", "Phase": "readiness-after"})]


def test_a_denied_publication_names_the_action_and_the_add_on_policy():
    """A read-only runner without ``iam-metrics-publisher.json``: reported, never raised."""
    from maip_drlib.errors import PermissionDenied
    from maip_drlib.permissions import _policy_hint

    class Denying:
        def __init__(self, region: str):
            self.region = region

        def client(self, service: str) -> Denying:
            return self

        def put_metric_data(self, **_: Any) -> None:
            raise PermissionDenied(
                target="prod", region=self.region, service="cloudwatch",
                action="cloudwatch:PutMetricData", operation_name="PutMetricData",
                response={"Error": {"Code": "AccessDenied"}},
                policy_hint=_policy_hint("cloudwatch", "PutMetricData"))

    class Handles:
        primary, secondary = Denying(PRIMARY), Denying(SECONDARY)

    data = readiness_data([{"scenario": "a", "outcome": "passed"}], target="prod")
    result = publish(Handles(), data, namespace="MAIP/DR")  # type: ignore[arg-type]
    assert result.published == {} and len(result.errors) == 2
    assert result.errors[0].startswith("permission denied: cloudwatch:PutMetricData in "
                                       "us-east-1 (target 'prod', service cloudwatch")
    assert "policies/iam-metrics-publisher.json beside the read-only policy" in result.errors[0]
