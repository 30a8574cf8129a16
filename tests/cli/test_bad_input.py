"""Bad configuration and usage: one line naming the file and key, exit 2, no traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from maip_cli_helpers import kubeconfig_text

pytestmark = pytest.mark.sim

CASES = {
    "malformed TOML": ("[targets.x\nkind = 'sim'", "line 1"),
    "unknown top-level key": ("colour = 'blue'\n", "colour"),
    "unknown kind": ("[targets.x]\nkind = 'cloud'\n", "targets.x.kind"),
    "wrong type": ("[targets.x]\nkind = 'embedded'\ntime_scale = 'fast'\n",
                   "targets.x.time_scale"),
    "non-positive time scale": ("[targets.x]\nkind = 'embedded'\ntime_scale = 0\n",
                                "targets.x.time_scale"),
    "unknown region": (
        "[targets.x]\nkind = 'live'\n[targets.x.regions.eu-west-1]\nprofile = 'p'\n",
        "eu-west-1"),
    "scaling out of order": (
        "[topology]\nfailover_scaling = { min_size = 9, max_size = 20, desired_size = 8 }\n",
        "topology.failover_scaling"),
    "missing target kind": ("[targets.x]\ntime_scale = 1\n", "targets.x.kind"),
    "missing sim control URL": (
        "[targets.s]\nkind = 'sim'\n[targets.s.regions.us-east-1]\n"
        "endpoint_url = 'http://127.0.0.1:1'\n[targets.s.regions.us-west-2]\n"
        "endpoint_url = 'http://127.0.0.1:1'\n", "targets.s.control_url"),
    "missing live regions": ("[targets.p]\nkind = 'live'\n", "targets.p.regions"),
    "missing scaling key": (
        "[topology]\nfailover_scaling = { min_size = 1, max_size = 2 }\n",
        "topology.failover_scaling.desired_size"),
    "unknown nested key": ("[topology.primary]\ncolour = 'red'\n", "topology.primary.colour"),
    "wrong type of a string": ("[topology]\nnamespace = 3\n", "topology.namespace"),
    "non-positive lease TTL (a deadline)": ("[topology]\nlease_ttl_s = -1\n",
                                            "topology.lease_ttl_s"),
    "non-positive failover replicas": ("[topology]\nfailover_replicas = 0\n",
                                       "topology.failover_replicas"),
    "target name that is not a name": ("[targets.'a b']\nkind = 'embedded'\n",
                                       "targets.a b"),
    "default target not defined": ("default_target = 'prod'\n", "default_target"),
    "endpoint URL that is not a URL": (
        "[targets.p]\nkind = 'live'\n[targets.p.regions.us-east-1]\n"
        "endpoint_url = 'not a url'\n[targets.p.regions.us-west-2]\n",
        "targets.p.regions.us-east-1.endpoint_url"),
    "kube context missing from the kubeconfig": (
        "[targets.p]\nkind = 'live'\n[targets.p.regions.us-east-1]\n"
        "kubeconfig = 'kubeconfig.yaml'\nkube_context = 'elsewhere'\n"
        "[targets.p.regions.us-west-2]\n", "targets.p.regions.us-east-1.kube_context"),
    "unreadable kubeconfig": (
        "[targets.p]\nkind = 'live'\n[targets.p.regions.us-east-1]\n"
        "kubeconfig = 'broken.yaml'\n[targets.p.regions.us-west-2]\n",
        "targets.p.regions.us-east-1.kubeconfig"),
    "non-loopback control URL": (
        "[targets.s]\nkind = 'sim'\ncontrol_url = 'http://10.0.0.5:8080'\n"
        "[targets.s.regions.us-east-1]\nendpoint_url = 'http://127.0.0.1:1'\n"
        "[targets.s.regions.us-west-2]\nendpoint_url = 'http://127.0.0.1:1'\n",
        "targets.s.control_url"),
    # issue 13: a simulated target reaches loopback only; config bounds; NaN and infinity
    "sim target without a kubeconfig (no fallback to ~/.kube/config)": (
        "[targets.s]\nkind = 'sim'\ncontrol_url = 'http://127.0.0.1:1'\n"
        "[targets.s.regions.us-east-1]\nendpoint_url = 'http://127.0.0.1:1'\n"
        "[targets.s.regions.us-west-2]\nendpoint_url = 'http://127.0.0.1:1'\n",
        "targets.s.regions.us-east-1.kubeconfig"),
    "sim kubeconfig whose cluster server is not loopback": (
        "[targets.s]\nkind = 'sim'\ncontrol_url = 'http://127.0.0.1:1'\n"
        "[targets.s.regions.us-east-1]\nendpoint_url = 'http://127.0.0.1:1'\n"
        "kubeconfig = 'remote.yaml'\n[targets.s.regions.us-west-2]\n"
        "endpoint_url = 'http://127.0.0.1:1'\nkubeconfig = 'remote.yaml'\n",
        "targets.s.regions.us-east-1.kubeconfig"),
    "namespace kube-system": ("[topology]\nnamespace = 'kube-system'\n",
                              "topology.namespace"),
    "a million replicas": ("[topology]\nfailover_replicas = 1000000\n",
                           "topology.failover_replicas"),
    "node group larger than 1000": (
        "[topology]\nfailover_scaling = { min_size = 4, max_size = 1001, desired_size = 8 }\n",
        "topology.failover_scaling.max_size"),
    "lease TTL of 1e12 s": ("[topology]\nlease_ttl_s = 1e12\n", "topology.lease_ttl_s"),
    "NaN time scale": ("[targets.x]\nkind = 'embedded'\ntime_scale = nan\n",
                       "targets.x.time_scale"),
    "infinity anywhere": ("[targets.x]\nkind = 'embedded'\ncolour = [1.0, -inf]\n",
                          "targets.x.colour[1]"),
    "TOML nested deeper than 100": ("x = " + "[" * 50000 + "]" * 50000 + "\n", "nested deeper"),
    "config file over 1 MiB": ("# " + "x" * (1024 * 1024) + "\n", "larger than 1 MiB"),
}


@pytest.mark.cli
@pytest.mark.parametrize("case", sorted(CASES))
def test_config_check_rejects_with_one_line(case: str, tmp_path: Path, maip_dr) -> None:
    text, culprit = CASES[case]
    config = tmp_path / "bad.toml"
    config.write_text(text)
    (tmp_path / "kubeconfig.yaml").write_text(
        "apiVersion: v1\ncontexts:\n- name: maip-prod\n  context: {cluster: c, user: u}\n")
    (tmp_path / "broken.yaml").write_text("contexts: [unclosed\n")
    (tmp_path / "remote.yaml").write_text(kubeconfig_text(server="https://10.0.0.1:443"))
    result = maip_dr(["config", "check", str(config)])
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert str(config) in lines[0] and culprit in lines[0], lines[0]


def assert_one_line(result: subprocess.CompletedProcess[str], code: int,
                    *culprits: str) -> str:
    assert result.returncode == code, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert all(culprit in lines[0] for culprit in culprits), lines[0]
    return lines[0]


@pytest.mark.cli
@pytest.mark.parametrize("command", [["readiness"], ["gameday"], ["plan"]])
def test_bad_config_through_every_command(command: list[str], tmp_path: Path,
                                          maip_dr) -> None:
    """The same one line from readiness, gameday and plan as from config check; no call."""
    config = tmp_path / "bad.toml"
    config.write_text(CASES["non-loopback control URL"][0])
    assert_one_line(maip_dr(["--config", str(config), *command]), 2, str(config),
                    "targets.s.control_url")


# A sim target whose endpoints nothing listens on: a guard must refuse before any call.
UNREACHED_SIM = (
    "[targets.rehearsal]\nkind = 'sim'\ncontrol_url = 'http://127.0.0.1:9'\n"
    "[targets.rehearsal.regions.us-east-1]\nendpoint_url = 'http://127.0.0.1:9'\n"
    "kubeconfig = 'kubeconfig.yaml'\n"
    "[targets.rehearsal.regions.us-west-2]\nendpoint_url = 'http://127.0.0.1:9'\n"
    "kubeconfig = 'kubeconfig.yaml'\n"
    "[targets.prod]\nkind = 'live'\n[targets.prod.regions.us-east-1]\n"
    "endpoint_url = 'http://127.0.0.1:9'\n[targets.prod.regions.us-west-2]\n"
    "endpoint_url = 'http://127.0.0.1:9'\n")


@pytest.mark.cli
@pytest.mark.parametrize("args, culprits", [
    (["gameday", "--dr-execute", "--dr-confirm", "prod"], ["--dr-confirm", "'rehearsal'",
                                                          "'prod'"]),
    (["gameday", "--dr-execute"], ["--dr-confirm", "rehearsal"]),
    (["stage", "failover", "1", "--dr-execute", "--dr-confirm", "rehearsl"],
     ["--dr-confirm", "'rehearsl'"]),
])
def test_dr_confirm_mismatch_is_refused_before_any_call(args: list[str], culprits: list[str],
                                                        tmp_path: Path, maip_dr) -> None:
    config = tmp_path / "c.toml"
    config.write_text(UNREACHED_SIM)
    (tmp_path / "kubeconfig.yaml").write_text(kubeconfig_text())
    line = assert_one_line(maip_dr(["--config", str(config), "--target", "rehearsal", *args],
                                   cwd=tmp_path), 3, *culprits)
    assert "nothing was called" in line
    assert not (tmp_path / "reports").exists()


@pytest.mark.cli
def test_live_gameday_without_declared_outage_is_refused(tmp_path: Path, maip_dr) -> None:
    config = tmp_path / "c.toml"
    config.write_text(UNREACHED_SIM)
    (tmp_path / "kubeconfig.yaml").write_text(kubeconfig_text())
    assert_one_line(maip_dr(["--config", str(config), "--target", "prod", "gameday",
                             "--dr-execute", "--dr-confirm", "prod"], cwd=tmp_path), 3,
                    "--dr-declare-outage")


@pytest.mark.cli
@pytest.mark.parametrize("value", ["0", "-3", "soon", "inf"])
def test_non_positive_lease_ttl_option(value: str, maip_dr) -> None:
    assert_one_line(maip_dr(["gameday", "--dr-lease-ttl", value]), 2, "--dr-lease-ttl",
                    repr(value))


@pytest.mark.cli
@pytest.mark.parametrize("value", ["0", "0.1", "3601", "long"])
def test_canary_window_out_of_range(value: str, maip_dr, tmp_path: Path) -> None:
    assert_one_line(maip_dr(["gameday", "--canary-window", value], cwd=tmp_path), 2,
                    "--canary-window")
    assert not (tmp_path / "reports").exists()


@pytest.mark.cli
@pytest.mark.parametrize("command", [["gameday"], ["stage", "failover", "1"], ["plan"]])
def test_bad_drill_id_before_anything_starts(command: list[str], maip_dr) -> None:
    assert_one_line(maip_dr([*command, "--drill-id", "../escape"]), 2, "--drill-id",
                    "'../escape'")


@pytest.mark.cli
@pytest.mark.parametrize("text", ["failback:5", "failover:0", "rpo:1"])
def test_a_stage_outside_the_registry_is_one_line(text: str, maip_dr) -> None:
    assert_one_line(maip_dr(["gameday", "--drill-id", "d1", "--resume-from", text]), 2,
                    "--resume-from", "expected failover:1..5 or failback:1..4")


@pytest.mark.cli
@pytest.mark.parametrize("command", [["readiness"], ["gameday"]])
def test_unknown_target_is_one_line(command: list[str], tmp_path: Path, maip_dr) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[targets.rehearsal]\nkind = 'embedded'\n")
    assert_one_line(maip_dr(["--config", str(config), "--target", "prod", *command]), 2,
                    "--target", "'prod'", "rehearsal")


@pytest.mark.parametrize("steps, culprit", [
    (((10, 90), (50, 40), (100, 0)), "step 2"),
    (((10, 90), (90, 10)), "last step"),
    (((-10, 110), (100, 0)), "step 1"),
    ((), "no steps"),
])
def test_traffic_weights_must_sum_to_100_and_end_at_100_0(steps, culprit: str) -> None:
    """Library level: the weights come from features/failback.feature, not from the CLI."""
    from maip_drlib.drill.weights import validate_steps
    from maip_drlib.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        validate_steps(steps)
    assert culprit in str(caught.value) and caught.value.exit_code == 2


@pytest.mark.cli
def test_readiness_with_a_missing_config_file(tmp_path: Path, maip_dr) -> None:
    result = maip_dr(["--config", str(tmp_path / "nope.toml"), "readiness"])
    assert result.returncode == 2
    assert "nope.toml" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.cli
def test_unknown_target_names_the_defined_ones(tmp_path: Path, maip_dr) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[targets.rehearsal]\nkind = 'embedded'\n")
    result = maip_dr(["--config", str(config), "--target", "prod", "readiness"])
    assert result.returncode == 2
    assert "prod" in result.stderr and "rehearsal" in result.stderr


@pytest.mark.cli
def test_config_check_prints_the_resolved_targets(tmp_path: Path, maip_dr) -> None:
    config = tmp_path / "good.toml"
    config.write_text("[targets.rehearsal]\nkind = 'embedded'\ntime_scale = 0.1\n")
    result = maip_dr(["config", "check", str(config)])
    assert result.returncode == 0, result.stderr
    assert "rehearsal" in result.stdout and "maip-prod-postgres" in result.stdout


@pytest.mark.cli
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400"])
def test_sim_up_time_scale_must_be_finite(value: str, maip_dr, tmp_path: Path) -> None:
    """click's FloatRange lets nan and inf through; the simulation then failed in its clock."""
    result = maip_dr(["sim", "up", "--time-scale", value, "--config-out", "c.toml",
                      "--env-file", "e.sh", "--state-dir", "state"], cwd=tmp_path, timeout=60)
    assert_one_line(result, 2, "--time-scale", repr(value))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["home"]  # nothing written
