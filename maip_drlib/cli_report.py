"""``maip-dr report [DRILL_ID] [--reports DIR]``: one self-contained HTML report of a drill.

Builds ``<reports>/<drill id>/html/index.html`` with the project's Allure 3 (``npm ci`` in
the project root installs it) from every attempt's ``allure-results``; without DRILL_ID the
most recently changed drill folder is used. Exit codes: 0 written; 2 no such drill or no
results; 4 Node.js or Allure 3 missing (one line saying ``npm ci``) or Allure failed.

Not supported: reports spanning several drills, and opening a browser.
"""

from __future__ import annotations

from pathlib import Path

import click

from maip_drlib.drill.evidence_dirs import DRILL_ID
from maip_drlib.errors import ConfigError


def _latest_drill(reports: Path) -> Path:
    drills = [p for p in reports.iterdir() if p.is_dir() and DRILL_ID.match(p.name)
              and any(p.glob("attempt-*"))] if reports.is_dir() else []
    if not drills:
        raise ConfigError(f"{reports}: no drill folder with attempts", key="DRILL_ID")
    return max(drills, key=lambda p: p.stat().st_mtime)


@click.command("report")
@click.argument("drill_id", required=False)
@click.option("--reports", "reports_dir", type=click.Path(path_type=Path), default=Path("reports"),
              show_default=True, help="Evidence folder: <reports>/<drill id>/attempt-<n>/.")
def report_command(drill_id: str | None, reports_dir: Path) -> None:
    """Build the drill's single-file HTML report (Allure 3) into <reports>/<drill id>/html/.

    Exit codes: 0 written; 2 no such drill or no results; 4 Node.js/Allure 3 missing (run
    `npm ci` in the project root) or Allure failed.
    """
    from maip_drlib.evidence.html_report import build_report, find_allure, results_dirs

    if drill_id is not None:
        if not DRILL_ID.match(drill_id):
            raise ConfigError(f"drill id {drill_id!r} must be letters, digits, '.', '_' or '-'",
                              key="DRILL_ID")
        drill_dir = reports_dir / drill_id
        if not drill_dir.is_dir():
            raise ConfigError(f"{drill_dir}: no such drill", key="DRILL_ID")
    else:
        drill_dir = _latest_drill(reports_dir)
    if not results_dirs(drill_dir):
        raise ConfigError(f"{drill_dir}: no attempt has allure-results to report",
                          key="DRILL_ID")
    tool = find_allure()
    index = build_report(drill_dir, tool=tool)
    click.echo(f"maip-dr: report of drill {drill_dir.name}: {index}")
