"""The trend of a reports folder's drills as a PNG: RTO end to end and RPO per store over time.

Two panels sharing the time axis (each drill's UTC date): above, the RTO end to end of failover
and failback in minutes (the summary's figure: simulated minutes on a simulation, with the
time_scale applied) with each phase's budget as a dashed step; below, the RPO per store in
seconds (DynamoDB, RDS, MSK). Live drills are filled markers, simulated drills hollow ones
(the legend says so, and the title counts them); a figure that was not measured is left out,
never drawn as zero. Rendering uses matplotlib's Agg backend, as ``timeline.png`` does.

Not supported: drills without a date (left out: ``write_history_plot`` returns how many), other
formats than PNG, and interactive plots.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from maip_drlib.evidence.history import PHASES, STORES, DrillRow

if TYPE_CHECKING:
    from matplotlib.axes import Axes

PHASE_COLORS = {"failover": "#c62828", "failback": "#1565c0"}
STORE_COLORS = {"dynamodb": "#6a1b9a", "rds": "#2e7d32", "msk": "#ef6c00"}
STORE_MARKERS = {"dynamodb": "o", "rds": "s", "msk": "^"}


def _series(rows: list[tuple[datetime, DrillRow]], value: str, which: str
            ) -> list[tuple[datetime, float, bool]]:
    points = []
    for when, row in rows:
        if value == "rto":
            figure = row.rto.get(which) or {}
            number = figure.get("minutes")
        elif value == "budget":
            number = (row.rto.get(which) or {}).get("budget_minutes")
        else:
            number = row.rpo.get(which)
        if number is not None:
            points.append((when, float(number), bool(row.simulated)))
    return points


def _scatter(axes: Axes, points: list[tuple[datetime, float, bool]], *, color: str,
             marker: str) -> None:
    if not points:
        return
    axes.plot([p[0] for p in points], [p[1] for p in points], color=color,
              linewidth=1.0, alpha=0.6)
    for simulated in (False, True):
        chosen = [p for p in points if p[2] is simulated]
        if chosen:
            axes.scatter([p[0] for p in chosen], [p[1] for p in chosen], marker=marker,
                         s=46, zorder=3, edgecolors=color, linewidths=1.5,
                         facecolors="white" if simulated else color)


def write_history_plot(rows: list[DrillRow], path: Path, *, title: str = "") -> tuple[Path, int]:
    """Draw the trend of ``rows`` into ``path`` (PNG); return the path and how many drills
    were left out for want of a date."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    dated = sorted(((row.when, row) for row in rows if row.when is not None),
                   key=lambda pair: pair[0])
    figure, (rto_axes, rpo_axes) = plt.subplots(2, 1, figsize=(12, 7), dpi=100, sharex=True)
    for phase in PHASES:
        _scatter(rto_axes, _series(dated, "rto", phase), color=PHASE_COLORS[phase], marker="o")
        budget = _series(dated, "budget", phase)
        if budget:
            rto_axes.step([p[0] for p in budget], [p[1] for p in budget], where="post",
                          color=PHASE_COLORS[phase], linestyle="--", linewidth=0.9)
    for store in STORES:
        _scatter(rpo_axes, _series(dated, "rpo", store), color=STORE_COLORS[store],
                 marker=STORE_MARKERS[store])
    rto_axes.set_ylabel("RTO end to end (minutes)")
    rpo_axes.set_ylabel("RPO (seconds)")
    rpo_axes.set_xlabel("drill date (UTC)")
    for axes in (rto_axes, rpo_axes):
        axes.grid(linestyle=":", linewidth=0.5)
        axes.set_ylim(bottom=-0.04 * axes.get_ylim()[1])  # a zero RPO stays visible
    rpo_axes.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d\n%H:%M"))
    if len(dated) == 1:  # one drill: give the axis some width around it
        only = mdates.date2num(dated[0][0])
        rpo_axes.set_xlim(only - 0.5, only + 0.5)
    rto_axes.legend(handles=[
        *(Line2D([0], [0], color=PHASE_COLORS[p], marker="o", label=f"{p} RTO") for p in PHASES),
        *(Line2D([0], [0], color=PHASE_COLORS[p], linestyle="--", label=f"{p} budget")
          for p in PHASES),
        Line2D([0], [0], color="#424242", marker="o", linestyle="", label="live drill"),
        Line2D([0], [0], color="#424242", marker="o", linestyle="", markerfacecolor="white",
               label="simulated drill")],
        fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    rpo_axes.legend(handles=[
        Line2D([0], [0], color=STORE_COLORS[s], marker=STORE_MARKERS[s], label=f"{s} RPO")
        for s in STORES], fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0)
    simulated = sum(1 for _, row in dated if row.simulated)
    heading = title or "DR drill history"
    rto_axes.set_title(f"{heading}: {len(dated)} drill(s), {simulated} simulated "
                       f"(hollow markers: SIMULATED)", fontsize=10)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    plt.close(figure)
    return path, len(rows) - len(dated)
