"""``maip-dr gameday --data-plane`` as users run it: the embedded simulation with real
PostgreSQL behind RDS, once (RDS and DynamoDB RPO side by side in the summary, within a
generous wall-time ceiling), and the option refused for sim and live targets."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from maip_drlib.sim.postgres import find_binaries, search_places

pytestmark = pytest.mark.cli

WALL_CEILING_S = 120.0  # generous: the "under 2 minutes"; the figure is printed


def _sim_config(folder: Path) -> Path:
    """A config naming a 'sim' target (nothing listens: the refusal comes first)."""
    (folder / "ca.pem").write_text("")
    contexts = "".join(
        f"- name: sim-{region}\n  context: {{cluster: sim-{region}, user: sim}}\n"
        for region in ("us-east-1", "us-west-2"))
    clusters = "".join(
        f"- name: sim-{region}\n  cluster: {{server: 'https://127.0.0.1:9'}}\n"
        for region in ("us-east-1", "us-west-2"))
    (folder / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n" + clusters + "contexts:\n" + contexts
        + "users:\n- name: sim\n  user: {token: placeholder}\n")
    lines = ['default_target = "practice"', "", "[targets.practice]", 'kind = "sim"',
             'public_endpoint_url = "https://api.maip.example.com"',
             'control_url = "http://127.0.0.1:9"', f'ca_bundle = "{folder / "ca.pem"}"',
             "time_scale = 1.0"]
    for region in ("us-east-1", "us-west-2"):
        lines += ["", f"[targets.practice.regions.{region}]",
                  'endpoint_url = "http://127.0.0.1:9"', f'kube_context = "sim-{region}"',
                  f'kubeconfig = "{folder / "kubeconfig"}"']
    path = folder / "sim.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("kind", ["sim", "live"])
def test_data_plane_refused_for_sim_and_live_targets(maip_dr, tmp_path: Path,
                                                     kind: str) -> None:
    if kind == "live":
        made = maip_dr(["init", str(tmp_path / "live.toml")], cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        args = ["--config", str(tmp_path / "live.toml"), "--target", "prod"]
    else:
        args = ["--config", str(_sim_config(tmp_path))]
    result = maip_dr([*args, "gameday", "--data-plane"], cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--data-plane" in lines[0] and "embedded" in lines[0], lines
    assert kind in lines[0]
    assert not (tmp_path / "reports").exists()


def test_data_plane_gameday_shows_rds_and_dynamodb_rpo(maip_dr, tmp_path: Path) -> None:
    if find_binaries() is None:
        pytest.skip("no PostgreSQL binaries; looked in: " + "; ".join(search_places()))
    started = time.monotonic()
    result = maip_dr(["gameday", "--data-plane", "--drill-id", "data-plane"], timeout=600,
                     cwd=tmp_path)
    wall = time.monotonic() - started
    print(f"maip-dr gameday --data-plane: {wall:.1f}s wall (ceiling {WALL_CEILING_S:g}s)")
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, output
    assert "verdict: PASS (exit 0)" in result.stdout
    assert "accepts writes" in result.stdout  # failover 2 on the promoted database
    attempt = tmp_path / "reports" / "data-plane" / "attempt-1"
    summary = json.loads((attempt / "summary.json").read_text())
    rows = {row["store"]: row for row in summary["rpo"]}
    for store in ("dynamodb", "rds"):
        assert rows[store]["rpo_s"] is not None and rows[store]["ok"] is True, rows[store]
        assert rows[store]["target_s"] == 5
    text = (attempt / "summary.md").read_text()
    assert "| dynamodb | " in text and "| rds | " in text
    decisions = (attempt / "results-failback.decisions.json").read_text()
    assert "old writer's database role: writer" in decisions and "data continuity" in decisions
    assert wall < WALL_CEILING_S, f"{wall:.1f}s over the {WALL_CEILING_S:g}s ceiling"
