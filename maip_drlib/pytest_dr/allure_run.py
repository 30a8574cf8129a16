"""What the Allure plugin knows of the run: its facts, the listener, and a scenario's labels.

``RunFacts`` (drill id, attempt, alluredir, redactor, the target and operator learnt once, the
drill phase) lives in the config's stash (``FACTS_KEY``); ``listener_of`` finds
allure-pytest-bdd's listener; ``labels_of`` gives a scenario's ``stage``, ``target``,
``target_kind``, ``simulated`` and ``drill_id`` labels. Used by ``allure_evidence`` (the hooks)
and ``allure_results`` (the results it cleans). Not supported: allure-pytest (BDD only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from maip_drlib.evidence.redact import Redactor

SIMULATED_PREFIX = "[SIMULATED] "
SIMULATED_NOTE = ("**SIMULATED RUN**: evidence from a simulation of the platform, "
                  "not from production.")
REGION_IN_MESSAGE = re.compile(r"\bregion=([a-z]{2}-[a-z]+-\d)\b")


@dataclass
class RunFacts:
    """What the session learns once: the reachable target, its handles, the operator."""

    drill_id: str | None
    attempt: int | None
    alluredir: Path
    redactor: Redactor
    target: Any = None
    operator: Any = None
    written_skips: set[str] = field(default_factory=set)
    drill_phase: str | None = None  # the game day's phase (results-<phase>.json), if any


FACTS_KEY = pytest.StashKey[RunFacts]()
ATTACHED_KEY = pytest.StashKey[int]()


def attempt_of(alluredir: Path) -> int | None:
    match = re.fullmatch(r"attempt-(\d+)", alluredir.parent.name)
    return int(match.group(1)) if match else None


def listener_of(config: pytest.Config) -> Any | None:
    """allure-pytest-bdd's listener (it owns the lifecycle and the nodeid -> uuid map)."""
    try:
        from allure_pytest_bdd.pytest_bdd_listener import PytestBDDListener
    except ImportError:
        return None
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, PytestBDDListener):
            return plugin
    return None


def facts_of(config: pytest.Config) -> RunFacts | None:
    return config.stash.get(FACTS_KEY, None)


def stage_label(item: pytest.Item) -> str | None:
    from maip_drlib.pytest_dr.stages import phase_of, stage_of

    phase = phase_of(item)
    if phase is None:
        return None
    stage = stage_of(item)
    return f"{phase} {stage}" if stage else phase


def static_target(config: pytest.Config) -> Any:
    from maip_drlib.pytest_dr.keys import TARGET_KEY

    return config.stash.get(TARGET_KEY, None)


def labels_of(item: pytest.Item, target: Any, facts: RunFacts) -> list[tuple[str, str]]:
    labels: list[tuple[str, str]] = []
    stage = stage_label(item)
    if stage:
        labels.append(("stage", stage))
    if target is not None:
        labels += [("target", str(target.name)), ("target_kind", str(target.kind)),
                   ("simulated", "true" if target.simulated else "false")]
    if facts.drill_id:
        labels.append(("drill_id", facts.drill_id))
    return labels

