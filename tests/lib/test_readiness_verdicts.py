"""Readiness verdicts (fact, expected, observed, ok) and thresholds read from the Gherkin only."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from maip_drlib import readiness
from maip_drlib.config import Topology
from maip_drlib.errors import CheckFailed, ConfigError
from maip_drlib.metrics_publish import readiness_data
from maip_drlib.readiness import Check, ReadinessInputs, Thresholds, Verdict
from maip_drlib.readiness_base import DEFAULT_REQUIRED_SECRETS
from maip_drlib.readiness_thresholds import FEATURE_FILE
from maip_drlib.readiness_verdict import failed, passed
from maip_drlib.scenarios_home import scenarios_home

pytestmark = pytest.mark.unit

FEATURE = scenarios_home() / "features" / FEATURE_FILE
TOPOLOGY = Topology()
LAG_FAILED = failed("RDS replica lag", "RDS replica lag over threshold", region="us-west-2",
                    resource="maip-prod-postgres-replica", expected="<= 60s", observed="75s")


def _copy(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / FEATURE_FILE
    shutil.copyfile(FEATURE, path)
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_a_passing_verdict_renders_its_detail_and_a_failing_one_its_check_failed() -> None:
    ok = passed("RDS replica lag", "rds lag 3.2s", expected="<= 60s", observed="3.2s")
    assert (ok.fact, ok.expected, ok.observed, ok.ok) == ("RDS replica lag", "<= 60s", "3.2s",
                                                          True)
    assert ok.render() == "rds lag 3.2s" and ok.require() is ok
    assert LAG_FAILED.render() == ("RDS replica lag over threshold; region=us-west-2; "
                                   "resource=maip-prod-postgres-replica; expected=<= 60s; "
                                   "observed=75s")
    with pytest.raises(CheckFailed) as raised:
        LAG_FAILED.require()
    error = raised.value
    assert str(error) == LAG_FAILED.render()
    assert (error.region, error.resource, error.expected, error.observed) == (
        "us-west-2", "maip-prod-postgres-replica", "<= 60s", "75s")
    bare = failed("route 53 pair", "failover record without a health check", resource="api")
    assert str(bare.error()) == "failover record without a health check; resource=api"


def test_the_then_step_asserts_the_verdict_naming_expected_and_observed(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from maip_drlib.pytest_dr.fixtures import DeclaredOutage
    from steps import readiness_steps

    seen: list[float] = []

    def check(inputs: ReadinessInputs) -> Verdict:
        seen.append(inputs.thresholds.rds_replica_lag_s)
        return LAG_FAILED if len(seen) == 1 else passed("RDS replica lag", "rds lag 3.2s")

    monkeypatch.setattr(readiness, "rds_replica_lag", check)
    inputs = ReadinessInputs(None, TOPOLOGY, None, None)  # type: ignore[arg-type]
    nobody = DeclaredOutage(None, None, print)
    with pytest.raises(CheckFailed, match=r"expected=<= 60s; observed=75s$"):
        readiness_steps.rds_lag(dr_readiness_inputs=inputs, seconds=42.0,
                                dr_declared_outage=nobody)
    readiness_steps.rds_lag(dr_readiness_inputs=inputs, seconds=42.0, dr_declared_outage=nobody)
    assert seen == [42.0, 42.0]  # the figure of the step text, not another copy
    assert capsys.readouterr().out.strip() == "rds lag 3.2s"


def test_run_readiness_keeps_each_checks_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    good = passed("DR ALB state", "alb active", expected="active", observed="active")
    monkeypatch.setattr(readiness, "readiness_checks", lambda topology: (
        Check("DR ALB active", "us-west-2", lambda inputs: good),
        Check("RDS replica lag", "us-west-2", lambda inputs: LAG_FAILED)))
    inputs = ReadinessInputs(None, TOPOLOGY, None, None)  # type: ignore[arg-type]
    ok, lag = readiness.run_readiness(inputs)
    assert (ok.passed, ok.detail, ok.verdict, ok.outcome, ok.error_kind) == (
        True, "alb active", good, "passed", None)
    assert (lag.passed, lag.error_kind, lag.outcome) == (False, "check", "failed")
    assert lag.detail == LAG_FAILED.render()
    assert (lag.expected, lag.observed) == ("<= 60s", "75s")
    skipped = replace(ok, checked=False, verdict=None)
    assert [d.value for d in readiness_data([ok, lag, skipped], target="t")] == [1.0, 0.0, 0.0]


def test_thresholds_are_the_gherkins_and_have_no_defaults_of_their_own() -> None:
    with pytest.raises(TypeError):
        Thresholds()  # type: ignore[call-arg]
    found = Thresholds.from_gherkin()
    text = FEATURE.read_text(encoding="utf-8")
    lag = re.search(r"the RDS replica lag is under (\d+) seconds", text)
    assert lag is not None and found.rds_replica_lag_s == float(lag[1])
    assert found.source == str(FEATURE)
    assert found.required_secrets == DEFAULT_REQUIRED_SECRETS  # the IAM scope names the same
    assert ReadinessInputs(None, TOPOLOGY, None, None).thresholds == found  # type: ignore[arg-type]


@pytest.mark.parametrize(("old", "new", "field", "value"), [
    ("the RDS replica lag is under 60 seconds", "the RDS replica lag is under 45 seconds",
     "rds_replica_lag_s", 45.0),
    ("replica a standby within 60 seconds", "replica a standby within 7 seconds",
     "standby_lag_s", 7.0),
    ("latency to DR is under 5 seconds", "latency to DR is under 2.5 seconds",
     "dynamodb_replication_latency_s", 2.5),
    ("replication latency under 60 seconds", "replication latency under 90 seconds",
     "msk_replication_latency_s", 90.0),
    ("and 30 pods per node", "and 17 pods per node", "pods_per_node", 17),
    ("away from 4 replicas", "away from 6 replicas", "failover_replicas", 6),
    ("at least 1 healthy target in", "at least 2 healthy targets in", "min_healthy_targets", 2),
    ("at least 14 more days", "at least 30 more days", "certificate_min_days", 30.0),
    ("      | maip/prod/kafka-credentials |\n",
     "      | maip/prod/kafka-credentials |\n      | maip/prod/payments-key      |\n",
     "required_secrets", (*DEFAULT_REQUIRED_SECRETS, "maip/prod/payments-key")),
])
def test_changing_the_number_in_the_feature_file_changes_the_threshold(
        tmp_path: Path, old: str, new: str, field: str, value: object) -> None:
    changed = Thresholds.from_gherkin(_copy(tmp_path, old, new))
    assert getattr(changed, field) == value
    assert getattr(Thresholds.from_gherkin(), field) != value


def test_failback_2_takes_its_limits_from_the_gherkin(monkeypatch: pytest.MonkeyPatch) -> None:
    from maip_drlib.drill import failback

    class Read(Exception):
        pass

    def from_gherkin(cls: type, path: Path | None = None) -> Thresholds:
        raise Read

    monkeypatch.setattr(Thresholds, "from_gherkin", classmethod(from_gherkin))
    with pytest.raises(Read):
        failback.stage_2_resync(SimpleNamespace())  # type: ignore[arg-type]


def test_a_missing_or_contradicting_threshold_is_one_config_error(tmp_path: Path) -> None:
    missing = _copy(tmp_path, "the RDS replica lag is under 60 seconds",
                    "the RDS replica lag is small")
    with pytest.raises(ConfigError, match=r"readiness.feature: no readiness step states "
                                          r"rds_replica_lag_s \(a step like"):
        Thresholds.from_gherkin(missing)
    other = tmp_path / "other"
    other.mkdir()
    twice = _copy(other, "vCPU quota covers 20 nodes", "vCPU quota covers 25 nodes")
    with pytest.raises(ConfigError, match=r"failover_nodes: line \d+ says 20, line \d+ says 25"):
        Thresholds.from_gherkin(twice)
    with pytest.raises(ConfigError, match="cannot read the readiness thresholds"):
        Thresholds.from_gherkin(tmp_path / "absent.feature")
