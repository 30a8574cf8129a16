"""The drill's timeline as a PNG: stages as horizontal bars on a simulated-minutes axis.

Bars are laid end to end in the order given (the stage results carry durations, not clock
times), colored by outcome (passed, passed over its RTO budget, failed, skipped); each stage's
RTO budget is a thin outline from the same start; the outage injection (start of failover
stage 1) and the recovery (end of the last failover stage: DR serving) are vertical lines.
Rendering uses matplotlib's Agg backend (no display needed).

Not supported: real overlapping/parallel stages, wall-clock axes, and other formats than PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maip_drlib.evidence.redact import Redactor, default_redactor

COLORS = {"passed": "#2e7d32", "rto_over": "#ef6c00", "failed": "#c62828",
          "skipped": "#9e9e9e", "other": "#5c6bc0"}


def _color(result: dict[str, Any]) -> str:
    outcome = str(result.get("outcome", "other"))
    if outcome == "passed" and result.get("rto_ok") is False:
        return COLORS["rto_over"]
    return COLORS.get(outcome, COLORS["other"])


def _minutes(result: dict[str, Any]) -> float:
    value = result.get("simulated_minutes")
    if value is None:
        value = float(result.get("duration_s") or 0.0) / 60.0
    return float(value)


def label_of(result: dict[str, Any]) -> str:
    phase, stage = result.get("phase", ""), result.get("stage")
    head = f"{phase} {stage}" if stage else str(phase)
    return f"{head}: {result.get('scenario', '')}"


def write_timeline(results: list[dict[str, Any]], path: Path, *, simulated: bool,
                   title: str = "", redactor: Redactor | None = None) -> Path:
    """Draw ``results`` (stage result dicts) into ``path`` (PNG) and return it."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    redactor = redactor or default_redactor()
    rows = list(results)
    height = max(2.5, 0.42 * len(rows) + 1.6)
    figure, axes = plt.subplots(figsize=(12, height), dpi=100)
    start = 0.0
    outage_at: float | None = None
    recovered_at: float | None = None
    x_max = 1.0
    for index, result in enumerate(rows):
        width = _minutes(result)
        y = len(rows) - 1 - index
        axes.barh(y, max(width, 0.02), left=start, height=0.6, color=_color(result))
        budget = result.get("rto_budget_minutes")
        if budget:
            axes.add_patch(Rectangle((start, y - 0.36), float(budget), 0.72, fill=False,
                                     edgecolor="#212121", linewidth=0.8, linestyle="--"))
            x_max = max(x_max, start + float(budget))
        phase = result.get("phase")
        if phase == "failover" and outage_at is None:
            outage_at = start
        if phase == "failover":
            recovered_at = start + width  # end of the last failover stage, kept if all passed
        start += width
        x_max = max(x_max, start)
    if outage_at is not None:
        axes.axvline(outage_at, color=COLORS["failed"], linewidth=1.5)
    failover = [r for r in rows if r.get("phase") == "failover"]
    if recovered_at is not None and all(r.get("outcome") == "passed" for r in failover):
        axes.axvline(recovered_at, color=COLORS["passed"], linewidth=1.5)
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels([redactor.text(label_of(r))[:70] for r in reversed(rows)], fontsize=8)
    axes.set_xlim(0, x_max * 1.05)
    axes.set_xlabel("simulated minutes (time_scale applied)" if simulated else "minutes")
    heading = ("SIMULATED - " if simulated else "") + (redactor.text(title) or "drill timeline")
    axes.set_title(heading, fontsize=10)
    axes.grid(axis="x", linestyle=":", linewidth=0.5)
    legend = [Patch(color=COLORS["passed"], label="passed"),
              Patch(color=COLORS["rto_over"], label="passed, over RTO budget"),
              Patch(color=COLORS["failed"], label="failed"),
              Patch(color=COLORS["skipped"], label="skipped"),
              Patch(fill=False, edgecolor="#212121", linestyle="--", label="RTO budget"),
              Line2D([0], [0], color=COLORS["failed"], label="outage injected"),
              Line2D([0], [0], color=COLORS["passed"], label="recovered (DR serving)")]
    axes.legend(handles=legend, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                borderaxespad=0.0)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    plt.close(figure)
    return path


def attach_png(path: Path, name: str = "drill timeline") -> bool:
    """Attach the PNG to the current Allure test or step; False outside an Allure session."""
    try:
        import allure
    except ImportError:
        return False
    allure.attach.file(str(path), name=name, attachment_type=allure.attachment_type.PNG)
    return True
