"""A second person's approval, proven with two IAM identities under moto's IAM enforcement
(``enforced_moto.py``, its own process): a synthetic drill's destructive stage (failover 2,
which writes one item through the session's region handles) waits for ``maip-dr approve``;
the operator's own approval is refused (exit 3, nothing written), the second identity's lets
the stage run; a rejection stops the drill before any call of the stage (the journal has no
``call`` or ``action`` record of failover 2) and the stage fails as a guard refusal (exit 3).

The drill runs the pytest plugin directly on one synthetic scenario against a ``live``-kind
target pointed at the moto server (the default credential chain, from the environment), the
way the suite proves its live path; both identities carry the drill operator's policy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from maip_drlib.config import Topology
from maip_drlib.drill import results_table
from maip_drlib.drill.lease import HOLDER_ALIVE_PREFIX, DrillLease, Holder, lease_key
from maip_drlib.drill.stage_result import StageResult

pytestmark = pytest.mark.sim

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DRILL = "gameday-approval-test"
OPERATOR, APPROVER = "maip-dr-operator", "maip-dr-approver"

FEATURE = """
@failover
Feature: Synthetic failover
  @stage_1
  Scenario: First
    When stage 1 runs

  @destructive @stage_2
  Scenario: Second
    When stage 2 runs
"""

STEPS = """
from pytest_bdd import parsers, scenarios, when

scenarios("features")

@when(parsers.parse("stage {n:d} runs"))
def run_stage(n, dr_handles, dr_topology):
    if n == 2:  # one mutating call through the session's handles: journalled as a call
        dr_handles.secondary.client("dynamodb").put_item(
            TableName=dr_topology.lease_table, Item={"pk": {"S": "synthetic#stage-2-ran"}})
"""

CONFTEST = """
pytest_plugins = ["maip_drlib.pytest_dr.plugin", "maip_drlib.pytest_dr.fixtures",
                  "maip_drlib.pytest_dr.journal_hooks", "maip_drlib.pytest_dr.write_gate_hooks",
                  "maip_drlib.pytest_dr.lease_hooks"]
