"""Which scenarios a phase of a drill runs, as predicates on pytest items (no pytest import:
an item is anything with markers and a name).

``with_markers`` is what ``-m "a and not b"`` with ``-k "not x"`` selected when each phase was
its own pytest process; ``from_stage`` is a resumed phase's stages. Not supported: pytest's
full marker expressions (``or``, parentheses): the drill's phases do not need them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol


class Scenario(Protocol):
    """What a selection reads of a pytest item."""

    name: str

    def get_closest_marker(self, name: str) -> Any: ...


Select = Callable[[Any], bool]


def with_markers(*required: str, without: Iterable[str] = (),
                 name_without: Iterable[str] = ()) -> Select:
    """Items with every ``required`` marker, none of ``without``, and no ``name_without``
    text in their name."""
    excluded, names = tuple(without), tuple(name_without)

    def select(item: Scenario) -> bool:
        return (all(item.get_closest_marker(m) is not None for m in required)
                and not any(item.get_closest_marker(m) is not None for m in excluded)
                and not any(text in item.name for text in names))

    return select


def from_stage(phase: str, first: int) -> Select:
    """Phase ``phase``'s stages from ``first`` on (``--resume-from phase:first``)."""
    return with_markers(phase, without=[f"stage_{n}" for n in range(1, first)])


def marker_expression(phase: str, first: int) -> str:
    """``from_stage`` as the pytest marker expression the journal records."""
    skipped = " and ".join(f"not stage_{n}" for n in range(1, first))
    return f"{phase} and {skipped}" if skipped else phase
