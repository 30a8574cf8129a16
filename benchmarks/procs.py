"""Processes the benchmarks drive: a simulation (``maip-dr sim up`` or the scaled host), the
measuring worker, and bash with the simulation's env file sourced.

Every wait here has a deadline; every process is stopped (SIGTERM, then SIGKILL) on exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

Timed = tuple[float, "subprocess.CompletedProcess[str]"]

BIN_DIR = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent


class BenchmarkError(RuntimeError):
    """A benchmark could not be made (a process did not start or answer)."""


# Not in a user's environment: Python's bytecode cache is on by default (an installed package
# and a clone's __pycache__ after the first run); without it every run compiles the suite's
# own modules again (about 1 s of the 2.6 s collection measured with it set).
_NOT_A_USERS = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")


def clean_env(extra_path: list[Path] | None = None) -> dict[str, str]:
    """The environment a user would have: no AWS_/MAIP_/KUBECONFIG, Python's bytecode cache
    on (as by default), the venv's bin first."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AWS_", "MAIP_", "KUBECONFIG")) and key not in _NOT_A_USERS}
    paths = [str(p) for p in (extra_path or [])] + [str(BIN_DIR), env.get("PATH", "")]
    env["PATH"] = os.pathsep.join(paths)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _readline(process: subprocess.Popen[str], timeout_s: float, what: str) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout_s)
    if not ready:
        raise BenchmarkError(f"{what} gave no answer within {timeout_s:g}s")
    line = process.stdout.readline()
    if not line:
        stderr = process.stderr.read()[-2000:] if process.stderr else ""
        raise BenchmarkError(f"{what} exited (code {process.poll()}): {stderr}")
    return line


def stop_process(process: subprocess.Popen[str], timeout_s: float = 30) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class SimProcess:
    """A simulation in its own process, with its env file and config; ``ready`` measured."""

    def __init__(self, command: list[str], workdir: Path, env: dict[str, str],
                 ready_timeout_s: float = 300):
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir, self.env = workdir, env
        self.env_file, self.config = workdir / "e.sh", workdir / "c.toml"
        started = time.perf_counter()
        self.process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        try:
            line = _readline(self.process, ready_timeout_s, "the simulation")
        except BaseException:
            self.stop()
            raise
        if "ready" not in line:
            self.stop()
            raise BenchmarkError(f"the simulation did not report ready: {line!r}")
        self.ready_s = time.perf_counter() - started

    @classmethod
    def sim_up(cls, workdir: Path, env: dict[str, str]) -> SimProcess:
        return cls([str(BIN_DIR / "maip-dr"), "sim", "up", "--env-file", "e.sh",
                    "--config-out", "c.toml"], workdir, env)

    @classmethod
    def scaled(cls, workdir: Path, env: dict[str, str], services: int) -> SimProcess:
        return cls([sys.executable, "-m", "benchmarks.simhost", "--dir", ".",
                    "--services", str(services)], workdir, env, ready_timeout_s=900)

    def bash(self, script: str, timeout_s: float = 300) -> Timed:
        """Run ``script`` in bash with the env file sourced; wall seconds and the result."""
        started = time.perf_counter()
        done = subprocess.run(["bash", "-c", f"source {self.env_file} 2>/dev/null\n{script}"],
                              capture_output=True, text=True, env=self.env, timeout=timeout_s,
                              cwd=self.workdir, check=False)
        return time.perf_counter() - started, done

    def maip_dr(self, args: list[str], timeout_s: float = 300) -> Timed:
        started = time.perf_counter()
        done = subprocess.run([str(BIN_DIR / "maip-dr"), "--config", str(self.config), *args],
                              capture_output=True, text=True, env=self.env, timeout=timeout_s,
                              cwd=self.workdir, check=False)
        return time.perf_counter() - started, done

    def stop(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        stop_process(self.process)

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Worker:
    """``python -m benchmarks.worker`` against a simulation's config; one JSON per command."""

    def __init__(self, config: Path, env: dict[str, str], cwd: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker", "--config", str(config)], cwd=cwd,
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        try:
            line = _readline(self.process, 120, "the worker")
        except BaseException:
            self.stop()
            raise
        if line.strip() != "ready":
            self.stop()
            raise BenchmarkError(f"the worker did not start: {line!r}")

    def ask(self, command: str, timeout_s: float = 600) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer = json.loads(_readline(self.process, timeout_s, f"the worker ({command})"))
        if "error" in answer:
            raise BenchmarkError(f"worker: {answer['error']}")
        return answer

    def stop(self) -> None:
        if self.process.poll() is None and self.process.stdin is not None:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        stop_process(self.process)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