"""

KUBECONFIG = """
apiVersion: v1
kind: Config
clusters:
- {name: primary, cluster: {server: "https://127.0.0.1:9"}}
- {name: dr, cluster: {server: "https://127.0.0.1:9"}}
users:
- {name: u, user: {token: t}}
contexts:
- {name: maip-prod, context: {cluster: primary, user: u}}
- {name: maip-prod-dr, context: {cluster: dr, user: u}}
current-context: maip-prod
"""


@pytest.fixture(scope="module")
def moto() -> Iterator[dict[str, Any]]:
    server = subprocess.Popen([sys.executable, str(HERE / "enforced_moto.py")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line, "the enforced moto server did not start"
        yield json.loads(line)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=20)


def _env(moto: dict[str, Any], user: str, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAIP_DR_"))}
    key, secret = moto["keys"][user]
    (folder / "empty").write_text("")
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret,
               AWS_CONFIG_FILE=str(folder / "empty"),
               AWS_SHARED_CREDENTIALS_FILE=str(folder / "empty"),
               AWS_EC2_METADATA_DISABLED="true", PYTHONPATH=str(REPO))
    return env


@pytest.fixture
def project(tmp_path: Path, moto: dict[str, Any]) -> Path:
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "synthetic.feature").write_text(FEATURE)
    (tmp_path / "test_synthetic.py").write_text(STEPS)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "kubeconfig.yaml").write_text(KUBECONFIG)
    regions = "".join(textwrap.dedent(f"""
        [targets.prod.regions.{region}]
        endpoint_url = "{moto['endpoint']}"
        kubeconfig = "kubeconfig.yaml"
        """) for region in ("us-east-1", "us-west-2"))
    (tmp_path / "c.toml").write_text(textwrap.dedent("""
        [targets.prod]
        kind = "live"
        public_endpoint_url = "http://127.0.0.1:9"
        """) + regions)
    (tmp_path / "reports" / DRILL / "attempt-1").mkdir(parents=True)
    return tmp_path


def _drill(project: Path, moto: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "failover",
         "--dr-config", "c.toml", "--dr-target", "prod", "--dr-execute", "--dr-confirm",
         "prod", "--dr-require-approval", "--dr-approval-timeout", "5",
         "--dr-attempt-dir", str(project / "reports" / DRILL / "attempt-1"),
         "--dr-results", str(project / "results.json")],
        cwd=project, env=_env(moto, OPERATOR, project), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)


def _journal(project: Path) -> list[dict[str, Any]]:
    path = project / "reports" / DRILL / "attempt-1" / "journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _until(condition: Callable[[], bool], what: str, drill: subprocess.Popen[str],
           deadline_s: float = 90) -> None:
    """Poll ``condition`` (a file read) until true; fail at the deadline or if the drill
    ended first."""
    started = time.monotonic()
    while not condition():
        if drill.poll() is not None:
            out = drill.stdout.read() if drill.stdout else ""
            pytest.fail(f"the drill ended (exit {drill.returncode}) before {what}: {out[-3000:]}")
        if time.monotonic() - started > deadline_s:
            drill.kill()
            pytest.fail(f"no {what} within {deadline_s}s")
        time.sleep(0.1)


def _approve(project: Path, moto: dict[str, Any], user: str, *extra: str,
             stage: str = "failover:2") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "maip-dr"), "--config", "c.toml", "--target", "prod",
         "approve", DRILL, "--stage", stage, "--dr-execute", "--dr-confirm", "prod", *extra],
        cwd=project, env=_env(moto, user, project), capture_output=True, text=True,
        timeout=60, check=False)


def _finish(drill: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = drill.communicate(timeout=90)
    return drill.returncode, out


def _requested(project: Path) -> bool:
    return any(r["kind"] == "approval.requested" for r in _journal(project))


def _of_stage_2(records: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == kind and (
        r.get("stage") == "failover 2" or "Second" in str(r.get("nodeid", "")))]


def test_the_operator_is_refused_and_the_second_identity_lets_the_stage_run(
        project: Path, moto: dict[str, Any]) -> None:
    drill = _drill(project, moto)
    _until(lambda: _requested(project), "approval request", drill)
    requested = next(r for r in _journal(project) if r["kind"] == "approval.requested")
    assert requested["operator_arn"] == f"arn:aws:iam::{moto['account']}:user/{OPERATOR}"
    assert requested["command"].endswith(f"approve {DRILL} --stage failover:2 --dr-execute "
                                         "--dr-confirm prod")
    assert not _of_stage_2(_journal(project), "call")  # waiting: nothing of the stage ran

    elsewhere = _approve(project, moto, APPROVER, stage="failover:3")  # nothing waits there
    assert elsewhere.returncode == 2, elsewhere.stderr
    assert "no approval request of failover 3 for drill" in elsewhere.stderr

    own = _approve(project, moto, OPERATOR)
    assert own.returncode == 3, own.stderr
    assert "is the drill operator's: another identity must approve" in own.stderr
    assert len(own.stderr.strip().splitlines()[-1]) < 300

    second = _approve(project, moto, APPROVER)
    assert second.returncode == 0, second.stderr
    assert "the pending request" in second.stderr and requested["operator_arn"] in second.stderr
    assert "failover 2 of drill gameday-approval-test: approved by arn:aws:iam::" in second.stdout

    code, out = _finish(drill)
    assert code == 0, out[-3000:]
    records = _journal(project)
    granted = [r for r in records if r["kind"] == "approval.granted"]
    assert len(granted) == 1
    assert {k: granted[0][k] for k in ("phase", "stage", "stage_name", "approver_arn",
                                       "operator_arn")} == {
        "phase": "failover", "stage": 2, "stage_name": "failover 2",
        "approver_arn": f"arn:aws:iam::{moto['account']}:user/{APPROVER}",
        "operator_arn": requested["operator_arn"]}
    assert granted[0]["decided_at"].endswith("Z")
    assert [r["operation"] for r in _of_stage_2(records, "call")
            if r.get("event") == "intent"] == ["PutItem"]
    again = _approve(project, moto, APPROVER)  # one decision per request
    assert again.returncode == 3 and "decided already" in again.stderr


def test_a_rejection_stops_the_drill_before_any_call_of_the_stage(
        project: Path, moto: dict[str, Any]) -> None:
    drill = _drill(project, moto)
    _until(lambda: _requested(project), "approval request", drill)
    rejected = _approve(project, moto, APPROVER, "--reject", "the DR replica lags too much")
    assert rejected.returncode == 0, rejected.stderr
    code, out = _finish(drill)
    assert code == 1, out[-3000:]  # pytest's own code; maip-dr maps the guard to 3 below
    records = _journal(project)
    refused = [r for r in records if r["kind"] == "approval.rejected"]
    assert len(refused) == 1 and refused[0]["reason"] == "the DR replica lags too much"
    assert refused[0]["stage_name"] == "failover 2"
    assert not _of_stage_2(records, "call") and not _of_stage_2(records, "action")
    results = json.loads((project / "results.json").read_text())
    stage_2 = next(r for r in results if r["stage"] == 2)
    assert stage_2["outcome"] == "failed" and stage_2["error_kind"] == "guard"
    assert "rejected by arn:aws:iam::" in stage_2["message"]
    assert results_table.exit_code(map(StageResult.from_row, results), [code]) == 3


def test_a_lease_broken_during_the_wait_stops_the_approved_stage(
        project: Path, moto: dict[str, Any]) -> None:
    """The lease was checked before the wait; a take-over while waiting is seen after it."""
    drill = _drill(project, moto)
    _until(lambda: _requested(project), "approval request", drill)
    key, secret = moto["keys"][APPROVER]
    client = boto3.client("dynamodb", region_name="us-west-2", endpoint_url=moto["endpoint"],
                          aws_access_key_id=key, aws_secret_access_key=secret)
    DrillLease(client=client, table=Topology().lease_table, region="us-west-2",
               key=lease_key(Topology().record_name), ttl_s=60,
               holder=Holder.this_process("another-drill")).acquire(
        break_reason=f"{HOLDER_ALIVE_PREFIX} a test takes the lease over during the wait")
    assert _approve(project, moto, APPROVER).returncode == 0
    code, out = _finish(drill)
    assert code != 0, out[-3000:]
    records = _journal(project)
    assert [r["kind"] for r in records if r["kind"] == "approval.granted"] == [
        "approval.granted"]
    assert not _of_stage_2(records, "call")
    results = json.loads((project / "results.json").read_text())
    stage_2 = next(r for r in results if r["stage"] == 2)
    assert stage_2["error_kind"] == "guard" and "lease" in stage_2["message"]
    assert results_table.exit_code(map(StageResult.from_row, results), [code]) == 3
