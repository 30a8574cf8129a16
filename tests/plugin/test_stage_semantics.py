"""The drill mechanics of the pytest plugin, on synthetic stages (no simulation needed):
drill order whatever the file names, later stages skipped after a functional failure, an RTO
overrun that fails the RTO verdict without stopping the drill, the @destructive guard and the
--dr-confirm check."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from maip_cli_helpers import kubeconfig_text

pytestmark = pytest.mark.sim

pytest_plugins = ["pytester"]

FEATURE = """
@failover
Feature: Synthetic failover
  @destructive @stage_2
  Scenario: Second
    Given the RTO budget of this stage is {budget2} minutes
    When stage 2 runs

  @stage_1
  Scenario: First
    Given the RTO budget of this stage is 10 minutes
    When stage 1 runs

  @destructive @stage_3
  Scenario: Third
    Given the RTO budget of this stage is 10 minutes
    When stage 3 runs
"""

STEPS = """
import time
from pytest_bdd import parsers, scenarios, when
from maip_drlib.errors import CheckFailed

ORDER = []
scenarios("features")

@when(parsers.parse("stage {{n:d}} runs"))
def run_stage(n):
    ORDER.append(n)
    with open("order.txt", "a") as out:
        out.write(f"{{n}}\\n")
    if n == {fail_stage}:
        raise CheckFailed("synthetic failure", region="us-west-2", resource="stage")
    time.sleep({sleep})
"""

CONFTEST = """
pytest_plugins = ["maip_drlib.pytest_dr.plugin", "maip_drlib.pytest_dr.fixtures",
                  "steps.common_steps"]
"""


def _project(pytester: pytest.Pytester, *, budget2: float = 10, fail_stage: int = 0,
             sleep: float = 0.0, time_scale: float = 0.05) -> Path:
    (pytester.path / "features").mkdir()
    (pytester.path / "features" / "a_synthetic.feature").write_text(
        FEATURE.format(budget2=budget2))
    pytester.makepyfile(test_synthetic=STEPS.format(fail_stage=fail_stage, sleep=sleep))
    pytester.makeconftest(CONFTEST)
    config = pytester.path / "c.toml"
    config.write_text(f"[targets.rehearsal]\nkind = 'embedded'\ntime_scale = {time_scale}\n")
    return config


@pytest.fixture(autouse=True)
def project_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The synthetic project imports the real ``steps`` package (the RTO budget step)."""
    root = str(Path(__file__).resolve().parents[2])
    monkeypatch.setenv("PYTHONPATH", root)


def _results(pytester: pytest.Pytester) -> list[dict]:
    return json.loads((pytester.path / "results.json").read_text())


def _run(pytester: pytest.Pytester, config: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--dr-config", str(config), "--dr-results", "results.json",
        *args)


def test_stages_run_in_drill_order_and_destructive_needs_execute(
        pytester: pytest.Pytester) -> None:
    config = _project(pytester)
    result = _run(pytester, config)
    result.assert_outcomes(passed=1, skipped=2)
    assert (pytester.path / "order.txt").read_text().split() == ["1"]
    skipped = [r for r in _results(pytester) if r["outcome"] == "skipped"]
    assert all("--dr-execute" in r["message"] for r in skipped)
    result = _run(pytester, config, "--dr-execute")
    result.assert_outcomes(passed=3)
    assert (pytester.path / "order.txt").read_text().split() == ["1", "1", "2", "3"]


def test_a_functional_failure_skips_the_later_stages(pytester: pytest.Pytester) -> None:
    config = _project(pytester, fail_stage=2)
    result = _run(pytester, config, "--dr-execute")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    third = next(r for r in _results(pytester) if r["stage"] == 3)
    assert third["outcome"] == "skipped"
    assert "failover stage 2 failed" in third["message"] and "synthetic failure" in (
        third["message"])
    second = next(r for r in _results(pytester) if r["stage"] == 2)
    assert second["error_kind"] == "check"


def test_an_rto_overrun_fails_the_verdict_but_not_the_drill(pytester: pytest.Pytester) -> None:
    # 0.3 s of real time at 0.05 s per simulated minute is 6 simulated minutes: over a 1-minute
    # budget for stage 2, within the 10 minutes of the others.
    config = _project(pytester, budget2=1, sleep=0.3)
    result = _run(pytester, config, "--dr-execute")
    result.assert_outcomes(passed=3)
    by_stage = {r["stage"]: r for r in _results(pytester)}
    assert by_stage[2]["rto_ok"] is False and by_stage[2]["simulated_minutes"] > 1
    assert by_stage[1]["rto_ok"] is True and by_stage[3]["rto_ok"] is True


def test_confirm_must_match_a_sim_target(pytester: pytest.Pytester) -> None:
    _project(pytester)
    # A sim target the loader accepts: it names a loopback kubeconfig (never ~/.kube/config).
    (pytester.path / "kube.yaml").write_text(kubeconfig_text("https://127.0.0.1:9"))
    config = pytester.path / "sim.toml"
    config.write_text(textwrap.dedent("""
        [targets.rehearsal-sim]
        kind = "sim"
        control_url = "http://127.0.0.1:9"
        [targets.rehearsal-sim.regions.us-east-1]
        endpoint_url = "http://127.0.0.1:9"
        kubeconfig = "kube.yaml"
        [targets.rehearsal-sim.regions.us-west-2]
        endpoint_url = "http://127.0.0.1:9"
        kubeconfig = "kube.yaml"
    """))
    result = _run(pytester, config, "--dr-execute", "--dr-confirm", "prod")
    assert result.ret == 3
    assert "--dr-confirm must repeat the target's name 'rehearsal-sim'" in result.stderr.str()
    assert not (pytester.path / "order.txt").exists()  # nothing ran


def test_pause_between_stages_needs_the_operators_yes(pytester: pytest.Pytester) -> None:
    config = _project(pytester)
    args = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--dr-config",
            str(config), "--dr-results", "results.json", "--dr-execute",
            "--dr-pause-between-stages")
    approved = pytester.run(*args, stdin=b"yes\nyes\n", timeout=120)
    approved.assert_outcomes(passed=3)  # type: ignore[attr-defined]
    assert "Type 'yes' to go on" in approved.stderr.str()
    decisions = json.loads((pytester.path / "results.decisions.json").read_text())
    assert [d["decision"] for d in decisions] == ["operator approved"] * 2
    (pytester.path / "order.txt").unlink()
    refused = pytester.run(*args, stdin=b"no\n", timeout=120)
    refused.assert_outcomes(passed=1, skipped=2)
    assert (pytester.path / "order.txt").read_text().split() == ["1"]
    skipped = [r for r in _results(pytester) if r["outcome"] == "skipped"]
    assert all("not approved by the operator" in r["message"] for r in skipped)


@pytest.mark.parametrize("value", ["on", "off"])
def test_data_plane_option_is_refused_for_a_live_target(pytester: pytest.Pytester,
                                                         value: str) -> None:
    """--dr-data-plane is for the embedded target: a live one exits 2 before any call."""
    from maip_drlib.cli.init import starter_config

    _project(pytester)
    config = pytester.path / "live.toml"
    config.write_text(starter_config())
    result = _run(pytester, config, "--dr-target", "prod", "--dr-data-plane", value)
    assert result.ret == 2
    assert "--dr-data-plane: only for the embedded target; target 'prod' is live" in \
        result.stderr.str()
    assert not (pytester.path / "order.txt").exists()
