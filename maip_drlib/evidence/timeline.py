"""The drill's timeline as a PNG: stages as horizontal bars on a simulated-minutes axis.

The rows come from ``maip_drlib.evidence.timeline_rows`` (each readiness phase one bar, a
bar per failover/failback stage, RPO check and hold, and a bar for the RTO end to end of the
failover and of the failback). Bars are laid end to end in the order given (the stage results
carry durations, not clock times), colored by outcome (passed, passed over its RTO budget,
failed, skipped); each stage's RTO budget is a thin dashed outline from the same start; an RTO
end to end is a hatched bar with its budget outlined; the outage injection (start of failover
stage 1) and the recovery (DR serving: the end of the failover's RTO end to end, else of its
last stage) are vertical lines.
Rendering uses matplotlib's Agg backend (no display needed). Importing it takes about half a
second of CPU; ``load_plotting_in_background`` lets a drill spend that while it only waits
(``write_timeline`` then waits for that import to end, at most ``PRELOAD_WAIT_S``).

Not supported: real overlapping/parallel stages, wall-clock axes, and other formats than PNG.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from maip_drlib.evidence.redact import Redactor, default_redactor
from maip_drlib.evidence.timeline_rows import TimelineRow, label_of, timeline_rows

__all__ = ["COLORS", "attach_png", "label_of", "load_plotting_in_background", "write_timeline"]
COLORS = {"passed": "#2e7d32", "rto_over": "#ef6c00", "failed": "#c62828",
          "skipped": "#9e9e9e", "other": "#5c6bc0"}
PHASE_COLOR = "#81c784"  # a grouped readiness phase: lighter than a stage
LABEL_CHARS = 90  # the longest stage label (failback 1) is 82 characters
PRELOAD_WAIT_S = 60.0  # a fresh machine's first import builds matplotlib's font cache
_preload: threading.Thread | None = None
_preload_lock = threading.Lock()


def load_plotting_in_background() -> None:
    """Start importing matplotlib (Agg) in a daemon thread, for a later ``write_timeline``;
    a second call does nothing."""
    global _preload
    with _preload_lock:
        if _preload is None:
            _preload = threading.Thread(target=_import_plotting, name="timeline-import",
                                        daemon=True)
            _preload.start()


def _import_plotting() -> None:
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot
    except Exception:  # write_timeline's own import says it, not a thread's traceback
        return


def _draw_row(axes: Any, row: TimelineRow, y: int) -> float:
    """Draw one bar (and its budget); return the right edge it needs on the axis."""
    from matplotlib.patches import Rectangle

    color = COLORS.get(row.outcome, COLORS["other"])
    if row.kind == "phase" and row.outcome == "passed":
        color = PHASE_COLOR
    if row.kind == "end_to_end":
        axes.barh(y, max(row.minutes, 0.02), left=row.start, height=0.6, color="none",
                  edgecolor=color, hatch="///", linewidth=1.2)
    else:
        axes.barh(y, max(row.minutes, 0.02), left=row.start, height=0.6, color=color)
    right = row.end
    if row.budget_minutes:
        axes.add_patch(Rectangle((row.start, y - 0.36), row.budget_minutes, 0.72, fill=False,
                                 edgecolor="#212121", linewidth=0.8, linestyle="--"))
        right = max(right, row.start + row.budget_minutes)
    return right


def _short(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[:limit - 3].rstrip() + "..."


def write_timeline(results: list[dict[str, Any]], path: Path, *, simulated: bool,
                   title: str = "", redactor: Redactor | None = None,
                   end_to_end: dict[str, Any] | None = None) -> Path:
    """Draw ``results`` (stage result dicts, drill order) into ``path`` (PNG) and return it.
    ``end_to_end``: the RTO end to end per phase (``summary.json``'s ``rto_end_to_end``),
    labelled on its bars; without it they say the sum of the stages."""
    if _preload is not None:  # an import already under way ends first (its own errors
        _preload.join(PRELOAD_WAIT_S)  # are raised again by the imports below)
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    redactor = redactor or default_redactor()
    rows = timeline_rows(list(results), end_to_end)
    height = max(2.5, 0.42 * len(rows) + 1.6)
    figure, axes = plt.subplots(figsize=(12, height), dpi=100)
    x_max = 1.0
    for index, row in enumerate(rows):
        x_max = max(x_max, _draw_row(axes, row, len(rows) - 1 - index))
    failover = [r for r in rows if r.kind == "stage" and r.phase == "failover"]
    if failover:
        axes.axvline(failover[0].start, color=COLORS["failed"], linewidth=1.5)
        if all(r.outcome in ("passed", "rto_over") for r in failover):
            whole = next((r for r in rows if r.kind == "end_to_end" and r.phase == "failover"),
                         failover[-1])  # the measured RTO end to end when known
            axes.axvline(whole.end, color=COLORS["passed"], linewidth=1.5)
    axes.set_yticks(range(len(rows)))
    labels = [_short(redactor.text(r.label)) for r in reversed(rows)]
    axes.set_yticklabels(labels, fontsize=8)
    for tick, row in zip(axes.get_yticklabels(), reversed(rows), strict=True):
        if row.kind == "end_to_end":
            tick.set_fontweight("bold")
    axes.set_xlim(0, x_max * 1.05)
    axes.set_xlabel("simulated minutes (time_scale applied)" if simulated else "minutes")
    heading = ("SIMULATED - " if simulated else "") + (redactor.text(title) or "drill timeline")
    axes.set_title(heading, fontsize=10)
    axes.grid(axis="x", linestyle=":", linewidth=0.5)
    legend = [Patch(color=COLORS["passed"], label="passed"),
              Patch(color=PHASE_COLOR, label="readiness phase, all passed"),
              Patch(color=COLORS["rto_over"], label="passed, over RTO budget"),
              Patch(color=COLORS["failed"], label="failed"),
              Patch(color=COLORS["skipped"], label="skipped"),
              Patch(fill=False, edgecolor="#212121", linestyle="--", label="RTO budget"),
              Patch(fill=False, edgecolor=COLORS["passed"], hatch="///",
                    label="RTO end to end"),
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
