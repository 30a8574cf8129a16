"""Kept for importers not yet moved: the end-of-drill table is ``drill.results_table``.

``drill.gameday`` imports this module (``summary.exit_code``); new code imports
``maip_drlib.drill.results_table``. Not supported: anything beyond these re-exports.
"""

from __future__ import annotations

from maip_drlib.drill.results_table import (
    client_seen_line,
    colour_outcomes,
    document,
    exit_code,
    failures,
    table,
)

__all__ = ["client_seen_line", "colour_outcomes", "document", "exit_code", "failures", "table"]
