"""Runs the Gherkin scenarios in a pytest subprocess and reads back the stage results.

The subprocess is the unit of an attempt: an interrupted pytest leaves the simulation (hosted
by the calling process) and the evidence in place. Three pytest plugins are not loaded
(``FAST_START``): the cache, Hypothesis's (no scenario uses it, and its terminal summary
imports the whole library: 0.6-4 s per phase) and the unraisable-exception one (two full
garbage collections per run). The scenarios run from a clone's top folder, or from the copy
a wheel install carries in ``maip_drlib/_scenarios`` (``maip_drlib.scenarios_home``).
Not supported: an installation with neither (one line says so, exit 2).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from maip_drlib.evidence.redact import Redactor
from maip_drlib.scenarios_home import scenarios_home

# Plugins a drill run does without: the cache (a drill is not re-run by failures),
# Hypothesis (no scenario uses it; its terminal summary imports the whole library) and the
# unraisable-exception plugin (two full garbage collections per run, about 0.1 s; an
# exception in a finalizer is still printed by Python's own hook).
# How long an interrupted pytest child gets to stop before it is killed.
CHILD_STOP_GRACE_S = 30.0
FAST_START = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest",
              "-p", "no:unraisableexception")


@dataclass(frozen=True)
class PytestRun:
    phase: str
    exit_code: int
    results: list[dict]


def scenarios_root() -> Path:
    """The pytest root of the scenarios: the clone's top, else the packaged copy."""
    return scenarios_home()


def _pump(source: IO[str], sink: IO[str], redactor: Redactor) -> None:
    for line in source:
        sink.write(redactor.text(line))
        sink.flush()


def stop_child(process: subprocess.Popen[str], grace_s: float = CHILD_STOP_GRACE_S) -> None:
    """Ask the pytest child to stop as Ctrl-C does (it finishes the current step's teardown
    and writes its results), wait for it up to ``grace_s``, then kill it."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace_s)


def _run_redacted(command: list[str], cwd: Path, redactor: Redactor) -> int:
    """Run ``command`` with its output redacted line by line on the way to the terminal."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, bufsize=1)
    assert process.stdout is not None and process.stderr is not None
    pumps = [threading.Thread(target=_pump, args=(process.stdout, sys.stdout, redactor),
                              daemon=True),
             threading.Thread(target=_pump, args=(process.stderr, sys.stderr, redactor),
                              daemon=True)]
    for pump in pumps:
        pump.start()
    try:
        code = process.wait()
    except KeyboardInterrupt:  # SIGINT or SIGTERM (Terminated) of this process
        stop_child(process)
        raise
    for pump in pumps:
        pump.join(timeout=5)
    return code


def run_scenarios(phase: str, marker: str, *, results_path: Path, dr_args: list[str],
                  extra_args: list[str], allure_dir: Path | None = None,
                  redactor: Redactor | None = None) -> PytestRun:
    """``pytest steps -m MARKER`` with the drill options; output streams to the terminal,
    through ``redactor`` when given (not with --dr-pause-between-stages, whose question has
    no line end)."""
    root = scenarios_root()
    command = [sys.executable, "-m", "pytest", str(root / "steps"), "--rootdir", str(root),
               *FAST_START, "-m", marker, "--capture=tee-sys", "-q",
               "--no-header", "-rfEs", "--dr-results", str(results_path), *dr_args]
    if allure_dir is not None:
        command += ["--alluredir", str(allure_dir)]
        if allure_dir.parent.name.startswith("attempt-"):
            command += ["--dr-drill-id", allure_dir.parent.parent.name]
    command += extra_args
    if redactor is not None and "--dr-pause-between-stages" not in dr_args:
        code = _run_redacted(command, root, redactor)
    else:
        code = subprocess.run(command, cwd=root, check=False).returncode
    results = json.loads(results_path.read_text()) if results_path.exists() else []
    return PytestRun(phase=phase, exit_code=code, results=results)
