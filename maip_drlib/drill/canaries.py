"""The game day's canaries: written by the ``maip-dr`` process before the outage, handed to
the RPO scenario through ``canaries.json`` in the attempt folder (evidence, sealed with it).

Canaries are actions: only game days write them (``features/rpo.feature`` reads them).

Two stores: DynamoDB always (``canaries.json``); RDS beside it when the target has database
access (``target.database``), into the suite's canary table on the primary PostgreSQL writer
(``canaries-rds.json``). MSK canaries: ``drill/msk_canaries.py``. Not supported: RDS canaries
without database access (the RDS row then reads "not configured").
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

from maip_drlib.config import DatabaseAccess, Target, Topology
from maip_drlib.regions import RegionHandle
from maip_drlib.rpo import Canary, PacedCanaryWriter, store_for

CANARIES_FILE = "canaries.json"
STORE = "dynamodb"
RDS_STORE = "rds"
FILES = {STORE: CANARIES_FILE, RDS_STORE: "canaries-rds.json"}
TTL_S = 7 * 24 * 3600.0


@dataclass(frozen=True)
class CanaryPlan:
    """How often canaries are written, and for how long before the outage.

    The window before the outage must outlast the replication lag, or no canary reaches DR and
    the RPO is only a lower bound: for a simulation it is sized from the lag it simulates.
    """

    interval_s: float
    warmup_s: float = 2.0
    stop_timeout_s: float = 10.0

    @classmethod
    def for_target(cls, target: Target, expected_lag_s: float = 0.0,
                   window_s: float | None = None) -> CanaryPlan:
        """``window_s`` (the operator's ``--canary-window``) replaces the sized window."""
        if target.simulated:
            plan = cls(interval_s=0.1, warmup_s=max(2.0, 2 * expected_lag_s + 1.0))
        else:
            plan = cls(interval_s=1.0, warmup_s=max(20.0, 2 * expected_lag_s + 5.0))
        return plan if window_s is None else replace(plan, warmup_s=window_s)


def start_writer(primary: RegionHandle, topology: Topology, drill_id: str,
                 plan: CanaryPlan) -> PacedCanaryWriter:
    """Start writing canaries to the primary and let a few be acknowledged."""
    writer = store_for(STORE, topology).writer(primary, drill_id, interval_s=plan.interval_s,
                                                ttl_s=TTL_S).start()
    time.sleep(plan.warmup_s)
    return writer


def start_rds_writer(primary: RegionHandle, topology: Topology, access: DatabaseAccess,
                     drill_id: str, plan: CanaryPlan) -> PacedCanaryWriter:
    """Start writing RDS canaries to the primary's PostgreSQL writer (no warm-up wait: start
    it before ``start_writer``, whose warm-up covers both)."""
    from maip_drlib.rpo.rds import rds_store

    return rds_store(topology, access).writer(primary, drill_id, interval_s=plan.interval_s,
                                              ttl_s=TTL_S).start()


def finish_writer(writer: PacedCanaryWriter, attempt_dir: Path, drill_id: str,
                  plan: CanaryPlan, *, wait_for_outage: bool, store: str = STORE) -> Path:
    """Wait for the writer to stop on the outage (or stop it), then hand its record over."""
    if wait_for_outage:
        writer.wait_stopped(plan.stop_timeout_s)
    writer.stop(plan.stop_timeout_s)
    failure = writer.failure
    document = {
        "store": store, "drill_id": drill_id, "interval_s": plan.interval_s,
        "acknowledged": [[c.seq, c.written_at] for c in writer.acknowledged],
        "stopped_reason": writer.stopped_reason,
        "failure": None if failure is None else {"seq": failure.seq, "error": failure.error,
                                                  "at": failure.at},
    }
    path = attempt_dir / FILES[store]
    from maip_drlib.evidence.redacted_json import write_json  # evidence: redacted, then JSON

    write_json(path, document, indent=2)
    return path


def load_canaries(attempt_dir: Path,
                  store: str = STORE) -> tuple[list[Canary], float, str] | None:
    """(acknowledged, interval, drill id) of ``store`` from this or an earlier attempt."""
    drill_dir = attempt_dir.parent
    name = FILES[store]
    candidates = [attempt_dir / name,
                  *sorted(drill_dir.glob(f"attempt-*/{name}"), reverse=True)]
    for path in candidates:
        if path.exists():
            document = json.loads(path.read_text())
            acknowledged = [Canary(seq=int(seq), written_at=float(at))
                            for seq, at in document["acknowledged"]]
            return acknowledged, float(document["interval_s"]), str(document["drill_id"])
    return None
