"""Simulated time: how long a simulated state change takes in real seconds.

``time_scale`` is how many real seconds a simulated minute takes (DESIGN.md section 3). It
shrinks the clock, never the figures: evidence reports both.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TIME_SCALE = 1.0


@dataclass(frozen=True)
class SimClock:
    """Converts simulated durations to real seconds."""

    time_scale: float = DEFAULT_TIME_SCALE

    def __post_init__(self) -> None:
        if not self.time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {self.time_scale}")

    def real_seconds(self, simulated_seconds: float) -> float:
        """Real seconds that ``simulated_seconds`` of platform time take here."""
        return simulated_seconds * self.time_scale / 60.0
