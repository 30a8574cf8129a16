"""Has an RDS replica caught up with its writer? Decided by the data, not by ``ReplicaLag``.

RDS for PostgreSQL reports ``ReplicaLag`` as now minus the last replayed commit: with writes
stopped it climbs (for up to about 5 minutes) although the replica has everything, and -1 or
no datapoint means the replica is not replicating. So the metric alone never decides a lag
wait. The methods, in order (the one that decided is recorded as ``method``):

1. ``wal`` (the target has database access): the standby's ``pg_last_wal_replay_lsn()`` has
   reached the writer's ``pg_current_wal_lsn()`` (``probes.postgres.standby_lag``); behind, the
   lag is the last replayed commit's age.
2. ``heartbeat`` (database access, but the WAL distance could not be read): one row written on
   the writer (the suite's canary table, kind ``heartbeat``; a write: the caller's stage has
   the operator's consent, behind ``require_execute``) and polled for on the replica.
3. ``replayed-commit`` (no database access): ``ReplicaLag`` read as what it is -- its
   datapoint at time t with value v says the replica replayed a commit made at t - v, and
   WAL replays in order, so every write made before t - v is on the replica. The replica is
   caught up once t - v is later than ``since`` (when writes were proven stopped) plus
   ``CLOCK_MARGIN_S``; within a limit once v is. Weaker than the WAL: it needs the writer to
   commit something after ``since`` (RDS's own periodic writes do) and clocks that agree.
   -1 or no datapoint reads "not replicating", never caught up.

A simulation's metric is in platform seconds (``time_scale``): converted to real seconds
before it is compared with the wall clock. Not supported: Aurora (no ``ReplicaLag`` of this
kind), a heartbeat on a writer where the login may not write the canary table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from maip_drlib.drill.context import DrillContext
from maip_drlib.errors import CheckFailed, DRError, Unreachable
from maip_drlib.facts import ReplicationLag
from maip_drlib.probes import rds as rds_probes
from maip_drlib.regions import RegionHandle
from maip_drlib.waits import WaitSpec, wait_for

METHOD_WAL = "wal"
METHOD_HEARTBEAT = "heartbeat"
METHOD_REPLAYED = "replayed-commit"
NOT_REPLICATING = "not replicating"
KIND_HEARTBEAT = "heartbeat"
# Clocks of the runner and of CloudWatch may differ by this much (replayed-commit method).
CLOCK_MARGIN_S = 1.0
# Metric window: the simulation publishes every 2 s, CloudWatch every 60 s.
SIMULATED_WINDOW_S = 3
LIVE_WINDOW_S = 180


@dataclass(frozen=True)
class ReplicaCatchUp(ReplicationLag):
    """A replica's lag as decided by ``method``; ``seconds`` None when unknown."""

    writer: str = ""
    method: str = "none"
    caught_up: bool = False
    detail: str = ""

    def __str__(self) -> str:
        verdict = "caught up" if self.caught_up else (
            NOT_REPLICATING if NOT_REPLICATING in self.detail else "not caught up")
        return (f"rds lag of {self.resource} ({self.region}) behind {self.writer or '?'}: "
                f"{verdict}, decided by {self.method}: {self.detail}")


@dataclass(frozen=True)
class Pair:
    """The replica and the writer it replicates from, each with its region's handle."""

    replica_handle: RegionHandle
    replica: str
    writer_handle: RegionHandle
    writer: str


def _result(pair: Pair, method: str, caught_up: bool, seconds: float | None, detail: str,
            measured_at: datetime | None = None) -> ReplicaCatchUp:
    return ReplicaCatchUp(store="rds", region=pair.replica_handle.region,
                          resource=pair.replica, seconds=seconds, measured_at=measured_at,
                          writer=pair.writer, method=method, caught_up=caught_up,
                          detail=detail)


