"""Measured RPO from canaries (DESIGN.md section 5), independent of the store that held them.

RPO = time of the last canary the primary ACKNOWLEDGED before the outage minus time of the
newest canary found in DR with every earlier acknowledged canary also found. Times are the
canaries' own ``written_at`` (epoch seconds, written into each canary), so both sides use the
writer's clock. All canaries arrived: RPO 0. None arrived: counted from the first acknowledged
canary, and the note says so (it is then a lower bound: data older than the drill's first
canary may be missing too, and canaries cannot see it).

Not supported: canaries from more than one writer in one measurement; clock skew between
writer and store (the store's own timestamps are never used).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

# Stores a game day reports on; one without a measurement is "not measured", never zero.
DEFAULT_STORES = ("dynamodb", "rds", "msk")
NOT_MEASURED = "not measured"
MEASURED = "measured"


@dataclass(frozen=True, order=True)
class Canary:
    """One canary: its sequence number and the epoch time (s, ms precision) it was written."""

    seq: int
    written_at: float


@dataclass(frozen=True)
class RpoMeasurement:
    """The measured RPO of one store; ``rpo_s`` None means not measurable (see ``note``)."""

    store: str
    rpo_s: float | None
    last_acked_seq: int | None
    last_acked_at: float | None
    newest_contiguous_seq: int | None
    newest_contiguous_at: float | None
    lost: int  # acknowledged canaries not found in DR
    acknowledged: int
    found: int  # acknowledged canaries found in DR
    interval_s: float
    measured_at: float
    # Canaries found in DR that the primary never acknowledged (a write that failed on the
    # client side yet landed): reported, not counted in the RPO.
    unacknowledged_found: int = 0
    waited_s: float = 0.0  # how long the DR side was polled before measuring
    note: str = ""

    @property
    def measured(self) -> bool:
        return self.rpo_s is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _seqs(found: Iterable[Canary | int]) -> set[int]:
    return {item.seq if isinstance(item, Canary) else int(item) for item in found}


def measure_rpo(acknowledged: Sequence[Canary], found_in_dr: Iterable[Canary | int],
                interval_s: float, *, store: str = "dynamodb",
                measured_at: float | None = None, waited_s: float = 0.0) -> RpoMeasurement:
    """The RPO from what the primary acknowledged and which canaries DR holds (see module)."""
    stamp = time.time() if measured_at is None else measured_at
    found = _seqs(found_in_dr)
    acked = sorted(acknowledged)
    acked_seqs = {canary.seq for canary in acked}
    common = {"store": store, "interval_s": interval_s, "measured_at": stamp,
              "waited_s": waited_s, "unacknowledged_found": len(found - acked_seqs)}
    if not acked:
        return RpoMeasurement(
            rpo_s=None, last_acked_seq=None, last_acked_at=None, newest_contiguous_seq=None,
            newest_contiguous_at=None, lost=0, acknowledged=0, found=0,
            note="no canary was acknowledged by the primary: RPO not measurable", **common)
    last = acked[-1]
    contiguous: Canary | None = None
    for canary in acked:
        if canary.seq not in found:
            break
        contiguous = canary
    arrived = len(acked_seqs & found)
    lost = len(acked) - arrived
    if contiguous is None:
        rpo = last.written_at - acked[0].written_at
        note = ("no acknowledged canary is in DR with all earlier ones: RPO counted from the "
                f"first acknowledged canary (seq {acked[0].seq}), a lower bound")
    elif contiguous is last:
        rpo, note = 0.0, "every acknowledged canary arrived in DR"
    else:
        rpo = last.written_at - contiguous.written_at
        note = f"{lost} of {len(acked)} acknowledged canaries missing in DR"
    return RpoMeasurement(
        rpo_s=round(max(0.0, rpo), 3), last_acked_seq=last.seq, last_acked_at=last.written_at,
        newest_contiguous_seq=contiguous.seq if contiguous else None,
        newest_contiguous_at=contiguous.written_at if contiguous else None,
        lost=lost, acknowledged=len(acked), found=arrived, note=note, **common)


@dataclass(frozen=True)
class RpoRow:
    """One store's line of the RPO report."""

    store: str
    status: str  # MEASURED or NOT_MEASURED
    rpo_s: float | None = None
    lost: int | None = None
    interval_s: float | None = None
    note: str = ""

    def text(self) -> str:
        if self.status != MEASURED:
            return f"{self.store}: {NOT_MEASURED}" + (f" ({self.note})" if self.note else "")
        return (f"{self.store}: RPO {self.rpo_s:.3f} s, {self.lost} canaries lost, "
                f"canary interval {self.interval_s:.3f} s" + (f" ({self.note})"
                                                              if self.note else ""))


@dataclass(frozen=True)
class RpoReport:
    """Every store a game day reports on; missing ones are ``not measured``, never zero."""

    rows: tuple[RpoRow, ...]

    def row(self, store: str) -> RpoRow:
        for row in self.rows:
            if row.store == store:
                return row
        raise KeyError(store)

    def lines(self) -> list[str]:
        return [row.text() for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {"rpo": [asdict(row) for row in self.rows]}


def rpo_report(measurements: Iterable[RpoMeasurement],
               stores: Sequence[str] = DEFAULT_STORES) -> RpoReport:
    """One row per store in ``stores`` (then any other measured store), in that order."""
    by_store = {m.store: m for m in measurements}
    rows = []
    for store in [*stores, *(name for name in by_store if name not in stores)]:
        found = by_store.get(store)
        if found is None:
            rows.append(RpoRow(store=store, status=NOT_MEASURED,
                               note="no canaries for this store in this drill"))
        elif not found.measured:
            rows.append(RpoRow(store=store, status=NOT_MEASURED, note=found.note))
        else:
            rows.append(RpoRow(store=store, status=MEASURED, rpo_s=found.rpo_s,
                               lost=found.lost, interval_s=found.interval_s, note=found.note))
    return RpoReport(rows=tuple(rows))
