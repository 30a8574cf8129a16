"""The game day with the data plane, as users run it.

- (the README's main job with its data plane: tests/cli/test_data_plane_default.py);
- against ``sim up --data-plane`` with two faults injected before the drill, each read from
  its own store: the replication link cut (every RDS and MSK canary is lost, both RPOs are over
  their target) and a 7-second DynamoDB replication lag (readiness flags it, a no-go the
  operator accepts and the journal records; the outage loses the DynamoDB canaries still in
  flight, an RPO over the 5-second target). The RPO checks fail the drill; both faults are
  healed before failback 1 (the drill asks before each mutating stage, and the test answers
  failback 1's question once it has healed them), so failback runs as usual and every stage
  passes. (One game day
  for both faults: each is a whole drill's worth of CI time.)
- ``--data-plane`` / ``--no-data-plane`` refused for sim and live targets (gameday and
  readiness).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import time
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


QUESTION = re.compile(r"about to run (?P<stage>[a-z]+ stage \d)\. Type 'yes' to go on")


def _answer_heal_before_failback(sim: SimUpProcess, drill: subprocess.Popen[str],
                                 log: Path) -> None:
    """Answer 'yes' to each question of --dr-pause-between-stages as it is asked; before
    failback 1's, heal the link and the lag, as an operator would before failing back
    (failback checks continuity on a new standby)."""
    assert drill.stdin is not None
    answered = 0
    deadline = time.monotonic() + 600
    while drill.poll() is None and time.monotonic() < deadline:
        asked = [m.group("stage") for m in QUESTION.finditer(log.read_text())]
        for stage in asked[answered:]:
            if stage == "failback stage 1":
                for heal in (["replication-cut", "--off"],
                             ["lag", "--store", "dynamodb", "--seconds", "0"]):
                    healed = sim.maip_dr(["sim", "fault", *heal])
                    assert healed.returncode == 0, healed.stderr
            drill.stdin.write("yes\n")
            drill.stdin.flush()
            answered += 1
        time.sleep(0.1)
    assert "failback stage 1" in [m.group("stage") for m in QUESTION.finditer(log.read_text())], (
        log.read_text()[-3000:])


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


def _wait_for_dynamodb_latency_over(config: Path, seconds: float) -> None:
    """As in DynamoDB, ReplicationLatency has a datapoint only once a lagging item has been
    delivered: wait (bounded) until DR's figure shows the lag, as readiness will read it."""
    from maip_drlib.config_loader import load_config
    from maip_drlib.probes.dynamodb import replication_latency
    from maip_drlib.regions import build_region_handles

    loaded = load_config(config)
    handles = build_region_handles(loaded.target(None), loaded.topology)
    try:
        wait_until("DynamoDB ReplicationLatency toward DR over the threshold", lambda: (
            (replication_latency(handles.primary, loaded.topology.dynamodb_table,
                                 loaded.topology.secondary.region).seconds or 0) > seconds),
            timeout_s=60)
    finally:
        handles.close()


ACCEPTED = "the replication link is cut and DynamoDB lags, on purpose"


def test_a_cut_link_and_a_lagging_table_before_the_outage_fail_the_rpo(
        data_plane_sim: SimUpProcess) -> None:
    sim = data_plane_sim
    lag = sim.maip_dr(["sim", "fault", "lag", "--store", "dynamodb", "--seconds", "7"])
    assert lag.returncode == 0, lag.stderr
    _wait_for_dynamodb_latency_over(sim.config, 5.0)
    cut = sim.maip_dr(["sim", "fault", "replication-cut", "--on"])
    assert cut.returncode == 0, cut.stderr
    journal = sim.workdir / "reports" / "cut" / "attempt-1" / "journal.jsonl"
    args = [str(BIN_DIR / "maip-dr"), "--config", str(sim.config), "gameday", "--dr-execute",
            "--dr-confirm", "sim", "--drill-id", "cut", "--canary-window", str(CUT_WINDOW_S),
            # Readiness flags the lag (and the cut link's, as soon as the machine is slow
            # enough): a no-go would stop the drill before the canaries it is about.
            "--dr-accept-readiness-failures", ACCEPTED,
            # The drill asks before each mutating stage: the test heals the faults before it
            # answers failback 1's question, so failback never races the healing.
            "--dr-pause-between-stages"]
    log_path, out_path = sim.workdir / "gameday.log", sim.workdir / "gameday.out"
    with log_path.open("w") as log, out_path.open("w") as out:
        drill = subprocess.Popen(args, cwd=sim.workdir, env=sim.env, stdin=subprocess.PIPE,
                                 stdout=out, stderr=log, text=True)
        try:
            _answer_heal_before_failback(sim, drill, log_path)
            drill.wait(timeout=600)
        finally:
            drill.kill()
    stdout = out_path.read_text()
    log_tail = log_path.read_text()[-3000:]
    assert drill.returncode == 1, stdout[-3000:] + log_tail
    assert "verdict: FAIL (exit 1)" in stdout
    summary = json.loads((journal.parent / "summary.json").read_text())
    rows = {row["store"]: row for row in summary["rpo"]}
    rds = rows["rds"]
    assert rds["ok"] is False and rds["rpo_s"] > rds["target_s"] == 5, rds
    # Every acknowledged canary is lost: the link was cut before the first one.
    acknowledged = json.loads((journal.parent / "canaries-rds.json").read_text())["acknowledged"]
    assert rds["lost"] == len(acknowledged) > 0, rds
    # The lag: readiness flagged it, the operator's acceptance is journalled, and the canaries
    # in flight at the outage are lost.
    accepted = [r for r in scan_journal(journal).records if r.get("kind") == "readiness.accepted"]
    assert len(accepted) == 1 and accepted[0]["reason"] == ACCEPTED, accepted
    assert any("DynamoDB replication latency" in json.dumps(check)
               for check in accepted[0]["failed"]), accepted[0]["failed"]
    dynamodb = rows["dynamodb"]
    assert dynamodb["ok"] is False and dynamodb["rpo_s"] > 5 and dynamodb["lost"] > 0, dynamodb
    # The cut also stops the simulated MSK replicator (the data plane runs a Kafka broker per
    # region): its canaries are lost too.
    assert rows["msk"]["ok"] is False and rows["msk"]["lost"] > 0, rows["msk"]
    failed = [f["stage"] for f in summary["failed_checks"]]
    assert any("RDS" in stage for stage in failed), summary["failed_checks"]
    assert any("DynamoDB" in stage for stage in failed), summary["failed_checks"]
    assert all(s["outcome"] == "passed" for s in summary["stages"]
               if s.get("phase") in ("failover", "failback")), summary["stages"]
    assert re.search(r"rds \d+\.\d{3} s \(\d+ canaries lost; target 5 s: OVER\)", stdout)
    assert re.search(r"dynamodb \d+\.\d{3} s \(\d+ canaries lost; target 5 s: OVER\)", stdout)


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
