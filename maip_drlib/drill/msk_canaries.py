"""The game day's MSK canaries: started before the outage, stopped at it, handed to the RPO
scenario through ``canaries-msk.json`` in the attempt folder (evidence, sealed with it).

``start_msk_canaries(plan, journal)`` starts an ``MskCanaryWriter`` on the primary cluster's
canary topic (no wait) with the same consent as the DynamoDB canaries (the game day's consented
write gate); ``await_msk_window(writer)`` then waits until the writer has run for its window
(sized from the simulated ``msk`` lag, as the DynamoDB window is from its own: the window must
outlast the lag or no canary reaches DR); ``finish_msk_canaries(plan, journal, writer)`` waits
for the outage to stop it and writes the file.

When MSK canaries cannot be written (no Kafka access on a live target, no broker behind a
simulated cluster, kafka-python missing, the brokers refusing) nothing is written to Kafka and
the file records the reason (``not_measured``): the MSK RPO row then reads "not measured
(<reason>)", never a figure. Not supported: MSK canaries on a resumed drill.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maip_drlib.drill.canaries import TTL_S, CanaryPlan
from maip_drlib.errors import DRError
from maip_drlib.rpo import Canary, PacedCanaryWriter
from maip_drlib.write_gate import WriteGate

STORE = "msk"
MSK_CANARIES_FILE = "canaries-msk.json"


@dataclass
class RunningMskCanaries:
    """A started MSK canary writer with its plan, the handles it writes through (closed by
    ``finish_msk_canaries``) and when its window ends (monotonic clock)."""

    writer: PacedCanaryWriter
    canary_plan: CanaryPlan
    handles: Any  # RegionHandles
    window_ends: float

    @property
    def acknowledged(self) -> list[Canary]:
        return self.writer.acknowledged


def plan_for(target: Any, control: Any, window_s: float | None) -> CanaryPlan:
    """The MSK canary plan: a simulation's window is sized from its ``msk`` lag fault."""
    lag = 0.0
    if control is not None:
        lag = float(control.status().get("faults", {}).get("lag_seconds", {}).get(STORE, 0.0))
    return CanaryPlan.for_target(target, expected_lag_s=lag, window_s=window_s)


def _write(path: Path, document: dict[str, Any]) -> Path:
    from maip_drlib.evidence.redacted_json import write_json  # evidence: redacted, then JSON

    write_json(path, document, indent=2)
    return path


def start_msk_canaries(plan: Any, journal: Any) -> RunningMskCanaries | None:
    """Start MSK canaries on the primary (``plan``: the ``GamedayPlan``); None when they
    cannot be written (the reason journalled, echoed and kept for the RPO phase)."""
    from maip_drlib.drill.gameday_canaries import gameday_handles
    from maip_drlib.rpo.msk import msk_store

    canary_plan = plan_for(plan.target, plan.control, plan.canary_window_s)
    # The game day's own consented handles, as for the DynamoDB canaries.
    handles = gameday_handles(plan, writes=WriteGate.consented(target=plan.target.name))
    topic = plan.topology.canary_topic
    try:
        writer = msk_store(plan.topology, plan.target).writer(
            handles.primary, plan.attempt.drill_id, interval_s=canary_plan.interval_s,
            ttl_s=TTL_S).start()
    except DRError as error:
        reason = str(error).removeprefix("not measured: ")
        journal.record("canary", store=STORE, event="not started", error=reason)
        plan.echo(f"maip-dr: MSK canaries not started ({reason}); MSK RPO will read "
                  "'not measured'")
        _write(plan.attempt.path / MSK_CANARIES_FILE,
               {"store": STORE, "drill_id": plan.attempt.drill_id, "not_measured": reason})
        handles.close()
        return None
    journal.record("canary", store=STORE, event="started", interval_s=canary_plan.interval_s,
                   topic=topic, cluster=plan.topology.primary.msk_cluster,
                   region=plan.topology.primary.region)
    plan.echo(f"maip-dr: writing MSK canaries to {topic} on {plan.topology.primary.msk_cluster}"
              f" in {plan.topology.primary.region} every {canary_plan.interval_s:g}s")
    return RunningMskCanaries(writer, canary_plan, handles,
                              time.monotonic() + canary_plan.warmup_s)


def await_msk_window(running: RunningMskCanaries | None) -> None:
    """Wait (bounded by the window) until the MSK writer has written for its window."""
    if running is None:
        return
    remaining = running.window_ends - time.monotonic()
    if remaining > 0:
        running.writer.wait_stopped(remaining)  # returns early only when the writer stopped


def finish_msk_canaries(plan: Any, journal: Any, running: RunningMskCanaries | None) -> None:
    """Wait for the outage to stop the writer (or stop it), then hand its record over."""
    if running is None:
        return
    writer, canary_plan = running.writer, running.canary_plan
    if plan.outage_injected:
        writer.wait_stopped(canary_plan.stop_timeout_s)
    writer.stop(canary_plan.stop_timeout_s)
    running.handles.close()
    failure = writer.failure
    path = _write(plan.attempt.path / MSK_CANARIES_FILE, {
        "store": STORE, "drill_id": plan.attempt.drill_id,
        "interval_s": canary_plan.interval_s,
        "topic": getattr(writer, "topic", None),
        "acknowledged": [[c.seq, c.written_at] for c in writer.acknowledged],
        "stopped_reason": writer.stopped_reason,
        "failure": None if failure is None else {"seq": failure.seq, "error": failure.error,
                                                  "at": failure.at}})
    acknowledged = len(writer.acknowledged)
    journal.record("canary", store=STORE, event="stopped", acknowledged=acknowledged,
                   reason=writer.stopped_reason, file=path.name)
    plan.echo(f"maip-dr: MSK canaries stopped after {acknowledged} acknowledged "
              f"({writer.stopped_reason or ''})")


class MskNotMeasured(DRError):
    """The game day could not write MSK canaries; the message is the reason."""


def load_msk_canaries(attempt_dir: Path) -> tuple[list[Canary], float, str] | None:
    """(acknowledged, interval, drill id) from this or an earlier attempt; None: no file.

    ``MskNotMeasured`` with the reason when the game day could not write them."""
    names = [attempt_dir / MSK_CANARIES_FILE,
             *sorted(attempt_dir.parent.glob(f"attempt-*/{MSK_CANARIES_FILE}"), reverse=True)]
    for path in names:
        if path.exists():
            document = json.loads(path.read_text())
            if document.get("not_measured"):
                raise MskNotMeasured(f"not measured: {document['not_measured']}")
            return ([Canary(seq=int(seq), written_at=float(at))
                     for seq, at in document["acknowledged"]],
                    float(document["interval_s"]), str(document["drill_id"]))
    return None
