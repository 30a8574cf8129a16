"""One game day at a time against one ``sim up`` target (SIMULATED platform on 127.0.0.1).

The first game day holds the lease while it waits for an approval nobody gives
(``--dr-pause-between-stages``, standard input left open); the second refuses (exit 3) naming
the holder; after SIGKILL of the first (its whole process group, as a crashed host) the lease
expires after its TTL (the minimum, 15 s) and a new game day acquires it. A break is refused
while the holder's heartbeat is fresh and recorded in the item when it takes over. The game
days are short ones (``--resume-from`` a late stage, ``-k`` selecting little or nothing).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from maip_cli_helpers import BIN_DIR, SimUpProcess, sim_up_in

from maip_drlib.config_loader import load_config
from maip_drlib.drill.lease import DrillLease, Holder, lease_key
from maip_drlib.evidence.journal import read_journal
from maip_drlib.regions import build_region_handles
from maip_drlib.write_gate import WriteGate

pytestmark = pytest.mark.sim

TTL_S = 15.0  # LEASE_TTL_MIN_S
# Short game days: resume at the last failback stage (two pytest phases) and select no
# scenario; only the lease is under test here.
NO_SCENARIO = ["--resume-from", "failback:4", "--", "-k", "no_scenario_has_this_name"]


def _drill(sim: SimUpProcess, drill_id: str) -> list[str]:
    """``--drill-id`` of a drill to resume: its folder must exist (an empty one here)."""
    (sim.workdir / "reports" / drill_id).mkdir(parents=True, exist_ok=True)
    return ["--drill-id", drill_id]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimUpProcess]:
    with sim_up_in(tmp_path_factory.mktemp("lease-sim"), 1.0) as running:
        yield running


def _stored_lease(sim: SimUpProcess, *, released_too: bool = False) -> dict | None:
    """The holder's item (None when free or released), or with ``released_too`` any item."""
    config = load_config(sim.config)
    target = config.target(None)
    handles = build_region_handles(target, config.topology)
    try:
        lease = DrillLease(client=handles.secondary.client("dynamodb"),
                           table=config.topology.lease_table, region=handles.secondary.region,
                           key=lease_key(config.topology.record_name), ttl_s=TTL_S,
                           holder=Holder.this_process("test-reader"))
        return lease.stored() if released_too else lease.current()
    finally:
        handles.close()


