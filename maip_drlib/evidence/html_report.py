"""A drill's browsable report: one self-contained Allure 3 ``index.html``.

Runs Allure 3 (npm ``allure``, pinned in ``package.json``; no Java), found by
``maip_drlib.evidence.allure_install`` (``--allure``/``MAIP_DR_ALLURE``, the clone's
``node_modules``, or the per-user cache that ``maip-dr report --install-allure`` fills), with
this installation's ``allurerc.mjs`` (awesome plugin, ``singleFile: true``, the drill's
categories) on every attempt's ``allure-results`` of one drill, into
``reports/<drill id>/html/`` (derived output, outside the attempts' manifests). When the
configuration does not sit beside that Allure's ``node_modules`` (an installed wheel, an
explicit path), it is staged in a temporary folder with a ``node_modules/allure`` symlink, so
its ``import ... from "allure"`` resolves. The page renders from ``file://`` with no network.

What it shows (``allurerc.mjs``): every scenario as a result of its drill phase, grouped
and ordered as the drill ran ("1. readiness before the drill" ... "8. readiness after the
drill"; ``maip_drlib.pytest_dr.allure_phase``), the drill's events between the scenarios
(outage, hold, restore: ``report_events``) and, on the home page, the overview: the RTO/RPO
tables, the DR test record and the timeline as global attachments, the headline figures as
report variables (``report_overview``). Both are staged in a temporary results folder for
``allure generate``, as is a relabelled copy of results recorded before results carried their
phase (``report_legacy``); the attempts' sealed files are only read.

History across drills: the reports folder holding the drill keeps Allure 3's history file,
``<reports>/.allure-history.jsonl`` (``HISTORY_NAME``; JSON lines, one run per report, named
"MAIP DR drill <id>"), handed to ``allurerc.mjs`` as ``historyPath`` through the
``MAIP_DR_ALLURE_HISTORY`` variable: each report shows the earlier drills' runs of the same
scenarios (history, trend, flaky and new tests) and appends its own. Rebuilding a drill's report
replaces that drill's run rather than adding a second one.

Not supported: an ``allure`` on PATH that is not named with ``--allure``, Allure 2, publishing
the report anywhere, and two reports built at once in one reports folder (both would rewrite
its history file).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from maip_drlib.evidence.allure_install import (
    AllureTool,
    ReportFailed,
    ReportToolMissing,
    find_allure,
)
from maip_drlib.evidence.report_legacy import staged_results
from maip_drlib.evidence.report_overview import VARIABLES_ENV

__all__ = ["AllureTool", "ReportFailed", "ReportToolMissing", "build_report", "find_allure",
           "forget_run", "results_dirs", "staged_config", "strip_analytics"]
GENERATE_TIMEOUT_S = 300
HISTORY_NAME = ".allure-history.jsonl"
HISTORY_ENV = "MAIP_DR_ALLURE_HISTORY"


@contextmanager
def staged_config(tool: AllureTool) -> Iterator[Path]:
    """The configuration file to pass to ``allure generate``: ``tool.config`` itself when its
    folder's ``node_modules/allure`` is this Allure, else a copy in a temporary folder beside a
    ``node_modules/allure`` symlink to ``tool.package`` (removed afterwards)."""
    beside = tool.config.parent / "node_modules" / "allure"
    if beside.is_dir() and beside.resolve() == tool.package.resolve():
        yield tool.config
        return
    with tempfile.TemporaryDirectory(prefix="maip-dr-allure-") as folder:
        staged = Path(folder) / tool.config.name
        shutil.copyfile(tool.config, staged)
        (Path(folder) / "node_modules").mkdir()
        (Path(folder) / "node_modules" / "allure").symlink_to(tool.package.resolve(),
                                                              target_is_directory=True)
        yield staged


def results_dirs(drill_dir: Path) -> list[Path]:
    """Every attempt's non-empty ``allure-results`` of one drill, in attempt order."""
    def number(path: Path) -> int:
        tail = path.parent.name.split("-", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    found = [p for p in drill_dir.glob("attempt-*/allure-results") if p.is_dir()
             and any(p.iterdir())]
    return sorted(found, key=number)


def forget_run(history: Path, report_name: str) -> None:
    """Drop the runs named ``report_name`` (an earlier build of the same drill's report) from
    the history file, atomically; lines that are no JSON object are kept as they are."""
    if not history.is_file():
        return
    kept = []
    for line in history.read_text(encoding="utf-8").splitlines(keepends=True):
        try:
            run = json.loads(line)
        except ValueError:
            run = None
        if not (isinstance(run, dict) and run.get("name") == report_name):
            kept.append(line)
    staged = history.with_name(history.name + ".tmp")
    staged.write_text("".join(kept), encoding="utf-8")
    os.replace(staged, history)


def build_report(drill_dir: Path, *, tool: AllureTool, report_name: str | None = None,
                 keep_history: bool = True) -> Path:
    """Generate ``<drill_dir>/html/index.html`` from all attempts with ``tool`` (see
    ``find_allure``); return its path. With ``keep_history``, the report reads and extends the
    history file of the reports folder holding the drill (``HISTORY_NAME``)."""
    drill_dir = Path(drill_dir).resolve()
    if not drill_dir.is_dir():
        raise ReportFailed(f"{drill_dir}: no such drill folder")
    sources = results_dirs(drill_dir)
    if not sources:
        raise ReportFailed(f"{drill_dir}: no attempt has allure-results to report")
    output = drill_dir / "html"
    name = report_name or f"MAIP DR drill {drill_dir.name}"
    env = _quiet_env()
    for variable in (HISTORY_ENV, VARIABLES_ENV):
        env.pop(variable, None)
    if keep_history:
        history = drill_dir.parent / HISTORY_NAME
        forget_run(history, name)
        env[HISTORY_ENV] = str(history)
    with staged_config(tool) as config, tempfile.TemporaryDirectory(
            prefix="maip-dr-report-") as extras:
        sources = [staged_results(source, Path(extras) / f"results-{n}")
                   for n, source in enumerate(sources)]  # older evidence: put in phases
        sources += _drill_extras(drill_dir, Path(extras) / "extras", env)
        command = [tool.node, str(tool.allure_js), "generate", "--config", str(config),
                   "--output", str(output), "--report-name", name, *map(str, sources)]
        try:
            done = subprocess.run(command, cwd=config.parent, capture_output=True, text=True,
                                  timeout=GENERATE_TIMEOUT_S, env=env, check=False)
        except subprocess.TimeoutExpired as error:
            raise ReportFailed(f"allure generate took over {GENERATE_TIMEOUT_S}s") from error
    index = output / "index.html"
    if done.returncode != 0 or not index.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ReportFailed(f"allure generate failed (exit {done.returncode}): {tail[0][:300]}")
    strip_analytics(index)
    return index


def _drill_extras(drill_dir: Path, folder: Path, env: dict[str, str]) -> list[Path]:
    """Stage what the report shows besides the attempts' results, in ``folder`` (outside
    the sealed attempts): the overview (``report_overview``; its headline figures go to
    Allure through ``env``) and the drill's events as results (``report_events``); return
    the extra results folders."""
    from maip_drlib.evidence.report_events import write_event_results
    from maip_drlib.evidence.report_overview import write_overview

    env[VARIABLES_ENV] = json.dumps(write_overview(drill_dir, folder))
    write_event_results(drill_dir, folder)
    return [folder] if any(folder.iterdir()) else []


# Allure 3's awesome template always adds Google Analytics (plugin-awesome generators.js:
# ``analyticsEnable: true``): a network fetch and a report id sent off the machine each time the
# evidence is opened. The report must render offline and leak nothing, so both tags go.
_ANALYTICS = re.compile(
    r"<script async src=\"https://www\.googletagmanager\.com/gtag/js[^\"]*\"></script>\s*"
    r"<script>\s*window\.dataLayer = window\.dataLayer \|\| \[\];.*?</script>", re.S)
_REMOTE_SCRIPT = re.compile(r"<script[^>]+src=\"https?://", re.I)


def strip_analytics(index: Path) -> None:
    """Remove Allure's analytics tags; refuse a report that still loads a remote script."""
    html = index.read_text(encoding="utf-8")
    html = _ANALYTICS.sub("", html)
    if _REMOTE_SCRIPT.search(html):
        raise ReportFailed(f"{index}: the generated report loads a remote script; not kept "
                           "(the report must render offline)")
    index.write_text(html, encoding="utf-8")


def _quiet_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"NO_COLOR": "1", "CI": env.get("CI", "true")})
    return env
