"""The Gherkin's own numbers are bad input too: checked before a drill calls anything."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from maip_drlib import cli as cli_module
from maip_drlib.drill import feature_values
from maip_drlib.drill.pytest_runner import scenarios_root
from maip_drlib.errors import ConfigError

pytestmark = pytest.mark.unit

FEATURES = scenarios_root() / "features"


def test_the_projects_features_pass() -> None:
    assert feature_values.check_feature_values(FEATURES) >= 25


def _with_line(tmp_path: Path, feature: str, old: str, new: str) -> Path:
    folder = tmp_path / "features"
    shutil.copytree(FEATURES, folder)
    path = folder / feature
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return folder


@pytest.mark.parametrize(("feature", "old", "new", "culprit"), [
    ("failover.feature", "the RTO budget of this stage is 15 minutes",
     "the RTO budget of this stage is 0 minutes", "0 in step"),
    ("readiness.feature", "the RDS replica lag is under 60 seconds",
     "the RDS replica lag is under -60 seconds", "-60 in step"),
    ("rpo.feature", "within 5 seconds", "within 0.0 seconds", "0.0 in step"),
    ("failback.feature", "10/90, 50/50, 90/10, 100/0", "10/90, 50/40, 100/0", "step 2"),
    ("failback.feature", "10/90, 50/50, 90/10, 100/0", "10/90, 50/50, 90/10", "last step"),
    ("failback.feature", "10/90, 50/50, 90/10, 100/0", "10/90, half/half, 100/0", "read like"),
])
def test_a_bad_value_names_file_line_and_value(tmp_path: Path, feature: str, old: str, new: str,
                                               culprit: str) -> None:
    folder = _with_line(tmp_path, feature, old, new)
    line = next(number for number, text in
                enumerate((folder / feature).read_text().splitlines(), start=1) if new in text)
    with pytest.raises(ConfigError) as caught:
        feature_values.check_feature_values(folder)
    message = str(caught.value)
    assert message.startswith(f"{folder / feature}:{line}: "), message
    assert culprit in message and "\n" not in message
    assert caught.value.exit_code == 2


def test_numbers_inside_words_and_paths_are_not_values(tmp_path: Path) -> None:
    folder = tmp_path / "features"
    folder.mkdir()
    (folder / "x.feature").write_text(
        "Feature: x\n  Scenario: y\n"
        "    When DR is checked end to end with a GET of /api/v0/status expecting 200\n"
        "    Then 5XX stay under 5 per minute on ipv0\n")
    assert feature_values.check_feature_values(folder) == 2


def test_the_drill_stops_before_the_simulation_starts(tmp_path: Path, monkeypatch,
                                                      capsys) -> None:
    folder = _with_line(tmp_path, "failover.feature", "the RTO budget of this stage is 15 minutes",
                        "the RTO budget of this stage is 0 minutes")
    monkeypatch.setattr("maip_drlib.cli.drill_target.scenarios_root", lambda: folder.parent)

    def no_simulation(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the simulation was started")

    monkeypatch.setattr("maip_drlib.sim.simulation.Simulation.__init__", no_simulation)
    with pytest.raises(SystemExit) as exited:
        cli_module.main(["gameday", "--reports", str(tmp_path / "reports")])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "failover.feature:" in err and "0 in step" in err, err
    assert not (tmp_path / "reports").exists()
