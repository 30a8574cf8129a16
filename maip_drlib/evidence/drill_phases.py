"""The phases of a game day in drill order, as the report and the timeline name them.

A game day runs readiness, the outage (injected on a simulation), failover 1..5, the RPO
checks, the optional hold in DR, the restore of the primary, failback 1..4 and readiness again
(``maip_drlib.drill.gameday``). The two readiness runs share their scenarios; what tells them
apart is the phase, the ``<phase>`` of the ``results-<phase>.json`` file each phase of a game
day's pytest session writes (``readiness``, ``readiness-after``).

Each phase has a key (``readiness-after``), a title ("readiness after the drill") and a group
name that sorts in drill order ("8. readiness after the drill": the report's ``parentSuite``).
Result identity: ``qualified_full_name`` prefixes a scenario's full name with its phase key,
so the same scenario run before and after the drill is two tests, not a retry.

Not supported: phases other than the game day's (an unknown key sorts last, titled by its key).
"""

from __future__ import annotations

import re
from pathlib import Path

# (key, title) in drill order.
PHASES: tuple[tuple[str, str], ...] = (
    ("readiness", "readiness before the drill"),
    ("outage", "outage of the primary region"),
    ("failover", "failover"),
    ("rpo", "RPO: data loss"),
    ("hold", "hold in DR"),
    ("restore", "restore of the primary region"),
    ("failback", "failback"),
    ("readiness-after", "readiness after the drill"),
)
KEYS = tuple(key for key, _title in PHASES)
_TITLES = dict(PHASES)
_RESULTS_FILE = re.compile(r"results-(?P<phase>[a-z][a-z-]*)\.json")


def order_of(key: str) -> int:
    """Position of ``key`` in drill order (0-based); unknown keys after every known one."""
    return KEYS.index(key) if key in KEYS else len(KEYS)


def title_of(key: str) -> str:
    return _TITLES.get(key, key)


def group_name(key: str) -> str:
    """The phase as the report groups it: "3. failover"; an unknown key as itself."""
    return f"{order_of(key) + 1}. {title_of(key)}" if key in _TITLES else key


def phase_of_results_file(path: Path | str | None) -> str | None:
    """The game-day phase of a ``results-<phase>.json`` path, or None (another name, or a
    phase this module does not know)."""
    if path is None:
        return None
    match = _RESULTS_FILE.fullmatch(Path(path).name)
    if match is None or match.group("phase") not in KEYS:
        return None
    return match.group("phase")


def qualified_full_name(key: str, full_name: str) -> str:
    """``full_name`` (allure-pytest-bdd's ``<feature file>:<scenario>``) in phase ``key``."""
    prefix = f"{key}:"
    return full_name if full_name.startswith(prefix) else prefix + full_name