def real_seconds(ctx: DrillContext, platform_s: float) -> float:
    """A metric figure in platform seconds as real seconds (simulations scale the clock)."""
    scale = ctx.target.time_scale
    if ctx.target.simulated and scale:
        return platform_s * scale / 60.0
    return platform_s


class _Heartbeat:
    """One heartbeat row of a wait: written once on the writer, then looked for on the replica."""

    def __init__(self) -> None:
        self.seq: int | None = None
        self.written_at = 0.0

    def observe(self, ctx: DrillContext, pair: Pair, why: str) -> ReplicaCatchUp:
        from maip_drlib.actions.postgres import INSERT_SQL, TABLE, ensure_canary_table
        from maip_drlib.drill.drill_ids import data_plane_drill_id
        from maip_drlib.drill.guards import require_execute
        from maip_drlib.probes import postgres as pg

        access = ctx.target.database
        drill_id = data_plane_drill_id(None, ctx)
        if self.seq is None:
            require_execute(ctx, "replica catch-up", f"a heartbeat row on {pair.writer}")
            writer = pg.connection_spec(pair.writer_handle, access, pair.writer)
            seq, written_at = time.time_ns() // 1000, round(time.time(), 3)
            with pg.connect(writer, read_only=False, observation="heartbeat row") as conn:
                ensure_canary_table(conn)
                conn.execute(INSERT_SQL, (drill_id, KIND_HEARTBEAT, seq, written_at,
                                          pair.writer_handle.region, pair.writer,
                                          written_at + 86400))
            self.seq, self.written_at = seq, written_at
        standby = pg.connection_spec(pair.replica_handle, access, pair.replica)
        with pg.connect(standby, observation="heartbeat row on the replica") as conn:
            row = conn.execute(f"SELECT 1 FROM {TABLE} WHERE drill_id = %s AND kind = %s "
                               "AND seq = %s", (drill_id, KIND_HEARTBEAT, self.seq)).fetchone()
        age = round(time.time() - self.written_at, 3)
        if row is None:
            return _result(pair, METHOD_HEARTBEAT, False, age,
                           f"heartbeat {self.seq} written {age:.3f}s ago not seen yet ({why})")
        return _result(pair, METHOD_HEARTBEAT, True, 0.0,
                       f"heartbeat {self.seq} seen on the replica after at most {age:.3f}s "
                       f"({why})")


def _by_wal(ctx: DrillContext, pair: Pair, limit_s: float,
            heartbeat: _Heartbeat | None) -> ReplicaCatchUp:
    from maip_drlib.probes import postgres as pg

    access = ctx.target.database
    standby = pg.connection_spec(pair.replica_handle, access, pair.replica)
    writer = pg.connection_spec(pair.writer_handle, access, pair.writer)
    fact = pg.standby_lag(standby, writer)
    if not fact.in_recovery:
        return _result(pair, METHOD_WAL, False, None, f"{fact}: {NOT_REPLICATING}")
    if fact.lsn_distance_bytes is None:
        if heartbeat is not None:
            return heartbeat.observe(ctx, pair, f"WAL distance unknown: {fact.note}")
        return _result(pair, METHOD_WAL, False, None, str(fact))
    within = fact.caught_up or (limit_s > 0 and fact.lag_s is not None
                                and fact.lag_s <= limit_s)
    return _result(pair, METHOD_WAL, within, fact.lag_s, str(fact))


