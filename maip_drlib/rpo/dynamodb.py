"""DynamoDB canaries: written into the primary's replica of the canary table, read in DR.

The canary table (``Topology.canary_table``, default ``maip-dr-canaries``) is a dedicated
global table with key ``pk`` (S) + ``seq`` (N) and TTL on ``expires_at``: never business
data. One drill's canaries share ``pk = "canary#<drill id>"``; each carries ``written_at``
(epoch seconds, ms precision) and ``expires_at`` (epoch seconds, TTL).

Writing canaries is an ACTION (game days only, never readiness). Not supported: canaries in a
business table or under a key prefix of one; tables with another key schema.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from maip_drlib.errors import NotFound
from maip_drlib.probes import aws_api, error_code
from maip_drlib.rpo.measure import Canary
from maip_drlib.rpo.writer import PacedCanaryWriter, WriteRejected

STORE = "dynamodb"
HASH_KEY = "pk"
RANGE_KEY = "seq"
TTL_ATTRIBUTE = "expires_at"
# Refusals that do not mean the region is gone: skip this canary and keep writing.
TRANSIENT_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException",
    "RequestLimitExceeded", "InternalServerError",
})


class RegionClients(Protocol):
    """What the canary code needs of a ``RegionHandle``."""

    @property
    def region(self) -> str: ...

    @property
    def target_name(self) -> str: ...

    def client(self, service: str) -> Any: ...


def canary_key(drill_id: str) -> str:
    return f"canary#{drill_id}"


class CanaryWriter(PacedCanaryWriter):
    """Writes DynamoDB canaries into ``table`` in the PRIMARY region (``handle``).

    The handle's client policy decides how fast a dead region is noticed: against simulations
    it makes at most 2 attempts with short timeouts (``regions.SIMULATED_POLICY``).
    """

    store = STORE

    def __init__(self, handle: RegionClients, table: str, drill_id: str, *,
                 interval_s: float, ttl_s: float, clock: Callable[[], float] = time.time):
        super().__init__(drill_id, interval_s=interval_s, ttl_s=ttl_s, clock=clock)
        self.handle = handle
        self.table = table
        self.region = handle.region

    def _write(self, seq: int, written_at: float, expires_at: int) -> None:
        item = {
            HASH_KEY: {"S": canary_key(self.drill_id)},
            RANGE_KEY: {"N": str(seq)},
            "written_at": {"N": f"{written_at:.3f}"},
            TTL_ATTRIBUTE: {"N": str(expires_at)},
            "drill_id": {"S": self.drill_id},
            "written_in": {"S": self.region},
        }
        try:
            self.handle.client("dynamodb").put_item(TableName=self.table, Item=item)
        except ClientError as error:
            code = error_code(error)
            raise WriteRejected(
                f"put_item {self.table} seq {seq} in {self.region}: {code}: "
                f"{error.response.get('Error', {}).get('Message', '')}",
                transient=code in TRANSIENT_CODES,
            ) from error
        except BotoCoreError as error:  # connection refused, reset, timed out: the outage
            raise WriteRejected(
                f"put_item {self.table} seq {seq} in {self.region}: {type(error).__name__}: "
                f"{error}") from error


def _number(value: dict[str, str] | None) -> float | None:
    if not value or "N" not in value:
        return None
    return float(Decimal(value["N"]))


def read_canaries(handle: RegionClients, table: str, drill_id: str) -> list[Canary]:
    """Every canary of ``drill_id`` in ``table`` in ``handle``'s region, by seq (read-only).

    Strongly consistent reads of that region's replica; paginated. Raises ``NotFound`` when the
    table is not there, ``Unreachable`` when the region does not answer.
    """
    found: list[Canary] = []
    paginator = handle.client("dynamodb").get_paginator("query")
    try:
        with aws_api(handle, "dynamodb"):  # type: ignore[arg-type]
            for page in paginator.paginate(
                TableName=table, ConsistentRead=True,
                KeyConditionExpression="#pk = :pk",
                ExpressionAttributeNames={"#pk": HASH_KEY},
                ExpressionAttributeValues={":pk": {"S": canary_key(drill_id)}},
            ):
                for item in page.get("Items", []):
                    seq = _number(item.get(RANGE_KEY))
                    written_at = _number(item.get("written_at"))
                    if seq is not None and written_at is not None:
                        found.append(Canary(seq=int(seq), written_at=written_at))
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise NotFound(f"canary table {table} not found in {handle.region}") from error
        raise
    return sorted(found)


class DynamoDbCanaryStore:
    """The ``RpoStore`` of DynamoDB: canaries in one global table."""

    name = STORE

    def __init__(self, table: str):
        self.table = table

    def writer(self, primary: RegionClients, drill_id: str, *, interval_s: float,
               ttl_s: float) -> CanaryWriter:
        return CanaryWriter(primary, self.table, drill_id, interval_s=interval_s, ttl_s=ttl_s)

    def read(self, secondary: RegionClients, drill_id: str) -> list[Canary]:
        return read_canaries(secondary, self.table, drill_id)
