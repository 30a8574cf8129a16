"""The game day with the data plane, as users run it.

- (the README's main job with its data plane: tests/cli/test_data_plane_default.py);
- against ``sim up --data-plane`` with the replication link cut before the drill: every RDS
  canary is lost, the RDS RPO is over its target and the RPO check fails the drill (the cut
  is healed once the RPO phase is over, so failback runs as usual);
- ``--data-plane`` / ``--no-data-plane`` refused for sim and live targets (gameday and
  readiness).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from maip_cli_helpers import BIN_DIR, SimUpProcess, sim_up_in, wait_until

from maip_drlib.evidence.journal import scan_journal
from maip_drlib.sim.postgres import find_binaries, search_places

pytestmark = [pytest.mark.gameday, pytest.mark.cli]



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


@pytest.mark.parametrize("command", ["gameday", "readiness"])
@pytest.mark.parametrize("flag", ["--data-plane", "--no-data-plane"])
@pytest.mark.parametrize("kind", ["sim", "live"])
def test_data_plane_refused_for_sim_and_live_targets(maip_dr, tmp_path: Path, kind: str,
                                                     flag: str, command: str) -> None:
    if kind == "live":
        made = maip_dr(["init", str(tmp_path / "live.toml")], cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        name, args = "prod", ["--config", str(tmp_path / "live.toml"), "--target", "prod"]
    else:
        name, args = "practice", ["--config", str(_sim_config(tmp_path))]
    # A game day on sim and live targets needs consent first, and on live targets a declared
    # outage or --dr-planned (exit 3 without them): given here, so that the data-plane choice
    # is what is refused.
    consent = ["--dr-execute", "--dr-confirm", name] if command == "gameday" else []
    if command == "gameday" and kind == "live":
        consent.append("--dr-planned")
    result = maip_dr([*args, command, flag, *consent], cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0] and "embedded" in lines[0], lines
    assert kind in lines[0]
    assert not (tmp_path / "reports").exists()


def _needs_postgres() -> None:
    if find_binaries() is None:
        pytest.skip("no PostgreSQL binaries; looked in: " + "; ".join(search_places()))


CUT_WINDOW_S = 7.0  # canaries written before the outage: over the 5 s RPO target when all lost


@pytest.fixture(scope="module")
def data_plane_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimUpProcess]:
    _needs_postgres()
    with sim_up_in(tmp_path_factory.mktemp("cut-sim"), 1.0, ["--data-plane"]) as running:
        yield running


def test_replication_cut_before_the_outage_fails_the_rds_rpo(
        data_plane_sim: SimUpProcess) -> None:
    sim = data_plane_sim
    cut = sim.maip_dr(["sim", "fault", "replication-cut", "--on"])
    assert cut.returncode == 0, cut.stderr
    journal = sim.workdir / "reports" / "cut" / "attempt-1" / "journal.jsonl"
    args = [str(BIN_DIR / "maip-dr"), "--config", str(sim.config), "gameday", "--dr-execute",
            "--dr-confirm", "sim", "--drill-id", "cut", "--canary-window", str(CUT_WINDOW_S),
            # The cut link's lag passes the readiness threshold as soon as the machine is slow
            # enough: a no-go would stop the drill before the canaries it is about.
            "--dr-accept-readiness-failures", "the replication link is cut on purpose"]
    with (sim.workdir / "gameday.log").open("w") as log:
        drill = subprocess.Popen(args, cwd=sim.workdir, env=sim.env, stdout=subprocess.PIPE,
                                 stderr=log, text=True)
        try:
            # The primary is restored after the RPO phase: heal the link then, as an operator
            # would before failing back (failback checks continuity on a new standby).
            wait_until("the primary restored", lambda: any(
                r.get("kind") == "fault" and r.get("action") == "restore"
                for r in scan_journal(journal).records), timeout_s=300)
            healed = sim.maip_dr(["sim", "fault", "replication-cut", "--off"])
            assert healed.returncode == 0, healed.stderr
            stdout, _ = drill.communicate(timeout=600)
        finally:
            drill.kill()
    log_tail = (sim.workdir / "gameday.log").read_text()[-3000:]
    assert drill.returncode == 1, stdout[-3000:] + log_tail
    assert "verdict: FAIL (exit 1)" in stdout
    summary = json.loads((journal.parent / "summary.json").read_text())
    rows = {row["store"]: row for row in summary["rpo"]}
    rds = rows["rds"]
    assert rds["ok"] is False and rds["rpo_s"] > rds["target_s"] == 5, rds
    # Every acknowledged canary is lost: the link was cut before the first one.
    acknowledged = json.loads((journal.parent / "canaries-rds.json").read_text())["acknowledged"]
    assert rds["lost"] == len(acknowledged) > 0, rds
    assert rows["dynamodb"]["ok"] is True, rows["dynamodb"]
    failed = [f["stage"] for f in summary["failed_checks"]]
    assert any("RDS" in stage for stage in failed), summary["failed_checks"]
    assert all(s["outcome"] == "passed" for s in summary["stages"]
               if s.get("phase") in ("failover", "failback")), summary["stages"]
    assert re.search(r"rds \d+\.\d{3} s \(\d+ canaries lost; target 5 s: OVER\)", stdout)


def test_without_postgresql_the_default_runs_without_the_data_plane_and_says_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import maip_drlib.sim.postgres as postgres
    from maip_drlib.cli.output import Output
    from maip_drlib.sim.data_plane_choice import embedded_data_plane

    monkeypatch.setattr(postgres, "find_binaries", lambda: None)
    output = Output(stderr=io.StringIO())
    assert embedded_data_plane(None, output.error) is False
    lines = output.stderr.getvalue().strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and "no PostgreSQL binaries (looked in: " in lines[0], lines
    assert "--no-data-plane" in lines[0] and "'not configured'" in lines[0]
    quiet = Output(stderr=io.StringIO())
    assert embedded_data_plane(False, quiet.error) is False  # asked for: no warning
    assert embedded_data_plane(True, quiet.error) is True  # asked: Simulation names what lacks
    assert quiet.stderr.getvalue() == ""  # type: ignore[attr-defined]
