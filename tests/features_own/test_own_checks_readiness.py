"""``maip-dr readiness --features`` and ``pytest --dr-features`` against the embedded
simulation: the example's scenarios run beside ours with the same plugin and results; a bad
team file stops before any check; a step not in the catalogue fails naming the step."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from maip_cli_helpers import maip_dr_env, run_maip_dr

from maip_drlib.drill.pytest_runner import scenarios_root

pytestmark = pytest.mark.sim

ROOT = scenarios_root()
EXAMPLE = ROOT / "examples" / "own-checks"
LEDGER = ("The ledger database has a replica in DR", "The ledger service runs in both regions")


def test_readiness_runs_the_example_and_the_configs_folder_beside_ours(tmp_path: Path) -> None:
    """--features and [features] paths (relative to the config file) together, in one run
    against the embedded simulation (the config's target is the embedded one)."""
    (tmp_path / "conf" / "checks").mkdir(parents=True)
    (tmp_path / "conf" / "checks" / "c.feature").write_text(
        "@readiness\nFeature: Config team\n  Scenario: The payments gateway exists in DR\n"
        '    Then the deployment "payments-gateway" in namespace "maip-services" exists in '
        "the secondary region\n")
    config = tmp_path / "conf" / "c.toml"
    config.write_text('[features]\npaths = ["checks"]\n[targets.embedded]\nkind = "embedded"\n')
    result = run_maip_dr(["--config", str(config), "--json", "readiness", "--no-data-plane",
                          "--features", str(EXAMPLE)], tmp_path, timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    document = json.loads(result.stdout)
    outcomes = {r["scenario"]: r["outcome"] for r in document["results"]}
    team = (*LEDGER, "The payments gateway exists in DR")
    assert {name: outcomes.get(name) for name in team} == dict.fromkeys(team, "passed")
    assert "Clients can be switched to DR" in outcomes  # ours still run
    assert all(r["phase"] == "readiness" for r in document["results"])


def test_pytest_takes_dr_features_directly(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "steps"), "--rootdir", str(ROOT),
         "-p", "no:cacheprovider", "-m", "readiness", "-k", "ledger", "-q",
         "--dr-data-plane", "off", "--dr-features", str(EXAMPLE), "--dr-results", str(results)],
        cwd=tmp_path, env=maip_dr_env(tmp_path), capture_output=True, text=True, timeout=240,
        check=False)
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert "2 passed" in completed.stdout
    assert sorted(r["scenario"] for r in json.loads(results.read_text())) == sorted(LEDGER)


def test_a_step_not_in_the_catalogue_fails_naming_the_step(tmp_path: Path) -> None:
    team = tmp_path / "team"
    team.mkdir()
    (team / "t.feature").write_text("@readiness\nFeature: Team\n  Scenario: Frobnicator\n"
                                    "    Then the frobnicator in the secondary region is happy\n")
    result = run_maip_dr(["readiness", "--no-data-plane", "--features", str(team), "-k",
                          "frobnicator"], tmp_path, timeout=240, cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    assert ('Step definition is not found: Then "the frobnicator in the secondary region is '
            'happy"') in result.stdout
    assert "0/1 scenarios passed" in result.stdout


def test_an_unknown_tag_in_a_team_file_is_one_line_before_any_check(tmp_path: Path) -> None:
    team = tmp_path / "team"
    team.mkdir()
    (team / "t.feature").write_text("@readiness @nightly\nFeature: Team\n  Scenario: S\n"
                                    "    Then the DR load balancer is active\n")
    result = run_maip_dr(["readiness", "--no-data-plane", "--features", str(team)], tmp_path,
                         timeout=240, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    line = f"maip-dr: --dr-features: {team / 't.feature'}: scenario 'S': unknown tag @nightly"
    assert line in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
