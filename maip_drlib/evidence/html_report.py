"""A drill's browsable report: one self-contained Allure 3 ``index.html``.

Runs the project's locally installed Allure 3 (npm ``allure``, pinned in ``package.json``,
installed by ``npm ci`` in the project root; no Java) with ``allurerc.mjs`` (awesome plugin,
``singleFile: true``, the drill's categories) on every attempt's ``allure-results`` of one
drill, into ``reports/<drill id>/html/`` (derived output, outside the attempts' manifests).
The page renders from ``file://`` with no network.

Not supported: a global ``allure`` on PATH (the pinned local one only), Allure 2, history or
trend across drills, and publishing the report anywhere.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from maip_drlib.errors import DRError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTALL_HINT = "install it with `npm ci` in the project root (needs Node.js 20+ and npm)"
GENERATE_TIMEOUT_S = 300


class ReportToolMissing(DRError):
    """Node.js or the project's Allure 3 package is not installed (exit 4)."""

    exit_code = 4


class ReportFailed(DRError):
    """Allure ran but did not produce the report (exit 4)."""

    exit_code = 4


@dataclass(frozen=True)
class AllureTool:
    node: str
    allure_js: Path
    config: Path


def find_allure(project_root: Path = PROJECT_ROOT) -> AllureTool:
    """The locally installed Allure 3 and Node.js, or ReportToolMissing saying how to get them."""
    node = shutil.which("node")
    if node is None:
        raise ReportToolMissing(f"Node.js (node) is not on PATH: {INSTALL_HINT}")
    allure_js = project_root / "node_modules" / "allure" / "cli.js"
    if not allure_js.is_file():
        candidates = sorted((project_root / "node_modules" / "allure").glob("**/cli.js"))
        if not candidates:
            raise ReportToolMissing(f"Allure 3 is not installed in {project_root}/node_modules: "
                                    f"{INSTALL_HINT}")
        allure_js = candidates[0]
    config = project_root / "allurerc.mjs"
    if not config.is_file():
        raise ReportToolMissing(f"{config} is missing (the Allure 3 config of this project)")
    return AllureTool(node=node, allure_js=allure_js, config=config)


def results_dirs(drill_dir: Path) -> list[Path]:
    """Every attempt's non-empty ``allure-results`` of one drill, in attempt order."""
    def number(path: Path) -> int:
        tail = path.parent.name.split("-", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    found = [p for p in drill_dir.glob("attempt-*/allure-results") if p.is_dir()
             and any(p.iterdir())]
    return sorted(found, key=number)


def build_report(drill_dir: Path, *, tool: AllureTool | None = None,
                 report_name: str | None = None) -> Path:
    """Generate ``<drill_dir>/html/index.html`` from all attempts; return its path."""
    drill_dir = Path(drill_dir).resolve()
    if not drill_dir.is_dir():
        raise ReportFailed(f"{drill_dir}: no such drill folder")
    sources = results_dirs(drill_dir)
    if not sources:
        raise ReportFailed(f"{drill_dir}: no attempt has allure-results to report")
    tool = tool or find_allure()
    output = drill_dir / "html"
    command = [tool.node, str(tool.allure_js), "generate", "--config", str(tool.config),
               "--output", str(output), "--report-name",
               report_name or f"MAIP DR drill {drill_dir.name}", *map(str, sources)]
    try:
        done = subprocess.run(command, cwd=tool.config.parent, capture_output=True, text=True,
                              timeout=GENERATE_TIMEOUT_S, env=_quiet_env(), check=False)
    except subprocess.TimeoutExpired as error:
        raise ReportFailed(f"allure generate took over {GENERATE_TIMEOUT_S}s") from error
    index = output / "index.html"
    if done.returncode != 0 or not index.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ReportFailed(f"allure generate failed (exit {done.returncode}): {tail[0][:300]}")
    strip_analytics(index)
    return index


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
    import os

    env = dict(os.environ)
    env.update({"NO_COLOR": "1", "CI": env.get("CI", "true")})
    return env
