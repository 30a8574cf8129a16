"""A game day on a live target without the evidence HMAC key is refused (exit 3, one line,
before any call) unless ``--unsigned-evidence REASON``; sim targets run unsigned as before.

The targets point at 127.0.0.1:9, where nothing listens (tests/cli/test_bad_input.py): a
command that passed every guard stops later on its missing credentials or the unreachable
lease table, which proves the key guard let it through; no drill runs here (the journalled
reason is tested at unit level: tests/evidence/test_evidence_key_guard.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_bad_input import UNREACHED_SIM, assert_one_line, kubeconfig_text

pytestmark = [pytest.mark.sim, pytest.mark.cli]

LIVE = ["--config", "c.toml", "--target", "prod", "gameday", "--dr-execute", "--dr-confirm",
        "prod", "--dr-planned"]
REASON = "no key store on this test bench yet"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "c.toml").write_text(UNREACHED_SIM)
    (tmp_path / "kubeconfig.yaml").write_text(kubeconfig_text())
    (tmp_path / "k.key").write_text("dummy-hmac-key-0123456789abcdef\n")
    return tmp_path


def test_a_live_game_day_without_a_key_is_refused(workdir: Path, maip_dr) -> None:
    line = assert_one_line(maip_dr(LIVE, cwd=workdir), 3, "live target 'prod'",
                           "MAIP_DR_HMAC_KEY or --hmac-key-file", "--unsigned-evidence REASON")
    assert "nothing was called" in line
    assert not (workdir / "reports").exists()


@pytest.mark.parametrize("extra", [["--unsigned-evidence", REASON],
                                   ["--hmac-key-file", "k.key"]])
def test_the_key_or_a_reason_lets_it_through(extra: list[str], workdir: Path, maip_dr) -> None:
    done = maip_dr([*LIVE, *extra], cwd=workdir)
    assert "signs its evidence" not in done.stderr
    assert "AWS credentials of target 'prod'" in done.stderr  # the next check, after the guard


def test_a_reason_beside_a_key_is_bad_input(workdir: Path, maip_dr) -> None:
    assert_one_line(maip_dr([*LIVE, "--hmac-key-file", "k.key", "--unsigned-evidence", REASON],
                            cwd=workdir), 2, "--unsigned-evidence", "drop the option or the key")


def test_a_sim_target_runs_without_a_key(workdir: Path, maip_dr) -> None:
    done = maip_dr(["--config", "c.toml", "--target", "rehearsal", "gameday", "--dr-execute",
                    "--dr-confirm", "rehearsal"], cwd=workdir)
    assert "signs its evidence" not in done.stderr
    assert "drill lease table" in done.stderr  # past every guard: its first call fails
