"""A shorter failback soak for rehearsals and tests: ``maip-dr gameday|stage --soak-step SECONDS``
passes ``--dr-soak-step`` to the drill, whose failback 3 soaks each weighted step that many real
seconds instead of the feature's minutes and journals the override as a decision. Bad values
are one line naming the option (exit 2) before anything starts; without the option the
feature's value stands."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from maip_drlib.cli.drill_options import dr_args
from maip_drlib.config import Target
from maip_drlib.drill.context import DecisionLog, DrillOptions
from maip_drlib.drill.outcome import StageOutcome
from maip_drlib.pytest_dr.options import DrRunOptions, soak_step_seconds

pytestmark = [pytest.mark.sim, pytest.mark.cli]


@pytest.mark.parametrize(("args", "says"), [
    (["gameday", "--soak-step", "5"], "--soak-step: expected 10 to 3600 seconds, got 5"),
    (["gameday", "--soak-step", "7200"], "--soak-step: expected 10 to 3600 seconds, got 7200"),
    (["stage", "failback", "3", "--soak-step", "abc"],
     "--soak-step: expected a finite number of seconds > 0, got 'abc'"),
], ids=["too-short", "too-long", "not-a-number"])
def test_bad_soak_steps_are_one_line_and_start_nothing(
        maip_dr, tmp_path: Path, args: list[str], says: str) -> None:
    result = maip_dr(args, timeout=60, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert "starting the embedded simulation" not in result.stdout + result.stderr


def test_the_cli_passes_the_soak_step_to_the_drill(tmp_path: Path) -> None:
    target = SimpleNamespace(name="live")
    args = dr_args(target, tmp_path / "c.toml", {"soak_step": 10.0})  # type: ignore[arg-type]
    assert args[-2:] == ["--dr-soak-step", "10"]
    assert "--dr-soak-step" not in dr_args(target, tmp_path / "c.toml", {})  # type: ignore[arg-type]


def test_the_plugin_option_is_bounded_and_reaches_the_drill_options() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected 10 to 3600 seconds"):
        soak_step_seconds("9.5")
    with pytest.raises(argparse.ArgumentTypeError):
        soak_step_seconds("nan")
    assert soak_step_seconds("10") == 10.0
    options = DrRunOptions(config_path=None, target_name=None, execute=True, confirm=None,
                           declare_outage=None, planned=True, pause_between_stages=False,
                           dry_run=False, results_path=None, soak_step_s=12.0)
    assert options.drill_options().soak_step_s == 12.0
    assert DrillOptions().soak_step_s is None  # production keeps the feature's minutes


def _shift(monkeypatch: pytest.MonkeyPatch, options: DrillOptions,
           target: Target) -> tuple[dict[str, Any], DecisionLog]:
    from maip_drlib.drill import failback
    from steps import failback_steps

    seen: dict[str, Any] = {}

    def stage_3(ctx: Any, **kwargs: Any) -> StageOutcome:
        seen.update(kwargs)
        return StageOutcome("failback 3", "shifted", (), {})

    monkeypatch.setattr(failback, "stage_3_weighted_shift", stage_3)
    from maip_drlib.drill.context import DrillContext

    decisions = DecisionLog()
    ctx = DrillContext(handles=None, topology=None, target=target,  # type: ignore[arg-type]
                       resolver=None, options=options, decisions=decisions)  # type: ignore[arg-type]
    failback_steps.weighted_shift(ctx, "10/90, 100/0", 2.0, 5.0, 1.5)
    return seen, decisions


def _live_target() -> Target:
    from maip_drlib.config import RegionConnection

    return Target(name="prod", kind="live", primary=RegionConnection("us-east-1", "a"),
                  secondary=RegionConnection("us-west-2", "b"))


def test_failback_3_soaks_the_override_and_journals_it(monkeypatch: pytest.MonkeyPatch) -> None:
    seen, decisions = _shift(monkeypatch, DrillOptions(soak_step_s=10.0), _live_target())
    assert seen["soak_s"] == 10.0
    [entry] = decisions.entries
    assert entry.stage == "failback 3" and "--dr-soak-step" in entry.decision
    assert entry.evidence == {"option": "--dr-soak-step", "soak_step_s": 10.0,
                              "feature_minutes": 2.0, "feature_seconds": 120.0}


def test_without_the_override_failback_3_soaks_the_feature_minutes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen, decisions = _shift(monkeypatch, DrillOptions(), _live_target())
    assert seen["soak_s"] == 120.0
    assert decisions.entries == []
