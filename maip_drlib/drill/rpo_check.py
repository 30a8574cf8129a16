"""The RPO verdict of a game day: the canaries the primary acknowledged, looked up in DR.

Not measured (never zero) when no game day wrote canaries for this drill, e.g. a single
stage run alone. Three stores: DynamoDB, RDS when the target has database access (without
it the RDS row is "not configured": ``NotConfiguredRpo``, a skip, never a pass), and MSK
(``drill/msk_canaries.py``: canaries on the primary cluster's canary topic, read replicated
in DR; without Kafka access or a broker the row reads "not measured" with the reason, which
``record_not_measured`` keeps in ``rpo.json``). Each store's row is merged into ``rpo.json``,
so the summary shows them side by side.
"""

from __future__ import annotations

import json
from pathlib import Path

from maip_drlib.drill.canaries import RDS_STORE, STORE, load_canaries
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.msk_canaries import STORE as MSK_STORE
from maip_drlib.drill.msk_canaries import MskNotMeasured, load_msk_canaries
from maip_drlib.errors import CheckFailed, DRError
from maip_drlib.rpo import RpoMeasurement, RpoStore, rpo_report, store_for, wait_and_measure
from maip_drlib.rpo.kafka_client import KafkaNotMeasurable

RPO_FILE = "rpo.json"


class NotMeasured(DRError):
    """There is nothing to measure (no canaries): the verdict is "not measured"."""


class NotConfiguredRpo(NotMeasured):
    """The store cannot be measured on this target (RDS without database access)."""


NOT_CONFIGURED = "not configured"


def _store(ctx: DrillContext, store: str) -> RpoStore:
    if store == RDS_STORE:
        from maip_drlib.rpo.rds import rds_store

        return rds_store(ctx.topology, ctx.target.database)
    if store == MSK_STORE:
        from maip_drlib.rpo.msk import msk_store

        try:
            return msk_store(ctx.topology, ctx.target)
        except KafkaNotMeasurable as error:
            raise NotMeasured(str(error)) from error
    return store_for(store, ctx.topology)


def measure_from_canaries(ctx: DrillContext, attempt_dir: Path | None, *,
                          settle_s: float | None = None, store: str = STORE) -> RpoMeasurement:
    """The RPO of ``store`` from the game day's canaries (``NotMeasured``: nothing to judge).

    RDS without database access raises ``NotConfiguredRpo`` ("not configured: ...")."""
    if store == RDS_STORE and ctx.target.database is None:
        raise NotConfiguredRpo(f"{NOT_CONFIGURED}: target {ctx.target.name!r} has no database "
                               "access, so RDS canaries cannot be written or read")
    if attempt_dir is None:
        raise NotMeasured("not measured: no attempt folder (RPO is measured in game days)")
    try:
        loaded = (load_msk_canaries(attempt_dir) if store == MSK_STORE
                  else load_canaries(attempt_dir, store))
    except MskNotMeasured as error:  # the game day could not write them: its reason
        raise NotMeasured(str(error)) from error
    if loaded is None:
        raise NotMeasured("not measured: no canaries were written for this drill (only game "
                          "days write them)")
    acknowledged, interval_s, drill_id = loaded
    settle = settle_s if settle_s is not None else max(2.0, 20 * interval_s)
    ctx.say(f"looking up {len(acknowledged)} acknowledged {store} canaries in "
            f"{ctx.topology.secondary.region} (settling up to {settle:g}s)")
    rpo_store = _store(ctx, store)
    try:
        measurement = wait_and_measure(rpo_store, ctx.handles.secondary,
                                       drill_id, acknowledged, interval_s=interval_s,
                                       settle_s=settle)
    except KafkaNotMeasurable as error:  # e.g. no broker behind the DR cluster
        raise NotMeasured(str(error)) from error
    return measurement


def lower_bound_only(measurement: RpoMeasurement) -> bool:
    """No acknowledged canary reached DR: the figure is only a lower bound of the loss."""
    return measurement.acknowledged > 0 and not measurement.newest_contiguous_seq


def _merged(path: Path, document: dict, keep: str) -> dict:
    """``document`` with the rows of other stores already measured in ``path`` kept."""
    if not path.exists():
        return document
    try:
        earlier = {row.get("store"): row for row in json.loads(path.read_text()).get("rpo", [])}
    except (OSError, ValueError):
        return document
    rows = []
    for row in document["rpo"]:
        before = earlier.get(row.get("store"))
        if (row.get("store") != keep and before is not None
                and before.get("status") != "not measured"):
            rows.append(before)
        else:
            rows.append(row)
    return {**document, "rpo": rows}


def record(attempt_dir: Path, measurement: RpoMeasurement, target_s: float) -> Path:
    """Write the RPO report (every store; those without canaries "not measured"), keeping
    the rows of stores an earlier step of this attempt measured (side by side)."""
    document = rpo_report([measurement]).to_dict()
    for row in document["rpo"]:
        if row.get("store") == measurement.store:
            row["target_s"] = target_s
            if lower_bound_only(measurement):
                row["lower_bound"] = True
                row["ok"] = False
    path = attempt_dir / RPO_FILE
    document = _merged(path, document, measurement.store)
    from maip_drlib.evidence.redacted_json import write_json  # evidence: redacted, then JSON

    write_json(path, document, indent=2)
    return path


def record_not_measured(attempt_dir: Path, store: str, reason: str, target_s: float) -> Path:
    """Keep why ``store`` was not measured in ``rpo.json`` (its row: "not measured", the
    reason as its note, no figure), beside the rows of stores already measured."""
    document = rpo_report([]).to_dict()
    for row in document["rpo"]:
        if row.get("store") == store:
            row["note"] = reason.removeprefix("not measured: ")
            row["target_s"] = target_s
    path = attempt_dir / RPO_FILE
    document = _merged(path, document, store)
    from maip_drlib.evidence.redacted_json import write_json  # evidence: redacted, then JSON

    write_json(path, document, indent=2)
    return path


def assert_within(measurement: RpoMeasurement, target_s: float,
                  region: str = "us-west-2") -> str:
    detail = (f"{measurement.store} RPO {measurement.rpo_s}s (target {target_s:g}s); "
              f"lost {measurement.lost} canaries at a {measurement.interval_s:g}s interval")
    if lower_bound_only(measurement):
        raise CheckFailed("no acknowledged canary reached DR: the loss covers the whole canary "
                          "window, so the RPO cannot be shown within its target",
                          region=region, resource=measurement.store,
                          expected=f"<= {target_s:g}s", observed=f"at least {detail}")
    if measurement.rpo_s is None or measurement.rpo_s > target_s:
        raise CheckFailed("data loss window over the RPO target", region=region,
                          resource=measurement.store, expected=f"<= {target_s:g}s",
                          observed=detail)
    return detail
