"""The approval options at the command line, refused before anything starts: approval on the
embedded or a sim target (one identity: nobody else could approve), a timeout without
approval or out of bounds, ``--quiet`` hiding the approver's command; ``maip-dr approve``
on the embedded target, without consent, with a bad stage or reason; the options reach the
pytest session; ``require_approval`` in the config."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from maip_drlib.cli import cli
from maip_drlib.cli.drill_options import dr_args
from maip_drlib.config import embedded_target
from maip_drlib.config_loader import load_config
from maip_drlib.errors import ConfigError, DRError, GuardRefused

pytestmark = pytest.mark.unit


def _live_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "c.toml"
    path.write_text(textwrap.dedent(f"""
        [targets.prod]
        kind = "live"
        {extra}
        [targets.prod.regions.us-east-1]
        endpoint_url = "http://127.0.0.1:9"
        [targets.prod.regions.us-west-2]
        endpoint_url = "http://127.0.0.1:9"
        [targets.sim]
        kind = "sim"
        control_url = "http://127.0.0.1:9"
        [targets.sim.regions.us-east-1]
        endpoint_url = "http://127.0.0.1:9"
        kubeconfig = "k.yaml"
        [targets.sim.regions.us-west-2]
        endpoint_url = "http://127.0.0.1:9"
        kubeconfig = "k.yaml"
        """))
    contexts = "".join(f"- {{name: {n}, context: {{cluster: c, user: u}}}}\n"
                       for n in ("maip-prod", "maip-prod-dr"))
    (tmp_path / "k.yaml").write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- {name: c, cluster: {server: "
        "\"https://127.0.0.1:9\"}}\nusers:\n- {name: u, user: {token: t}}\ncontexts:\n"
        + contexts + "current-context: maip-prod\n")
    return path


def _refused(args: list[str]) -> DRError:
    result = CliRunner().invoke(cli, args)
    assert isinstance(result.exception, DRError), result.output
    assert "\n" not in str(result.exception)
    return result.exception


def test_approval_on_the_embedded_target_is_refused() -> None:
    error = _refused(["gameday", "--dr-require-approval"])
    assert isinstance(error, ConfigError) and error.exit_code == 2
    assert str(error).startswith("--dr-require-approval: a second person's approval needs a "
                                 "live-kind target")


@pytest.mark.parametrize("command", [["gameday"], ["stage", "failover", "2"]])
def test_approval_on_a_sim_target_is_refused_before_consent(tmp_path: Path,
                                                            command: list[str]) -> None:
    config = _live_config(tmp_path)
    error = _refused(["--config", str(config), "--target", "sim", *command,
                      "--dr-require-approval"])
    assert error.exit_code == 2 and "the sim target 'sim' is the simulation's one identity" \
        in str(error)


def test_a_timeout_needs_approval_and_bounds(tmp_path: Path) -> None:
    config = _live_config(tmp_path)
    base = ["--config", str(config), "--target", "prod", "stage", "failover", "2"]
    error = _refused([*base, "--dr-approval-timeout", "10"])
    assert str(error) == ("--dr-approval-timeout: only with --dr-require-approval (or "
                          "require_approval = true on the target)")
    error = _refused([*base, "--dr-require-approval", "--dr-approval-timeout", "0.5"])
    assert str(error) == "--dr-approval-timeout: expected 1 to 1440 minutes, got '0.5'"


def test_quiet_would_hide_the_approvers_command(tmp_path: Path) -> None:
    config = _live_config(tmp_path, "require_approval = true")
    error = _refused(["--config", str(config), "--target", "prod", "--quiet", "stage",
                      "failover", "2"])
    assert str(error) == "--quiet: it would hide the command the approver must run"


def test_the_options_reach_the_pytest_session(tmp_path: Path) -> None:
    target = embedded_target(load_config(None).topology)
    args = dr_args(target, tmp_path / "c.toml", {"dr_require_approval": True,
                                                 "dr_approval_timeout": 7.5})
    assert args[-3:] == ["--dr-require-approval", "--dr-approval-timeout", "7.5"]
    assert "--dr-require-approval" not in dr_args(target, tmp_path / "c.toml", {})


def test_require_approval_in_the_config(tmp_path: Path) -> None:
    assert load_config(_live_config(tmp_path, "require_approval = true")
                       ).targets["prod"].require_approval is True
    assert load_config(_live_config(tmp_path)).targets["prod"].require_approval is False
    with pytest.raises(ConfigError) as raised:
        load_config(_live_config(tmp_path, "require_approval = 1"))
    assert str(raised.value) == (f"{tmp_path / 'c.toml'}: targets.prod.require_approval: "
                                 "expected true or false, got an integer")


def test_approve_refuses_the_embedded_target_and_writes_nothing_without_consent(
        tmp_path: Path) -> None:
    error = _refused(["approve", "gameday-1", "--stage", "failover:2"])
    assert error.exit_code == 2 and "live-kind target" in str(error)
    config = _live_config(tmp_path)
    error = _refused(["--config", str(config), "--target", "prod", "approve", "gameday-1",
                      "--stage", "failover:2"])
    assert isinstance(error, GuardRefused) and error.exit_code == 3
    assert "pass --dr-execute and --dr-confirm prod; nothing was called" in str(error)


@pytest.mark.parametrize(("extra", "expected"), [
    (["--stage", "failover:9"], "--stage: expected failover:1..5 or failback:1..4"),
    (["--stage", "failover:2", "--reject", "no"], "--reject: give a reason of 10 to 500"),
])
def test_approve_refuses_bad_input(extra: list[str], expected: str) -> None:
    error = _refused(["approve", "gameday-1", *extra])
    assert error.exit_code == 2 and str(error).startswith(expected)


def test_the_help_states_safety_and_exit_codes() -> None:
    text = CliRunner().invoke(cli, ["approve", "--help"], terminal_width=200).output
    assert "MUTATING" in text and "Exit codes: 0 decision recorded" in text
    for name in ("gameday", "stage"):
        text = CliRunner().invoke(cli, [name, "--help"], terminal_width=200).output
        assert "--dr-require-approval" in text and "--dr-approval-timeout MINUTES" in text
