"""The CI workflow: valid against check-jsonschema's GitHub workflow schema, and shaped as the
issue asks (nightly preflight, game day on dispatch, artifacts, failure fails the job)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.sim

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "deploy" / "ci" / "github-workflow.yml"


def _check_jsonschema() -> list[str]:
    beside = Path(sys.executable).parent / "check-jsonschema"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("check-jsonschema")
    if found:
        return [found]
    pytest.skip("check-jsonschema is not installed (pip install check-jsonschema)")


def test_valid_against_the_builtin_github_workflow_schema(tmp_path):
    command = _check_jsonschema()
    done = subprocess.run([*command, "--builtin-schema", "vendor.github-workflows",
                           str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "run-on:", 1))
    bad = subprocess.run([*command, "--builtin-schema", "vendor.github-workflows",
                          str(broken)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1  # the validator does reject a broken workflow


def load() -> dict:
    document = yaml.safe_load(WORKFLOW.read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads `on` as true
    return document


def test_nightly_preflight_and_game_day_on_dispatch():
    workflow = load()
    assert workflow["on"]["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"]  # daily
    assert "confirm" in workflow["on"]["workflow_dispatch"]["inputs"]
    jobs = workflow["jobs"]
    assert jobs["preflight"]["if"] == "github.event_name == 'schedule'"
    assert jobs["gameday"]["if"] == "github.event_name == 'workflow_dispatch'"
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert workflow["permissions"] == {"contents": "read", "id-token": "write"}


def test_artifacts_are_published_even_when_the_drill_fails():
    steps = load()["jobs"]["gameday"]["steps"]
    drill = next(s for s in steps if s.get("name") == "Game day")
    assert "continue-on-error" not in drill  # the CLI's exit code fails the job
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert len(uploads) == 2 and all(s.get("if") == "always()" for s in uploads)
    paths = " ".join(s["with"]["path"] for s in uploads)
    assert "html/index.html" in paths and "reports/" in paths
    later = steps[steps.index(drill) + 1:]
    assert all(s.get("if") == "always()" for s in later)


def test_no_secret_is_written_into_a_command_line():
    for job in load()["jobs"].values():
        for step in job["steps"]:
            assert "secrets." not in step.get("run", "")
