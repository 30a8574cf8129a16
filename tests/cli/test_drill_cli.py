"""The drill from the command line, as users run it:

- ``maip-dr gameday`` on the embedded simulation (the README's main job: the session's shared
  game day, tests/shared_gameday.py) passes every stage and fills ``reports/``;
- (a game day against a running ``sim up``, its consent flags and the steady state it leaves
  are in tests/operations/test_gameday_operations_e2e.py, with every operation configured);
- ``sim up --after failover:2``: one stage alone, then the same stage again as a resume does
  nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from maip_cli_helpers import (
    NEEDS_AWS_CLI,
    SimUpProcess,
    maip_dr_env,
    rds_instances_seen_by_aws_cli,
)
from shared_gameday import SharedGameDay

pytestmark = [pytest.mark.gameday, pytest.mark.cli]

def test_embedded_gameday_passes_every_stage_and_fills_reports(
        embedded_gameday: SharedGameDay) -> None:
    result = embedded_gameday
    assert result.returncode == 0, result.output
    assert "verdict: PASS (exit 0)" in result.stdout
    rpo_line = next(line for line in result.stdout.splitlines() if line.startswith("RPO per"))
    assert "dynamodb " in rpo_line and "rds " in rpo_line, rpo_line
    for stage in ("failover 1", "failover 5", "failback 1", "failback 4"):
        assert stage in result.stdout
    attempts = list((result.workdir / "reports").glob("*/attempt-1"))
    assert len(attempts) == 1
    results = [r for path in sorted(attempts[0].glob("results-*.json"))
               if not path.name.endswith(".decisions.json")
               for r in json.loads(path.read_text())]
    stages = sorted(((r["phase"], r["stage"]) for r in results
                     if r["phase"] in ("failover", "failback")),
                    key=lambda phase_stage: (phase_stage[0] != "failover", phase_stage[1]))
    assert stages == [("failover", n) for n in range(1, 6)] + [("failback", n)
                                                              for n in range(1, 5)]
    assert all(r["outcome"] == "passed" and r["rto_ok"] for r in results if r["stage"])
    assert any(attempts[0].glob("allure-results/*-result.json"))
    decisions = json.loads((attempts[0] / "results-failover.decisions.json").read_text())
    assert any("outage" in json.dumps(d).lower() for d in decisions)


@pytest.fixture(scope="module")
def sim_after_promotion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimUpProcess]:
    workdir = tmp_path_factory.mktemp("after-failover-2")
    home = workdir / "home"
    home.mkdir()
    sim = SimUpProcess(workdir, maip_dr_env(home), ["--time-scale", "1.0", "--after",
                                                "failover:2"])
    yield sim
    assert sim.stop() == 0


@NEEDS_AWS_CLI
def test_after_promotion_the_aws_cli_sees_a_standalone_writer(
        sim_after_promotion: SimUpProcess) -> None:
    west = rds_instances_seen_by_aws_cli(sim_after_promotion, "us-west-2")
    assert "maip-prod-postgres-replica\tavailable\tNone" in west, west


def test_one_stage_alone_and_its_resume(sim_after_promotion: SimUpProcess) -> None:
    flags = ["--dr-execute", "--dr-confirm", "sim", "--drill-id", "resume-test"]
    first = sim_after_promotion.maip_dr(["stage", "failover", "4", *flags])
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert "action:" in first.stdout  # it scaled the node group and the deployments
    again = sim_after_promotion.maip_dr(["stage", "failover", "4", *flags])
    assert again.returncode == 0, again.stdout[-2000:]
    assert "action:" not in again.stdout  # recognised as done: nothing twice
    attempts = sorted(p.name for p in (sim_after_promotion.workdir / "reports" /
                                       "resume-test").iterdir())
    assert attempts == ["attempt-1", "attempt-2"]
    promote_again = sim_after_promotion.maip_dr(["stage", "failover", "2", *flags])
    assert promote_again.returncode == 0, promote_again.stdout[-2000:]
    assert "action:" not in promote_again.stdout  # no second promotion


def test_single_stage_on_the_embedded_target_is_refused(maip_dr) -> None:
    result = maip_dr(["stage", "failover", "2"])
    assert result.returncode == 2 and "persistent target" in result.stderr
