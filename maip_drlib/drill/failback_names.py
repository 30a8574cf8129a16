"""Which name failback 2's replica takes in the primary region, and where failback finds it.

The primary region's database has two names (``probes.rds.primary_writer_names``: the
topology's ``primary.rds_instance`` and ``failback_replica``). Failback 2 creates the replica
that failback 4 promotes, so after a completed failback the writer carries the name it was
created under and the old writer (fenced by failback 1, left stopped by failback 4) keeps the
other. Rule (``choose``):

- an instance of either name already replicating from the promoted DR writer is failback 2's
  replica (a re-run keeps it);
- else the name not in use in the primary region (neither the old writer nor a fenced, stopped
  or any other instance of that name); ``failback_replica`` when neither name is in use;
- both in use (an earlier drill's fenced old writer not deleted yet): failback 2 refuses before
  any write (``GuardRefused``, exit 3), naming the instance to delete first: not the old
  writer this drill fenced (its data is the latest), i.e. the other one when this run's
  failback 1 fenced one of them (``FENCED_DECISION`` in the decisions), else the older of the
  two by ``InstanceCreateTime`` (the writer of the drill before), else the only stopped one.

The planner asks ``choose`` over the same read, so a dry run shows the name the stage uses;
the readiness check ``rds_failback_name_free`` (``readiness_data``) asks it before a game day,
so a drill never fails over to find at failback 2 that it cannot fail back.
Failback 3 and 4 (and their preconditions) find the replica, or after the promotion the writer,
under either name (``failback_replica``, ``primary_writer``).

Failback 4 deletes the old promoted DR instance with a final snapshot named by
``final_snapshot_name``: the instance, ``-failback-`` and the drill id (the same name in the
dry-run plan and in the call, and on a resumed attempt; the time of the call when the stage
runs without a drill id). RDS refuses a delete whose snapshot
name exists (``DBSnapshotAlreadyExists``, nothing deleted): a drill id used twice on one
account gets that refusal, never a second snapshot under another name.

Not supported: more than two names, names outside the topology; deleting the old instance
(an operator's step after reconciling its data: the drill never deletes a primary instance).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from maip_drlib.config import Topology
from maip_drlib.drill.context import DrillContext
from maip_drlib.errors import GuardRefused
from maip_drlib.facts import DbInstanceFact, RdsRoles
from maip_drlib.probes import rds as rds_probes
from maip_drlib.regions import RegionHandle

Found = Sequence[tuple[DbInstanceFact, datetime | None]]
FENCED_DECISION = "old writer fenced (stopped)"  # failback 1's decision, evidence ``instance``


@dataclass(frozen=True)
class FailbackName:
    """The name for failback 2's replica (None: both in use) and what decided it."""

    name: str | None
    region: str
    in_use: tuple[str, ...]  # str() of the instances of either name found in the region
    replicating: bool = False  # ``name`` already replicates from the promoted DR writer
    delete_first: str | None = None  # both names in use: the instance to delete first

    def refusal(self, stage: str) -> str:
        """One line: why no name is free, which instance to delete first, nothing changed."""
        which = (f"delete {self.delete_first} first (the fenced old writer of an earlier "
                 "drill, left stopped by its failback 4: reconcile its data, then delete it "
                 "with a final snapshot)" if self.delete_first else
                 "delete first the one that is not the old writer this drill fenced")
        return (f"{stage}: refusing to start: both names of the primary region's database are "
                f"in use in {self.region} ({'; '.join(self.in_use)}), so the failback replica "
                f"has no free name; {which}, then re-run; nothing was changed")


def read(ctx: DrillContext) -> list[tuple[DbInstanceFact, datetime | None]]:
    """The instances of either name in the primary region, with their creation times."""
    return read_primary(ctx.handles.primary, ctx.topology)


def read_primary(handle: RegionHandle, topology: Topology
                 ) -> list[tuple[DbInstanceFact, datetime | None]]:
    """``read`` without a drill context (the readiness check asks the same): the instances of
    either name in ``handle``'s region (the primary's), with their creation times."""
    return rds_probes.instances_created(handle, rds_probes.primary_writer_names(topology))


