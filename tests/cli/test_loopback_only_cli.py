"""Issue 13 through the command line: a simulated target reaches loopback only, config bounds
and bad input are one line, exit 2, and nothing is called or written.

The private HOME holds a ``~/.kube/config`` with the runbook's contexts on a non-loopback
server (the "real clusters"): a sim target that names no kubeconfig must never use it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.sim, pytest.mark.cli]

PRODUCTION = "https://10.0.0.1:443"  # nothing listens there; it must never be tried


def kubeconfig_text(server: str, *, user: str = "{token: placeholder}") -> str:
    contexts = "".join(f"- name: {name}\n  context: {{cluster: c, user: u}}\n"
                       for name in ("maip-prod", "maip-prod-dr"))
    return (f"apiVersion: v1\nclusters:\n- name: c\n  cluster: {{server: '{server}'}}\n"
            f"users:\n- name: u\n  user: {user}\ncontexts:\n" + contexts)


def sim_config(folder: Path, kubeconfig: str | None) -> Path:
    """A sim target on loopback AWS and control URLs (nothing listens there)."""
    lines = ["[targets.practice]", "kind = 'sim'", "control_url = 'http://127.0.0.1:9'"]
    for region in ("us-east-1", "us-west-2"):
        lines += [f"[targets.practice.regions.{region}]", "endpoint_url = 'http://127.0.0.1:9'"]
        if kubeconfig is not None:
            lines.append(f"kubeconfig = '{kubeconfig}'")
    path = folder / "practice.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def production_kubeconfig(home: Path) -> Path:
    """The user's own kubeconfig, pointing at 'production'."""
    path = home / ".kube" / "config"
    path.parent.mkdir()
    path.write_text(kubeconfig_text(PRODUCTION))
    return path


def one_line(result: subprocess.CompletedProcess[str], *culprits: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:],
                                    result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert all(culprit in lines[0] for culprit in culprits), lines[0]
    return lines[0]


def test_config_check_refuses_a_sim_target_without_kubeconfig(
        maip_dr, tmp_path: Path, production_kubeconfig: Path) -> None:
    """It said "config OK" and the drill then used ~/.kube/config (issue 13)."""
    config = sim_config(tmp_path, kubeconfig=None)
    for args in (["config", "check", str(config)], ["--json", "config", "check", str(config)]):
        line = one_line(maip_dr(args), str(config),
                        "targets.practice.regions.us-east-1.kubeconfig", "~/.kube/config")
        assert "config OK" not in line


@pytest.mark.parametrize("command", [["readiness"], ["plan"],
                                     ["gameday", "--dr-execute", "--dr-confirm", "practice"],
                                     ["stage", "failover", "4", "--dr-execute", "--dr-confirm",
                                      "practice"]])
def test_every_command_refuses_before_anything(maip_dr, tmp_path: Path, command: list[str],
                                               production_kubeconfig: Path) -> None:
    config = sim_config(tmp_path, kubeconfig=None)
    one_line(maip_dr(["--config", str(config), *command], cwd=tmp_path),
             "targets.practice.regions.us-east-1.kubeconfig")
    assert not (tmp_path / "reports").exists()  # no lease, evidence or attempt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "practice.toml"]


@pytest.mark.parametrize(("server", "user", "reason"), [
    (PRODUCTION, "{token: placeholder}", "not a loopback"),
    ("https://127.0.0.1:9", "{exec: {command: aws, args: [eks, get-token]}}", "exec"),
    ("https://127.0.0.1:9", "{auth-provider: {name: oidc}}", "auth-provider"),
])
def test_sim_kubeconfig_must_reach_loopback_only(maip_dr, tmp_path: Path, server: str,
                                                 user: str, reason: str) -> None:
    (tmp_path / "kube.yaml").write_text(kubeconfig_text(server, user=user))
    config = sim_config(tmp_path, kubeconfig="kube.yaml")
    one_line(maip_dr(["config", "check", str(config)]),
             "targets.practice.regions.us-east-1.kubeconfig", "'maip-prod'", reason)
    one_line(maip_dr(["--config", str(config), "readiness"], cwd=tmp_path),
             "targets.practice.regions.us-east-1.kubeconfig", reason)
    assert not (tmp_path / "reports").exists()


def test_a_loopback_sim_kubeconfig_passes_config_check(maip_dr, tmp_path: Path) -> None:
    (tmp_path / "kube.yaml").write_text(kubeconfig_text("https://127.0.0.1:9"))
    result = maip_dr(["config", "check", str(sim_config(tmp_path, kubeconfig="kube.yaml"))])
    assert result.returncode == 0, result.stderr
    assert "config OK" in result.stdout


@pytest.mark.parametrize("text, culprit", [
    ("[targets.x]\nkind = 'embedded'\ntime_scale = inf\n", "targets.x.time_scale"),
    ("[topology]\nlease_ttl_s = nan\n", "topology.lease_ttl_s"),
    ("[topology]\nnamespace = 'kube-public'\n", "topology.namespace"),
    ("x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n", "nested deeper than 100"),
])
def test_bad_input_stops_readiness_before_anything(maip_dr, tmp_path: Path, text: str,
                                                   culprit: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    one_line(maip_dr(["--config", str(config), "readiness"], cwd=tmp_path), str(config), culprit)
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_init_through_a_dangling_symlink_is_refused(maip_dr, tmp_path: Path,
                                                    force: list[str]) -> None:
    link, target = tmp_path / "maip-dr.toml", tmp_path / "elsewhere" / "target.toml"
    (tmp_path / "elsewhere").mkdir()
    link.symlink_to(target)
    line = one_line(maip_dr(["init", *force, str(link)], cwd=tmp_path), str(link),
                    "symbolic link", "nothing written")
    assert str(target) in line
    assert not target.exists() and link.is_symlink()  # the link's target was not created
    assert list((tmp_path / "elsewhere").iterdir()) == []
