"""Measured RPO from canaries (DESIGN.md section 5): write into the primary, read in DR.

How a game day uses it::

    store = store_for("dynamodb", topology)
    writer = store.writer(primary, drill_id, interval_s=1.0, ttl_s=86400).start()
    ...  # the outage: the writer stops on its own at the first failed write
    writer.stop()
    m = wait_and_measure(store, secondary, drill_id, writer.acknowledged,
                         interval_s=writer.interval_s, settle_s=10.0)
    report = rpo_report([m])   # rds and msk: "not measured", never zero

Canaries are ACTIONS: they write into the primary, so only game days write them (a dedicated
canary table with a TTL, never business data); nothing in readiness writes or requires them.

RDS canaries live in ``maip_drlib.rpo.rds`` (``rds_store(topology, target.database)``: an
``RpoStore`` over the PostgreSQL behind each region's RDS instance; it needs the target's
database access, so it is built from the target, not looked up in ``STORES``); a game day
measures it beside DynamoDB when the target has database access
(``maip_drlib.drill.rpo_check``). MSK canaries: ``rpo/msk.py``. Not supported: measuring after
the canary TTL expired.
"""

from __future__ import annotations

from maip_drlib.rpo.dynamodb import CanaryWriter, DynamoDbCanaryStore, canary_key, read_canaries
from maip_drlib.rpo.measure import (
    DEFAULT_STORES,
    MEASURED,
    NOT_MEASURED,
    Canary,
    RpoMeasurement,
    RpoReport,
    RpoRow,
    measure_rpo,
    rpo_report,
)
from maip_drlib.rpo.stores import STORES, RpoStore, register_store, store_for, wait_and_measure
from maip_drlib.rpo.writer import PacedCanaryWriter, WriteFailure, WriteRejected

__all__ = [
    "DEFAULT_STORES",
    "MEASURED",
    "NOT_MEASURED",
    "STORES",
    "Canary",
    "CanaryWriter",
    "DynamoDbCanaryStore",
    "PacedCanaryWriter",
    "RpoMeasurement",
    "RpoReport",
    "RpoRow",
    "RpoStore",
    "WriteFailure",
    "WriteRejected",
    "canary_key",
    "measure_rpo",
    "read_canaries",
    "register_store",
    "rpo_report",
    "store_for",
    "wait_and_measure",
]
