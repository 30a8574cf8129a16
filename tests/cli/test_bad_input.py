"""Bad configuration and usage: one line naming the file and key, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    "non-loopback control URL": (
        "[targets.s]\nkind = 'sim'\ncontrol_url = 'http://10.0.0.5:8080'\n"
        "[targets.s.regions.us-east-1]\nendpoint_url = 'http://127.0.0.1:1'\n"
        "[targets.s.regions.us-west-2]\nendpoint_url = 'http://127.0.0.1:1'\n",
        "targets.s.control_url"),
}


@pytest.mark.cli
@pytest.mark.parametrize("case", sorted(CASES))
def test_config_check_rejects_with_one_line(case: str, tmp_path: Path, maip_dr) -> None:
    text, culprit = CASES[case]
    config = tmp_path / "bad.toml"
    config.write_text(text)
    result = maip_dr(["config", "check", str(config)])
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert str(config) in lines[0] and culprit in lines[0], lines[0]


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