def _wait_for_line(lines: queue.Queue[str], needle: str, deadline_s: float) -> list[str]:
    seen: list[str] = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            line = lines.get(timeout=max(0.1, end - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if needle in "".join(seen):  # chunks: a question has no line end
            return seen
    raise AssertionError(f"no {needle!r} within {deadline_s}s: {''.join(seen)[-3000:]}")


def _read_chunks(fd: int, chunks: queue.Queue[str]) -> None:
    """What the process writes, as it comes (the operator's question has no line end)."""
    while chunk := os.read(fd, 4096):
        chunks.put(chunk.decode(errors="replace"))


def _drain(lines: queue.Queue[str]) -> list[str]:
    drained: list[str] = []
    while not lines.empty():
        drained.append(lines.get_nowait())
    return drained


@pytest.mark.cli
def test_second_game_day_refuses_and_a_killed_holders_lease_expires(
        sim: SimUpProcess) -> None:
    gameday = ["gameday", "--dr-execute", "--dr-confirm", "sim", "--dr-lease-ttl", str(TTL_S)]
    first = subprocess.Popen(
        [str(BIN_DIR / "maip-dr"), "--config", str(sim.config), *gameday,
         *_drill(sim, "lease-holder"), "--resume-from", "failover:1",
         "--dr-pause-between-stages", "--", "-k", "stage_1"],
        cwd=sim.workdir, env=sim.env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    assert first.stderr is not None
    reader = threading.Thread(target=_read_chunks, args=(first.stderr.fileno(), lines),
                              daemon=True)
    reader.start()
    try:
        _wait_for_line(lines, "drill lease acquired", 60)
        # Holding the lease while it waits for the operator's yes before failover stage 1.
        _wait_for_line(lines, "about to run failover stage 1", 60)
        second = sim.maip_dr([*gameday, *_drill(sim, "lease-second"), *NO_SCENARIO],
                             timeout=60)
        assert second.returncode == 3, second.stderr
        err = second.stderr.strip().splitlines()
        assert len(err) == 1 and "Traceback" not in second.stderr, second.stderr
        assert "lease-holder" in err[0] and "started" in err[0] and "expires" in err[0]
        assert f"pid {first.pid}" in err[0] and "--dr-break-lease" in err[0]
        assert not list((sim.workdir / "reports" / "lease-second").iterdir())
        # Still holding, waiting for the approval (what it printed, if it ended instead).
        assert first.poll() is None, "".join(_drain(lines))[-3000:]
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    killed_at = time.time()

    held = _stored_lease(sim)
    assert held is not None and held["drill_id"] == "lease-holder"
    assert held["expires_at"] <= killed_at + TTL_S + 0.5
    time.sleep(max(0.0, held["expires_at"] - time.time()) + 0.5)

    third = sim.maip_dr([*gameday, *_drill(sim, "lease-after-crash"), *NO_SCENARIO],
                        timeout=180)
    # Not refused (3), not broken (4); -k selecting nothing is pytest exit 5, maip-dr exit 2.
    assert third.returncode not in (3, 4), third.stderr[-3000:]
    assert "drill lease acquired" in third.stderr and "Traceback" not in third.stderr
    journal = read_journal(sim.workdir / "reports" / "lease-after-crash" / "attempt-1" /
                           "journal.jsonl")
    acquired = [r for r in journal if r["kind"] == "lease.acquired"]
    assert len(acquired) == 1 and acquired[0]["holder_drill_id"] == "lease-after-crash"
    assert acquired[0]["pid"] != first.pid
    assert _stored_lease(sim) is None  # released at the end


@pytest.mark.cli
def test_break_lease_takes_over_and_is_journaled(sim: SimUpProcess) -> None:
    config = load_config(sim.config)
    target = config.target(None)
    # The stuck holder took the lease with consent (a lease is a write).
    handles = build_region_handles(target, config.topology,
                                   writes=WriteGate.consented(target=target.name))
    offset = {"s": 0.0}  # the stuck holder's clock: its last heartbeat as long ago as this
    stuck = DrillLease(client=handles.secondary.client("dynamodb"),
                       table=config.topology.lease_table, region=handles.secondary.region,
                       key=lease_key(config.topology.record_name), ttl_s=3600,
                       holder=Holder.this_process("lease-stuck"),
                       clock=lambda: time.time() - offset["s"])
    try:
        stuck.acquire()
        gameday = ["gameday", "--dr-execute", "--dr-confirm", "sim"]
        empty = sim.maip_dr([*gameday, *_drill(sim, "lease-empty"), "--dr-break-lease",
                             " ", *NO_SCENARIO], timeout=60)
        assert empty.returncode == 2 and "--dr-break-lease" in empty.stderr
        fresh = sim.maip_dr([*gameday, *_drill(sim, "lease-fresh"), "--dr-break-lease",
                             "holder host lost power", *NO_SCENARIO], timeout=60)
        assert fresh.returncode == 3, fresh.stderr
        lines = fresh.stderr.strip().splitlines()
        assert len(lines) == 1 and "heartbeat is fresh" in lines[0], fresh.stderr
        assert '--dr-break-lease "holder alive: REASON"' in lines[0]
        assert not list((sim.workdir / "reports" / "lease-fresh").iterdir())
        offset["s"] = 2500.0  # beats every 1200 s: stale after 2400 s, expires in 1100 s
        stuck.renew()
        taken = sim.maip_dr([*gameday, *_drill(sim, "lease-breaker"), "--dr-break-lease",
                             "holder host lost power", *NO_SCENARIO], timeout=180)
        assert taken.returncode not in (3, 4), taken.stderr[-3000:]
        assert "taken over" in taken.stderr
        journal = read_journal(sim.workdir / "reports" / "lease-breaker" / "attempt-1" /
                               "journal.jsonl")
        broken = [r for r in journal if r["kind"] == "lease.broken"]
        assert len(broken) == 1 and broken[0]["reason"] == "holder host lost power"
        assert broken[0]["previous_holder"]["drill_id"] == "lease-stuck"
        stuck.renew()
        assert stuck.lost.is_set()  # the old holder learns it at its next heartbeat
        assert _stored_lease(sim) is None  # released by the game day that took it over
        kept = _stored_lease(sim, released_too=True)
        assert kept is not None and kept["state"] == "released"
        last = kept["breaks"][-1]  # the break outlives its taker's release
        assert last["reason"] == "holder host lost power"
        assert last["previous_holder"]["drill_id"] == "lease-stuck"
        assert last["broken_by"]["drill_id"] == "lease-breaker"
    finally:
        stuck.release()
        handles.close()


@pytest.mark.cli
def test_a_missing_lease_table_is_one_line_exit_2(sim: SimUpProcess) -> None:
    config = sim.workdir / "absent-table.toml"
    config.write_text(sim.config.read_text() + "\n[topology]\nlease_table = 'absent-lease'\n")
    result = subprocess.run(
        [str(BIN_DIR / "maip-dr"), "--config", str(config), "gameday", "--dr-execute",
         "--dr-confirm", "sim", *_drill(sim, "lease-no-table"), *NO_SCENARIO],
        capture_output=True, text=True, env=sim.env, cwd=sim.workdir, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'absent-lease'" in lines[0] and "us-west-2" in lines[0]
    assert "Traceback" not in result.stderr and "create-table" in lines[0]


@pytest.mark.cli
def test_lease_show_and_create_table_commands(sim: SimUpProcess) -> None:
    """``maip-dr lease`` (registered here as cli.py registers the other groups)."""
    from click.testing import CliRunner

    from maip_drlib.cli import cli
    from maip_drlib.cli.lease import lease_group
    from maip_drlib.errors import GuardRefused

    cli.add_command(lease_group)
    runner = CliRunner()
    base = ["--config", str(sim.config), "lease"]
    shown = runner.invoke(cli, [*base, "show"])
    assert shown.exit_code == 0 and "drill#api.maip.example.com: free" in shown.output
    refused = runner.invoke(cli, [*base, "create-table"])
    assert isinstance(refused.exception, GuardRefused) and "--dr-confirm" in str(
        refused.exception)
    again = runner.invoke(cli, [*base, "create-table", "--dr-execute", "--dr-confirm", "sim"])
    assert again.exit_code == 0 and "already exists" in again.output, again.output
