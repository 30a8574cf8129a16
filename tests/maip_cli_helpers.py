"""Running ``maip-dr`` as a user does: a subprocess with a clean environment."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from maip_drlib.config_loader import load_config
from maip_drlib.drill.lease import DrillLease, Holder, lease_key
from maip_drlib.regions import build_region_handles

BIN_DIR = Path(sys.executable).parent


def stock_aws_cli() -> str | None:
    """The stock AWS CLI the tests compare with: MAIP_TEST_AWS_CLI (.ci/run installs it in its
    own venv), else ``aws`` on PATH."""
    return os.environ.get("MAIP_TEST_AWS_CLI") or shutil.which("aws")


NEEDS_AWS_CLI = pytest.mark.skipif(
    stock_aws_cli() is None, reason="the stock AWS CLI is not installed (set MAIP_TEST_AWS_CLI "
    "or put aws on PATH; .ci/run installs it)")


def kubeconfig_text(server: str = "https://127.0.0.1:9") -> str:
    """A kubeconfig with the runbook's two contexts on ``server`` (a static token): what a
    ``sim`` target must name (the loader refuses one without it, or with a remote server)."""
    contexts = "".join(f"- name: {name}\n  context: {{cluster: c, user: u}}\n"
                       for name in ("maip-prod", "maip-prod-dr"))
    return (f"apiVersion: v1\nclusters:\n- name: c\n  cluster: {{server: '{server}'}}\n"
            "users:\n- name: u\n  user: {token: placeholder}\ncontexts:\n" + contexts)


def maip_dr_env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AWS_", "MAIP_", "KUBECONFIG"))}
    env["HOME"] = str(home)
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_maip_dr(args: list[str], home: Path, timeout: float = 120,
                cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN_DIR / "maip-dr"), *args], capture_output=True, text=True,
                          env=maip_dr_env(home), timeout=timeout, cwd=cwd, check=False)


class SimUpProcess:
    """A ``maip-dr sim up`` process in ``workdir`` with its env file and config."""

    def __init__(self, workdir: Path, env: dict[str, str], args: list[str],
                 ready_timeout_s: float = 90):
        self.workdir = workdir
        self.env = env
        self.env_file = workdir / "e.sh"
        self.config = workdir / "c.toml"
        self.process = subprocess.Popen(
            [str(BIN_DIR / "maip-dr"), "sim", "up", "--env-file", "e.sh", "--config-out",
             "c.toml", *args], cwd=workdir, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # blocks until the one line with "ready"
        if "ready" not in line:
            self.stop()
            raise AssertionError(f"sim up did not report ready: {line!r}")

    def maip_dr(self, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN_DIR / "maip-dr"), "--config", str(self.config), *args],
                              capture_output=True, text=True, env=self.env, timeout=timeout,
                              cwd=self.workdir, check=False)

    def bash(self, script: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", f"source {self.env_file} 2>/dev/null\n{script}"],
                              capture_output=True, text=True, env=self.env, timeout=timeout,
                              cwd=self.workdir, check=False)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@contextlib.contextmanager
def sim_up_in(workdir: Path, time_scale: float,
              extra_args: Sequence[str] = ()) -> Iterator[SimUpProcess]:
    """A ``maip-dr sim up`` (``extra_args`` added, e.g. ``--data-plane``) with its own HOME
    under ``workdir``; stopped (cleanly) after."""
    home = workdir / "home"
    home.mkdir()
    running = SimUpProcess(workdir, maip_dr_env(home),
                           ["--time-scale", str(time_scale), *extra_args])
    yield running
    assert running.stop() == 0


def wait_until(what: str, condition: Callable[[], object], timeout_s: float = 30.0) -> object:
    """Poll ``condition`` every 0.1 s until it returns something truthy (exceptions count as
    not yet); AssertionError naming ``what`` and the last value at ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            last = condition()
            if last:
                return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def wait_until_lease_heartbeat_stale(config: Path, drill_id: str, *,
                                     min_left_s: float = 0.0) -> dict[str, Any]:
    """Wait until the drill lease of ``drill_id``, whose holder was killed (its heartbeat no
    longer renews), has a heartbeat older than two renewal intervals: ``--dr-break-lease`` is
    then allowed (or the lease has expired, which needs no break). ``min_left_s``: the lease
    must then still run that long (so what comes next is a break, not an expiry). Returns the
    lease item as read after the kill."""
    loaded = load_config(config)
    target = loaded.target(None)
    handles = build_region_handles(target, loaded.topology)  # reads only
    try:
        held = DrillLease(client=handles.secondary.client("dynamodb"),
                          table=loaded.topology.lease_table, region=handles.secondary.region,
                          key=lease_key(loaded.topology.record_name), ttl_s=60.0,
                          holder=Holder.this_process("test-lease-reader")).current()
    finally:
        handles.close()
    assert held is not None and held["drill_id"] == drill_id, held
    interval = float(held.get("heartbeat_s") or float(held["ttl_s"]) / 3)
    stale_at = float(held["heartbeat_at"]) + 2 * interval + 0.5
    assert float(held["expires_at"]) - stale_at >= min_left_s, held
    # The holder is dead: its heartbeat goes stale with the clock alone.
    wait_until(f"the heartbeat of {drill_id}'s killed holder to go stale",
               lambda: time.time() > stale_at, timeout_s=max(0.0, stale_at - time.time()) + 5)
    return held


def rds_instances_seen_by_aws_cli(sim: SimUpProcess, region: str) -> str:
    """``aws rds describe-db-instances`` against ``sim``: identifier, status and replication
    source of each instance, one per line (the env file's ``aws`` function adds the endpoint,
    so the CLI is called by name with its folder first on PATH)."""
    done = sim.bash(f"PATH={Path(str(stock_aws_cli())).parent}:$PATH\n"
                    f"aws rds describe-db-instances --region {region} --query "
                    "'DBInstances[].[DBInstanceIdentifier,DBInstanceStatus,"
                    "ReadReplicaSourceDBInstanceIdentifier]' --output text")
    assert done.returncode == 0, done.stderr
    return done.stdout