def choose(topology: Topology, found: Found, promoted_id: str | None,
           fenced_now: tuple[str, ...] = ()) -> FailbackName:
    """The rule of the module docstring over ``found`` (the primary region's instances);
    ``fenced_now``: the instances this run's failback 1 fenced."""
    names = rds_probes.primary_writer_names(topology)
    region = topology.primary.region
    mine = [(fact, created) for fact, created in found
            if fact.identifier in names and fact.region == region]
    in_use = tuple(str(fact) for fact, _ in mine)
    for fact, _ in mine:
        if fact.role == "replica" and promoted_id and fact.source_id == promoted_id:
            return FailbackName(fact.identifier, region, in_use, replicating=True)
    used = {fact.identifier for fact, _ in mine}
    free = [name for name in (topology.failback_replica, topology.primary.rds_instance)
            if name not in used]
    if free:
        return FailbackName(free[0], region, in_use)
    return FailbackName(None, region, in_use, delete_first=_delete_first(mine, fenced_now))


def _delete_first(found: Found, fenced_now: tuple[str, ...]) -> str | None:
    others = [fact.identifier for fact, _ in found if fact.identifier not in fenced_now]
    if len(others) == 1:
        return others[0]
    times = [created for _, created in found]
    if None not in times and len(set(times)) == len(times):
        return min(found, key=lambda item: item[1] or datetime.max)[0].identifier
    stopped = [fact.identifier for fact, _ in found if fact.status == "stopped"]
    return stopped[0] if len(stopped) == 1 else None


def require_name(ctx: DrillContext, stage: str, promoted_id: str) -> FailbackName:
    """Failback 2's name (recorded), or ``GuardRefused`` when both names are in use."""
    chosen = choose(ctx.topology, read(ctx), promoted_id, fenced_by_this_run(ctx))
    if chosen.name is None:
        ctx.decisions.record(stage, "refused: no free name for the failback replica",
                             in_use=list(chosen.in_use), delete_first=chosen.delete_first)
        raise GuardRefused(chosen.refusal(stage))
    ctx.decisions.record(stage, "failback replica name", name=chosen.name,
                         in_use=list(chosen.in_use), already_replicating=chosen.replicating)
    return chosen


def fenced_by_this_run(ctx: DrillContext) -> tuple[str, ...]:
    """The primary instances failback 1 fenced in this run (its decisions), if it ran here."""
    region = ctx.topology.primary.region
    return tuple(str(entry.evidence.get("instance")) for entry in ctx.decisions.entries
                 if entry.decision == FENCED_DECISION and entry.evidence.get("region") == region)


def failback_replica(roles: RdsRoles, topology: Topology,
                     promoted: DbInstanceFact) -> DbInstanceFact | None:
    """The replica of ``promoted`` in the primary region under either name (failback 2's)."""
    names = rds_probes.primary_writer_names(topology)
    return next((item for item in roles.replicas_of(promoted)
                 if item.identifier in names and item.region == topology.primary.region), None)


def primary_writer(roles: RdsRoles, topology: Topology) -> DbInstanceFact | None:
    """The writer in the primary region under either name (after failback 4's promotion)."""
    names = rds_probes.primary_writer_names(topology)
    return next((item for item in roles.writers
                 if item.identifier in names and item.region == topology.primary.region), None)


__all__ = ["FENCED_DECISION", "FailbackName", "choose", "failback_replica", "fenced_by_this_run",
           "primary_writer", "read", "read_primary", "require_name"]


SNAPSHOT_ID_MAX = 255


def final_snapshot_name(instance: str, drill_id: str | None) -> str:
    """``<instance>-failback-<drill id>`` as an RDS snapshot identifier: letters, digits and
    single hyphens (other characters of the drill id become hyphens), at most 255 characters,
    no trailing hyphen. Without a drill id (a stage run straight from pytest without
    ``--dr-drill-id``) the time of the call in UTC stands in for it, so that such runs never
    collide; the dry-run plan then names it ``<instance>-failback-<UTC time of the call>``."""
    if drill_id is None:
        drill_id = f"{datetime.now(UTC):%Y%m%d%H%M%S}"
    slug = "-".join(part for part in re.split(r"[^A-Za-z0-9]+", drill_id) if part) or "drill"
    name = f"{instance}-failback-{slug}".lower()
    return re.sub(r"-{2,}", "-", name)[:SNAPSHOT_ID_MAX].rstrip("-")
