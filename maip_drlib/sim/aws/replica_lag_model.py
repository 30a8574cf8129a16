"""The simulation's RDS ``ReplicaLag``: what RDS for PostgreSQL would report (simulated).

RDS reports now minus the last replayed commit: with writes stopped it climbs until RDS's own
periodic write (about every 5 minutes) is replayed; -1 means not replicating. Figures are in
platform seconds (a simulated minute takes ``time_scale`` real seconds).

- With the data plane: the real standby's replay age (``DataPlane.replay_age_s``), scaled to
  platform seconds; it grows while the source is idle and under ``replication-cut``; -1 when
  the instance is not a standby or does not answer (a standby that has replayed nothing yet
  ages from when it was first seen, as RDS's own writes would give it a commit).
- Without it (modelled): the ``rds`` lag fault while the source region's application writes;
  once writes stop there, the time since the last commit, reset every ``RDS_IDLE_WRITE_S``
  (RDS's own write); -1 under ``replication-cut`` or while the source region is in outage.

Not supported: the data plane's standby never gets RDS's periodic write (its idle figure is
not capped at 5 minutes); per-instance lag faults.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from maip_drlib.sim.faults import FaultSnapshot

RDS_IDLE_WRITE_S = 300.0  # platform seconds between RDS's own writes on an idle instance
NOT_REPLICATING = -1.0


class ReplicaLagModel:
    """Per-replica state of the modelled figure (when each source went idle)."""

    def __init__(self, time_scale: Callable[[], float],
                 monotonic: Callable[[], float] = time.monotonic):
        self._time_scale = time_scale
        self._now = monotonic
        self._idle_since: dict[str, float] = {}

    def platform_s(self, real_s: float) -> float:
        return real_s * 60.0 / self._time_scale()

    def value(self, replica: str, source_region: str, faults: FaultSnapshot,
              writes_stopped: bool, data_plane: object | None = None) -> float:
        """The ``ReplicaLag`` figure of ``replica`` now (see the module docstring)."""
        replay_age = getattr(data_plane, "replay_age_s", None)
        if replay_age is not None and data_plane is not None \
                and getattr(data_plane, "serves", lambda name: False)(replica):
            age = replay_age(replica)
            return NOT_REPLICATING if age is None else round(self.platform_s(age), 3)
        if faults.replication_cut or faults.region_down(source_region):
            self._idle_since.pop(replica, None)
            return NOT_REPLICATING
        lag = faults.lag_seconds.get("rds", 0.0)
        if not writes_stopped:
            self._idle_since.pop(replica, None)
            return lag
        idle = self.platform_s(self._now() - self._idle_since.setdefault(replica, self._now()))
        return round(max(lag, idle % RDS_IDLE_WRITE_S), 3)