def _by_replayed_commit(ctx: DrillContext, pair: Pair, since: float | None,
                        limit_s: float) -> ReplicaCatchUp:
    window = SIMULATED_WINDOW_S if ctx.target.simulated else LIVE_WINDOW_S
    lag = rds_probes.replica_lag(pair.replica_handle, pair.replica, window_s=window)
    if lag.seconds is None or lag.seconds < 0 or lag.measured_at is None:
        figure = "no datapoint" if lag.seconds is None else f"{lag.seconds:g}"
        return _result(pair, METHOD_REPLAYED, False, None,
                       f"ReplicaLag {figure} in the last {window}s: {NOT_REPLICATING}",
                       lag.measured_at)
    replayed_at = lag.measured_at.timestamp() - real_seconds(ctx, lag.seconds)
    stamp = datetime.fromtimestamp(replayed_at).astimezone().isoformat(timespec="seconds")
    base = (f"ReplicaLag {lag.seconds:.3f}s at {lag.measured_at.isoformat()}: last replayed "
            f"commit {stamp}")
    if since is not None:
        after = replayed_at >= since + CLOCK_MARGIN_S
        started = datetime.fromtimestamp(since).astimezone().isoformat(timespec="seconds")
        return _result(pair, METHOD_REPLAYED, after, 0.0 if after else lag.seconds,
                       f"{base}, {'after' if after else 'not after'} writes stopped "
                       f"({started})", lag.measured_at)
    return _result(pair, METHOD_REPLAYED, lag.seconds <= limit_s, lag.seconds,
                   f"{base} (an idle writer's figure includes idle time)", lag.measured_at)


def pair_of(ctx: DrillContext, replica_handle: RegionHandle, replica: str) -> Pair:
    """``replica`` and the writer RDS names as its source (its ARN names the region)."""
    fact = rds_probes.db_instance(replica_handle, replica)
    source = fact.source or ""
    parts = source.split(":")
    region = parts[3] if source.startswith("arn:") and len(parts) > 3 else replica_handle.region
    return Pair(replica_handle, replica, ctx.handles.by_name(region),
                fact.source_id or ctx.topology.primary.rds_instance)


def observe(ctx: DrillContext, pair: Pair, *, since: float | None = None, limit_s: float = 0.0,
            heartbeat: _Heartbeat | None = None) -> ReplicaCatchUp:
    """One look at ``pair`` (see the module docstring). ``since`` (epoch seconds): writes
    proven stopped then (a lag-zero decision); None: a limit of ``limit_s`` seconds."""
    note = ""
    if ctx.target.database is not None:
        try:
            return _by_wal(ctx, pair, limit_s, heartbeat)
        except (Unreachable, CheckFailed) as error:
            return _result(pair, METHOD_WAL, False, None, f"database not read: {error}")
        except DRError as error:  # no secret, login refused: the metric path decides
            note = f"database access failed ({error}); "
    found = _by_replayed_commit(ctx, pair, since, limit_s)
    return ReplicaCatchUp(**{**found.__dict__, "detail": note + found.detail})


def wait_caught_up(ctx: DrillContext, pair: Pair, *, deadline_s: float,
                   since: float | None = None, limit_s: float = 0.0,
                   heartbeat: bool = True) -> ReplicaCatchUp:
    """Wait (bounded) until ``pair``'s replica has caught up (``since`` given) or is within
    ``limit_s``; ``WaitTimeout`` names the last observation. ``heartbeat``: the stage may
    write a heartbeat row (it has consent) when the WAL distance cannot be read."""
    beat = _Heartbeat() if heartbeat else None
    what = "to have replayed every write" if since is not None else f"within {limit_s:g}s"
    spec = WaitSpec(f"replica {pair.replica} ({pair.replica_handle.region}) of {pair.writer} "
                    f"{what} (WAL position, heartbeat or replayed commit; never ReplicaLag "
                    "alone)", deadline_s=deadline_s, poll_initial_s=ctx.poll.initial_s,
                    poll_max_s=ctx.poll.max_s)
    return wait_for(spec, lambda: observe(ctx, pair, since=since, limit_s=limit_s,
                                          heartbeat=beat),
                    success=lambda found: found.caught_up).value


__all__ = ["CLOCK_MARGIN_S", "METHOD_HEARTBEAT", "METHOD_REPLAYED", "METHOD_WAL",
           "NOT_REPLICATING", "Pair", "ReplicaCatchUp", "observe", "pair_of", "real_seconds",
           "wait_caught_up"]
