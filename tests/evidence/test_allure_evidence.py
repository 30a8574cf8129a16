"""Allure evidence of a real run: labels, stage outcome attachments, safe step parameters,
environment.properties, executor.json and categories, with no dummy secret in any file.

One pytest subprocess against the embedded simulation: the readiness scenarios plus failover
stage 1 as a planned failover (it returns a StageOutcome), the rest of the failover skipped.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from maip_drlib.evidence.allure_meta import CATEGORIES
from maip_drlib.sim.aws.seed import SIMULATED_DB_PASSWORD

pytestmark = pytest.mark.sim

ROOT = Path(__file__).resolve().parents[2]
DRILL_ID = "evidence-test"


@pytest.fixture(scope="module")
def alluredir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reports") / DRILL_ID / "attempt-3" / "allure-results"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-m", "readiness or failover", "--dr-execute", "--dr-planned",
               "-k", "not (stage_2 or stage_3 or stage_4 or stage_5) or readiness",
               "--alluredir", str(folder), "--dr-drill-id", DRILL_ID, str(ROOT / "steps")]
    if "allure_evidence" not in (ROOT / "conftest.py").read_text():
        command[3:3] = ["-p", "maip_drlib.pytest_dr.allure_evidence"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return folder


def _results(alluredir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in alluredir.glob("*-result.json")]


def _labels(result: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for label in result["labels"]:
        out.setdefault(label["name"], []).append(label["value"])
    return out


def _steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flat = []
    for step in steps:
        flat.append(step)
        flat += _steps(step.get("steps", []))
    return flat


def test_every_result_carries_the_drill_labels(alluredir: Path) -> None:
    results = _results(alluredir)
    assert len(results) >= 8
    for result in results:
        labels = _labels(result)
        assert labels["target"] == ["embedded"] and labels["target_kind"] == ["embedded"]
        assert labels["drill_id"] == [DRILL_ID] and labels["simulated"] == ["true"]
        assert len(labels["feature"]) == 1  # the Gherkin feature label is kept, not replaced
        assert labels["stage"][0] in ("readiness", "failover 1")
        assert result["name"].startswith("[SIMULATED] ")
        assert result["description"].startswith("**SIMULATED RUN**")
    eks = next(r for r in results if "Both EKS clusters" in r["name"])
    assert sorted(_labels(eks)["region"]) == ["us-east-1", "us-west-2"]


def test_the_stage_outcome_is_attached_to_its_when_step(alluredir: Path) -> None:
    stage1 = next(r for r in _results(alluredir) if _labels(r)["stage"] == ["failover 1"])
    assert stage1["status"] == "passed"
    when = next(s for s in stage1["steps"] if s["name"].startswith("When "))
    attachment = next(a for a in when["attachments"] if a["name"].startswith("stage outcome"))
    outcome = json.loads((alluredir / attachment["source"]).read_text())
    assert outcome["stage"] == "failover 1" and outcome["summary"]
    assert set(outcome) == {"stage", "summary", "actions", "facts"}


def test_step_parameters_are_parsed_values_only(alluredir: Path) -> None:
    parameters = [p for r in _results(alluredir) for s in _steps(r["steps"])
                  for p in s.get("parameters", [])]
    assert {"name": "role", "value": "primary"} in parameters
    assert not [p for p in parameters if p["name"].startswith("dr_")]
    for path in alluredir.iterdir():
        text = path.read_text(errors="replace")
        assert not re.search(r"DrillContext\(|ReadinessInputs\(|<maip_drlib|<botocore", text), \
            path.name


def test_environment_and_executor(alluredir: Path) -> None:
    props = dict(line.split("=", 1) for line in
                 (alluredir / "environment.properties").read_text().splitlines() if line)
    assert props["simulated"] == "true" and props["target"] == "embedded"
    assert props["target.kind"] == "embedded" and props["drill.id"] == DRILL_ID
    assert props["regions"] == "us-east-1, us-west-2" and props["attempt"] == "3"
    assert "time_scale" in props and props["config.sha256"].startswith("none")
    for library in ("maip-dr", "boto3", "kubernetes", "pytest", "pytest-bdd",
                    "allure-pytest-bdd", "moto"):
        assert props[f"version.{library}"], library
    executor = json.loads((alluredir / "executor.json").read_text())
    assert executor["drillId"] == DRILL_ID and executor["attemptId"] == 3
    assert executor["operator"]["awsArn"].startswith("arn:aws:")
    assert executor["operator"]["user"] and executor["operator"]["host"]
    assert DRILL_ID in executor["buildName"] and "SIMULATED" in executor["buildName"]
    assert executor["name"].startswith(executor["operator"]["awsArn"])


def test_categories_for_allure_2_and_3_agree(alluredir: Path) -> None:
    categories = json.loads((alluredir / "categories.json").read_text())
    assert [c["name"] for c in categories] == [c["name"] for c in CATEGORIES]
    config = (ROOT / "allurerc.mjs").read_text()
    for category in CATEGORIES:
        assert f'"{category["name"]}"' in config
    assert "singleFile: true" in config
    capability = re.compile(categories[0]["messageRegex"])
    assert capability.fullmatch("maip_drlib.errors.CheckFailed: lag over 60s; region=us-west-2")
    assert not capability.fullmatch("maip_drlib.errors.Unreachable: connection refused")


def test_no_dummy_secret_in_any_file(alluredir: Path) -> None:
    for path in alluredir.iterdir():
        text = path.read_text(errors="replace")
        assert SIMULATED_DB_PASSWORD not in text, path.name
        assert "aws_secret_access_key" not in text.lower(), path.name
