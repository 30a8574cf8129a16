"""The drill id that keys what a stage writes to the data plane (canary rows, heartbeats).

Stages run by a game day or ``maip-dr stage`` get the drill's id; stages run without one (a
scenario straight from pytest, a library call) use ``STAGE_DRILL_ID``, so that failback 2's
continuity check finds the rows failover 2 wrote.

Not supported: several drills sharing rows (each drill's rows are its own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maip_drlib.drill.context import DrillContext

# The key of data-plane rows written by stages run without a drill id (single stages, steps).
STAGE_DRILL_ID = "maip-dr-stages"


def data_plane_drill_id(drill_id: str | None, ctx: DrillContext | None = None) -> str:
    """The drill id data-plane rows are keyed by: the one given, else the context's (the
    drill's ``--dr-drill-id``), else ``STAGE_DRILL_ID``."""
    return drill_id or (ctx.drill_id if ctx is not None else None) or STAGE_DRILL_ID
