"""Simulated time: how long a simulated state change takes in real seconds.

``time_scale`` is how many real seconds a simulated minute takes (DESIGN.md section 3). It
shrinks the clock, never the figures: evidence reports both.

``DEFAULT_TIME_SCALE`` (0.5: a simulated hour takes 30 real seconds) keeps an embedded game day
within about two minutes on a 2-core machine now that RDS takes AWS's time (two cross-region
replicas of 20 simulated minutes each, two promotions with their reboot and first backup: about
55 simulated minutes of the drill); a target's ``time_scale`` overrides it.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TIME_SCALE = 0.5


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
