"""Collecting the scenarios must not import boto3 or the kubernetes package (about 1 s
together in a fresh process): the library imports them inside the functions that build clients
or call an API. Checked in a fresh interpreter, as ``maip-dr readiness`` starts one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from maip_drlib.drill import pytest_runner

pytestmark = pytest.mark.sim

REPO = Path(__file__).resolve().parents[2]

MODULES = (
    "maip_drlib.regions", "maip_drlib.drill.context", "maip_drlib.probes.kube",
    "maip_drlib.probes.ecr", "maip_drlib.drill.failover", "maip_drlib.drill.failback",
    "maip_drlib.readiness", "maip_drlib.pytest_dr.plugin", "maip_drlib.pytest_dr.lease_hooks",
    "maip_drlib.pytest_dr.write_gate_hooks", "maip_drlib.write_gate",
)
HEAVY = ("boto3", "kubernetes", "botocore.config", "yaml")


def test_library_modules_import_neither_boto3_nor_kubernetes() -> None:
    code = ("import importlib, json, sys\n"
            f"for name in {MODULES!r}: importlib.import_module(name)\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_a_region_handle_still_builds_its_clients() -> None:
    from maip_drlib.config import RegionConnection
    from maip_drlib.regions import RegionHandle

    handle = RegionHandle(RegionConnection(region="us-west-2", kube_context="x",
                                           endpoint_url="http://127.0.0.1:9"),
                          target_name="t", simulated=True)
    client = handle.client("ecr")
    assert client.meta.region_name == "us-west-2"
    assert client.meta.config.retries["total_max_attempts"] == 2


def test_drill_runs_block_hypothesis_from_the_command_line(monkeypatch: Any,
                                                           tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def fake_main(args: list[str], plugins: list[object]) -> int:
        seen.append(list(args))
        return 5

    monkeypatch.setattr(pytest, "main", fake_main)
    run = pytest_runner.run_scenarios("readiness", "readiness", results_path=tmp_path / "r.json",
                                      dr_args=[], extra_args=[])
    assert run.exit_code == 5 and run.results == ()
    command = seen[0]
    for plugin in ("no:hypothesispytest", "no:unraisableexception"):
        assert command[command.index(plugin) - 1] == "-p"
