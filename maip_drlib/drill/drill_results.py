"""A drill's stage results, merged across its attempts, in drill order.

Each attempt folder holds one ``results-<phase>.json`` per pytest phase it ran; a later
attempt's result for the same phase, stage and scenario wins (a skipped one never replaces a
run one). The order of phases is ``evidence/drill_phases.PHASES``. Not supported: attempt
folders named other than ``attempt-<n>``.
"""

from __future__ import annotations

import json
from pathlib import Path

from maip_drlib.drill.stage_result import StageResult
from maip_drlib.evidence import drill_phases


def drill_order(key: tuple[str, object, str]) -> tuple[int, int]:
    phase, stage, _scenario = key  # phases in drill order: evidence/drill_phases.PHASES
    return drill_phases.order_of(phase), int(stage) if isinstance(stage, int) else 0


def all_results(drill_dir: Path) -> list[StageResult]:
    """Stage results of every attempt of the drill, in drill order; a later attempt's result
    wins."""
    merged: dict[tuple[str, object, str], StageResult] = {}
    attempts = sorted((p for p in drill_dir.glob("attempt-*") if p.name[8:].isdigit()),
                      key=lambda p: int(p.name[8:]))
    for attempt in attempts:
        for path in sorted(attempt.glob("results-*.json")):
            if path.name.endswith(".decisions.json"):
                continue
            for row in json.loads(path.read_text()):
                result = StageResult.from_row(row)
                key = (path.stem.removeprefix("results-"), result.stage, result.scenario)
                if result.outcome != "skipped" or key not in merged:
                    merged[key] = result
    return [merged[key] for key in sorted(merged, key=drill_order)]
