"""The gates of issue 13 at the command line, each checked before the first call: consent on
sim and live targets, global options after the command, pass-through arguments, operators'
reasons, the evidence folder, resuming, and a live stage's declaration.

Every target here points at 127.0.0.1:9, where nothing listens: a command that called
anything would exit 4 (unreachable); exit 2 or 3 with one line proves the refusal came first.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_bad_input import UNREACHED_SIM, assert_one_line, kubeconfig_text

pytestmark = [pytest.mark.sim, pytest.mark.cli]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(UNREACHED_SIM)
    (tmp_path / "kubeconfig.yaml").write_text(kubeconfig_text())
    return path


@pytest.mark.parametrize(("target", "args", "culprits"), [
    ("prod", ["gameday", "--dr-declare-outage", "us-east-1 is down (ticket INC-1)"],
     ["--dr-execute and --dr-confirm prod", "nothing was called"]),
    ("prod", ["gameday", "--dr-planned", "--dr-execute"], ["--dr-confirm prod"]),
    ("rehearsal", ["gameday"], ["--dr-execute and --dr-confirm rehearsal"]),
    ("prod", ["readiness", "--metrics-namespace", "MAIP/DR"],
     ["publishing the readiness metrics", "--dr-execute"]),
    ("prod", ["lease", "create-table", "--dr-confirm", "prod"], ["--dr-execute"]),
    ("prod", ["stage", "failover", "2", "--dr-execute", "--dr-confirm", "prod"],
     ["--dr-declare-outage REASON or --dr-planned"]),
])
def test_no_write_without_consent_on_sim_and_live(target: str, args: list[str],
                                                   culprits: list[str], config: Path,
                                                   tmp_path: Path, maip_dr) -> None:
    assert_one_line(maip_dr(["--config", str(config), "--target", target, *args],
                            cwd=tmp_path), 3, *culprits)
    assert not (tmp_path / "reports").exists()


def test_global_options_after_the_command_mean_the_same(config: Path, tmp_path: Path,
                                                        maip_dr) -> None:
    before = maip_dr(["--config", str(config), "--target", "prod", "gameday", "--dr-planned"],
                     cwd=tmp_path)
    after = maip_dr(["gameday", "--config", str(config), "--target", "prod", "--dr-planned"],
                    cwd=tmp_path)
    assert (after.returncode, after.stderr) == (before.returncode, before.stderr)
    assert_one_line(after, 3, "'prod'", "--dr-execute")
    assert not (tmp_path / "reports").exists()  # no embedded simulation, no evidence folder


def test_a_global_option_given_twice_with_two_values_is_refused(config: Path, tmp_path: Path,
                                                                maip_dr) -> None:
    assert_one_line(maip_dr(["--target", "prod", "gameday", "--config", str(config),
                             "--target", "rehearsal"], cwd=tmp_path), 2, "--target",
                    "prod", "rehearsal")


@pytest.mark.parametrize(("passed", "culprit"), [
    (["--dr-target", "prod"], "'--dr-target'"),
    (["--dr-confirm=prod"], "'--dr-confirm=prod'"),
    (["-m", "readiness"], "'-m'"),
    (["-p", "no:journal"], "'-p'"),
    (["--alluredir", "/elsewhere"], "'--alluredir'"),
    (["--rootdir", "/"], "'--rootdir'"),
    (["-c", "other.ini"], "'-c'"),
    (["tests/"], "file or folder arguments"),
    (["-k", "failover and or"], "not a valid -k expression"),
    (["--tb", "sideways"], "--tb 'sideways'"),
    (["--no-such-pytest-option"], "'--no-such-pytest-option'"),
])
@pytest.mark.parametrize("command", [["gameday"], ["readiness"]])
def test_pass_through_is_checked_before_anything_starts(command: list[str], passed: list[str],
                                                        culprit: str, tmp_path: Path,
                                                        maip_dr) -> None:
    """On the embedded target: no simulation, lease, canary or evidence folder first."""
    result = maip_dr([*command, "--reports", str(tmp_path / "reports"), "--", *passed]
                     if command == ["gameday"] else [*command, "--", *passed], cwd=tmp_path)
    assert_one_line(result, 2, "pass-through arguments", culprit)
    assert "starting the embedded simulation" not in result.stderr
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("reason", ["", "   ", "down", "short\treason here", "x\x1b[2Jcleared"])
@pytest.mark.parametrize("option", ["--dr-declare-outage", "--dr-break-lease",
                                    "--dr-accept-readiness-failures"])
def test_reasons_are_ten_printable_characters(option: str, reason: str, tmp_path: Path,
                                              maip_dr) -> None:
    assert_one_line(maip_dr(["gameday", option, reason], cwd=tmp_path), 2, option)
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(("option", "value"), [("--canary-window", "nan"),
                                               ("--canary-window", "inf"),
                                               ("--dr-lease-ttl", "nan"),
                                               ("--dr-lease-ttl", "5"),
                                               ("--dr-lease-ttl", "3601")])
def test_numbers_are_finite_and_bounded(option: str, value: str, tmp_path: Path,
                                        maip_dr) -> None:
    assert_one_line(maip_dr(["gameday", option, value], cwd=tmp_path), 2, option)


def test_an_unwritable_reports_folder_is_refused_before_the_lease(tmp_path: Path,
                                                                   maip_dr) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the reports folder would go")
    result = maip_dr(["gameday", "--reports", str(blocker / "reports")], cwd=tmp_path)
    assert_one_line(result, 2, "--reports", "not a writable folder")
    assert "starting the embedded simulation" not in result.stderr


def test_resuming_a_drill_that_does_not_exist_is_refused(config: Path, tmp_path: Path,
                                                         maip_dr) -> None:
    (tmp_path / "reports").mkdir()
    assert_one_line(maip_dr(["--config", str(config), "--target", "prod", "gameday",
                             "--drill-id", "gameday-19990101T000000Z", "--resume-from",
                             "failover:3", "--reports", str(tmp_path / "reports")],
                            cwd=tmp_path), 2, "--drill-id", "no drill")
