"""Kept for importers not yet moved: the summary files are ``evidence.summary_files``.

``drill.gameday`` imports ``write_summary`` from here; new code imports
``maip_drlib.evidence.summary_files``. Not supported: anything beyond these re-exports.
"""

from __future__ import annotations

from maip_drlib.evidence.summary_files import rpo_line, verdict_of, write_summary

__all__ = ["rpo_line", "verdict_of", "write_summary"]
