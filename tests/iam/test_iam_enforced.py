"""The policies proven against a simulation with moto's IAM enforcement on, in its own process
(``enforced_run.py``: enforcement is process-wide in moto).

With the read-only policy, readiness passes and the dry-run plan works; failover stage 2 is
refused with ``PermissionDenied`` naming ``rds:PromoteReadReplica`` in us-west-2 and nothing
is promoted; publishing metrics and uploading evidence are refused (the metrics add-on allows
publishing). With the drill operator's policy every failover and failback stage passes, and
the game day's operations work, under the evidence prefix the policy names only. A key
that is no IAM user's is rejected, which shows enforcement is on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sim

SCRIPT = Path(__file__).with_name("enforced_run.py")


@pytest.fixture(scope="module")
def report() -> dict:
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


def test_enforcement_is_on_and_the_moto_signature_workaround_still_needed(report: dict) -> None:
    assert report["bogus_key"]["type"] == "CredentialsError"
    assert "rejected (InvalidClientTokenId" in report["bogus_key"]["message"]
    # Pinned to moto 5.2.5: when moto signs bodiless requests right, drop the workaround.
    assert report["moto_bodiless_signature_bug"] is True


def test_readiness_and_plan_pass_with_the_readonly_policy(report: dict) -> None:
    results = report["readiness"]
    assert len(results) >= 15
    failed = [r for r in results if not r["passed"]]
    assert not failed, failed
    assert report["plan_calls"] > 0


def test_a_destructive_stage_with_readonly_credentials_is_a_permission_error(
        report: dict) -> None:
    denied = report["readonly_destructive"]
    assert denied["type"] == "PermissionDenied" and denied["exit_code"] == 2
    assert denied["action"] == "rds:PromoteReadReplica" and denied["region"] == "us-west-2"
    assert denied["message"].startswith(
        "permission denied: rds:PromoteReadReplica in us-west-2 (target 'embedded', "
        "service rds, AccessDenied)")
    assert "\n" not in denied["message"]
    assert report["replica_still_linked"] is True


def test_the_operations_need_the_operator_policy_or_the_metrics_add_on(report: dict) -> None:
    """Metrics and evidence upload (drill/operations.py): refused with the read-only policy
    alone, publishing allowed with the add-on, both allowed with the operator's policy."""
    readonly = report["readonly_operations"]
    assert readonly["published"] == 0 and len(readonly["metric_errors"]) == 2
    assert all(e.startswith("permission denied: cloudwatch:PutMetricData in us-")
               and "iam-metrics-publisher.json" in e for e in readonly["metric_errors"])
    assert readonly["uploaded"] == [] and "S3 answered AccessDenied" in \
        readonly["upload_errors"][0]
    add_on = report["readiness_metrics_operations"]
    assert add_on["published"] == add_on["total"] == 2 and add_on["metric_errors"] == []
    assert add_on["uploaded"] == [] and add_on["upload_errors"]  # readiness never uploads
    operator = report["operator_operations"]
    assert operator["published"] == 2 and operator["metric_errors"] == []
    assert operator["uploaded"] == ["operator/evidence-operator/attempt-1/summary.json"]
    assert operator["upload_errors"] == []
    # moto checks S3 resources: the operator's policy names the bucket and its prefix only
    outside = report["operator_outside_prefix"]
    assert outside["uploaded"] == [] and "S3 answered AccessDenied" in outside["upload_errors"][0]


def test_every_stage_passes_with_the_drill_operator_policy(report: dict) -> None:
    assert "operator_error" not in report, report.get("operator_traceback")
    assert report["operator_stages"] == [f"failover {n}" for n in range(1, 6)] + [
        f"failback {n}" for n in range(1, 5)]
