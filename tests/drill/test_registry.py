"""The drill's stages are declared once (``drill/registry.py``) and ``features/`` agrees.

Every failover and failback scenario of the Gherkin is a stage of the registry (same phase,
number and title, ``@destructive`` as declared, an RTO budget step and the "where this stage
starts" Given), and every stage of the registry has exactly one scenario. Its readers take
what it says: the preconditions (one per stage, in its words), the command line's stage
parsing, the rehearsal's order and failback 3's limits from the Gherkin.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner

from maip_drlib.drill import preconditions, registry, rehearse
from maip_drlib.errors import ConfigError

pytestmark = pytest.mark.unit

FEATURES = Path(__file__).resolve().parents[2] / "features"


def _scenarios() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(FEATURES.glob("*.feature")):
        feature = Parser().parse(TokenScanner(path.read_text(encoding="utf-8")))["feature"]
        tags = {tag["name"].lstrip("@") for tag in feature["tags"]}
        phase = next((p for p in registry.PHASES if p in tags), None)
        for child in feature["children"]:
            if phase is not None and "scenario" in child:
                yield phase, child["scenario"]


def _number(scenario: dict[str, Any]) -> int:
    numbers = [int(t["name"].removeprefix("@stage_")) for t in scenario["tags"]
               if t["name"].startswith("@stage_")]
    assert len(numbers) == 1, scenario["name"]
    return numbers[0]


def test_every_stage_scenario_is_in_the_registry_and_the_other_way_round() -> None:
    seen: list[tuple[str, int]] = []
    for phase, scenario in _scenarios():
        stage = registry.stage(phase, _number(scenario))
        seen.append((phase, stage.number))
        assert scenario["name"] == stage.title
        tags = {tag["name"] for tag in scenario["tags"]}
        assert ("@destructive" in tags) == stage.destructive, stage.name
        steps = [f"{s['keyword'].strip()} {s['text']}" for s in scenario["steps"]]
        assert registry.rto_budget_minutes(stage, FEATURES) is not None, stage.name
        assert "And the platform is where this stage starts" in steps, stage.name
    assert sorted(seen) == sorted((s.phase, s.number) for s in registry.STAGES)


def test_every_stage_runs_a_function_and_has_its_precondition() -> None:
    for stage in registry.STAGES:
        assert callable(stage.runner()), stage.name
        assert callable(stage.planner()) and stage.planner().__doc__, stage.name
        assert preconditions.precondition(stage.phase, stage.number).needs == stage.needs


def test_stages_parse_from_the_registry() -> None:
    assert registry.parse_stage("failback:4", key="--after").name == "failback 4"
    assert rehearse.parse_after("failover:5") == ("failover", 5)
    for wrong in ("failback:5", "failover:0", "rpo:1", "failover 3", ""):
        with pytest.raises(ConfigError, match=r"failover:1\.\.5 or failback:1\.\.4"):
            registry.parse_stage(wrong, key="--after")


def test_the_rehearsal_takes_failback_3s_limits_from_the_gherkin(tmp_path: Path) -> None:
    assert rehearse.shift_limits(FEATURES) == (5.0, 1.5)
    changed = (FEATURES / "failback.feature").read_text().replace(
        "5XX stay under 5 per minute", "5XX stay under 7 per minute")
    (tmp_path / "failback.feature").write_text(changed)
    assert rehearse.shift_limits(tmp_path) == (7.0, 1.5)
