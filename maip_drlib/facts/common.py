"""The fact every probe may return instead of an answer: an API that did not answer.

Not supported: the reason of a refusal beyond its error text (the probe's typed errors say it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiUnreachable:
    """An API that did not answer: a fact, not a crash (refused, reset, timed out)."""

    region: str
    target: str
    error: str
    elapsed_s: float

    def __str__(self) -> str:
        return (
            f"{self.target} in {self.region} unreachable after {self.elapsed_s:.1f}s: {self.error}"
        )
