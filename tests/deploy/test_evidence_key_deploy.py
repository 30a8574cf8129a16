"""The deploy files pass the evidence HMAC key, from a secret and never inline, to the game day
and to ``maip-dr verify`` (CI workflow, Kubernetes Jobs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "deploy" / "ci" / "github-workflow.yml"
KUBE = ROOT / "deploy" / "kubernetes"
SECRET_EXPRESSION = "${{ secrets.MAIP_DR_HMAC_KEY }}"


def _steps() -> dict[str, dict[str, Any]]:
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    return {step.get("name", ""): step for step in jobs["gameday"]["steps"]}


@pytest.mark.parametrize("name", ["Game day", "Verify the evidence"])
def test_the_workflow_gives_the_key_from_the_secret(name: str) -> None:
    step = _steps()[name]
    assert step["env"]["MAIP_DR_HMAC_KEY"] == SECRET_EXPRESSION
    assert "MAIP_DR_HMAC_KEY" not in step["run"] and "--hmac-key-file" not in step["run"]
    assert "--unsigned-evidence" not in step["run"]  # the live game day is signed


def test_the_workflow_verifies_without_tolerating_unverified_evidence() -> None:
    step = _steps()["Verify the evidence"]
    assert step["run"].split()[:2] == ["maip-dr", "verify"]
    assert "|| true" not in step["run"] and "continue-on-error" not in step


def _container(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    (job,) = [d for d in yaml.safe_load_all((KUBE / name).read_text()) if d]
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


@pytest.mark.parametrize(("name", "command"), [("gameday-job.yaml", "gameday"),
                                               ("verify-job.yaml", "verify")])
def test_the_jobs_take_the_key_from_a_required_secret(name: str, command: str) -> None:
    _pod, container = _container(name)
    assert command in container["args"]
    env = {e["name"]: e for e in container["env"]}
    assert "value" not in env["MAIP_DR_HMAC_KEY"]
    assert env["MAIP_DR_HMAC_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "maip-dr-hmac", "key": "key", "optional": False}
    assert "--unsigned-evidence" not in container["args"]
    assert "kubectl -n maip-dr create secret generic maip-dr-hmac" in (
        KUBE / "gameday-job.yaml").read_text()


def test_the_verify_job_reads_the_game_days_volume_read_only_without_identity() -> None:
    pod, container = _container("verify-job.yaml")
    _gameday_pod, gameday = _container("gameday-job.yaml")
    assert container["args"][container["args"].index("--reports") + 1] == \
        gameday["args"][gameday["args"].index("--reports") + 1]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    reports = mounts["/var/lib/maip-dr/reports"]
    assert reports.get("readOnly") is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    claims = {v["name"]: v for v in _gameday_pod["volumes"]}
    assert volumes[reports["name"]]["persistentVolumeClaim"]["claimName"] == \
        claims["reports"]["persistentVolumeClaim"]["claimName"]
    assert pod["automountServiceAccountToken"] is False and "serviceAccountName" not in pod
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
