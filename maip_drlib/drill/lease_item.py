"""The drill lease's item and table: its fields, DynamoDB values, the holder, what it grants.

The constants of the item (key attribute, TTL bounds, states, break history), conversions
between plain values and DynamoDB attribute values, ``Holder`` (who holds or wants the lease),
``LeaseGrant`` (what an acquisition got, as journal records), the reading of recorded breaks,
the item key of a platform (``lease_key``) and the lease table's calls (``lease_table_call``,
``create_lease_table``), shared by the lease and the approval. Taking, renewing and releasing
the lease are ``drill.lease``'s. Not supported: DynamoDB sets and binary values in the item.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from maip_drlib.errors import ConfigError, Unreachable

LEASE_KEY_ATTRIBUTE = "pk"
LEASE_TTL_MIN_S = 15
LEASE_TTL_MAX_S = 3600
HOLDER_ALIVE_PREFIX = "holder alive:"
BREAKS_KEPT = 20
HELD, RELEASED = "held", "released"
# Attributes of earlier versions of the item, removed when a holder takes it.
OBSOLETE_ATTRIBUTES = ("released_at", "broken_reason", "previous_holder")
PREVIOUS_FIELDS = ("holder_id", "user", "host", "pid", "drill_id", "started_at", "expires_at",
                   "heartbeat_at")
Clock = Callable[[], float]


def iso_utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def client_error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def to_attribute(value: Any) -> dict[str, Any]:
    """A plain value as a DynamoDB attribute value (None values of a map are left out)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": f"{value:.3f}"}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {str(k): to_attribute(v) for k, v in value.items() if v is not None}}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute(v) for v in value]}
    return {"NULL": True}


def from_attribute(value: dict[str, Any]) -> Any:
    """A DynamoDB attribute value as a plain one (numbers without a point are ints)."""
    if "S" in value:
        return value["S"]
    if "N" in value:
        text = str(value["N"])
        return float(text) if any(c in text for c in ".eE") else int(text)
    if "BOOL" in value:
        return bool(value["BOOL"])
    if "M" in value:
        return {k: from_attribute(v) for k, v in value["M"].items()}
    if "L" in value:
        return [from_attribute(v) for v in value["L"]]
    return None


def attribute_names(*expressions: str) -> dict[str, str]:
    """ExpressionAttributeNames for every ``#name`` the expressions use (no unused one)."""
    return {token: token[1:] for text in expressions for token in re.findall(r"#\w+", text)}


def who_of(item: dict[str, Any]) -> str:
    return f"{item.get('user')}@{item.get('host')} pid {int(item.get('pid') or 0)}"


def is_held(item: dict[str, Any] | None) -> bool:
    """Whether a stored item is a holder's (not released; items of earlier versions are)."""
    return bool(item) and item.get("state", HELD) != RELEASED  # type: ignore[union-attr]


def describe_break(entry: dict[str, Any]) -> str:
    """One line for a recorded break: when, who, whose lease, how fresh, why."""
    previous = entry.get("previous_holder") or {}
    by = entry.get("broken_by") or {}
    alive = ", holder alive acknowledged" if entry.get("holder_alive") else ""
    return (f"{entry.get('broken_at')}: {who_of(by)} (drill {by.get('drill_id')}) broke the "
            f"lease of {who_of(previous)} (drill {previous.get('drill_id')}, heartbeat "
            f"{float(entry.get('heartbeat_age_s') or 0):.0f}s old{alive}): "
            f"{entry.get('reason')}")


def recent_breaks(item: dict[str, Any] | None, last: int = 5) -> list[dict[str, Any]]:
    """The last ``last`` breaks recorded in a stored item, oldest first."""
    breaks = (item or {}).get("breaks") or []
    return list(breaks)[-last:] if isinstance(breaks, list) else []


@dataclass(frozen=True)
class Holder:
    """Who holds (or wants) the lease."""

    holder_id: str
    user: str
    host: str
    pid: int
    drill_id: str
    started_at: str  # UTC ISO 8601

    @classmethod
    def this_process(cls, drill_id: str, clock: Clock = time.time) -> Holder:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (some containers)
            user = f"uid{os.getuid()}"
        return cls(holder_id=uuid.uuid4().hex, user=user, host=socket.gethostname(),
                   pid=os.getpid(), drill_id=drill_id, started_at=iso_utc(clock()))

    @property
    def who(self) -> str:
        return f"{self.user}@{self.host} pid {self.pid}"

    def as_dict(self) -> dict[str, Any]:
        return {"holder_id": self.holder_id, "user": self.user, "host": self.host,
                "pid": self.pid, "drill_id": self.drill_id, "started_at": self.started_at}


@dataclass(frozen=True)
class LeaseGrant:
    """What ``acquire`` got: for the journal. ``holder.holder_id`` is what ``verify`` takes."""

    table: str
    region: str
    key: str
    holder: Holder
    ttl_s: float
    expires_at: float
    broken: dict[str, Any] | None = None  # the break recorded, when taken over
    expired_holder: dict[str, Any] | None = None  # a holder that never released (crashed)

    def journal_fields(self) -> dict[str, Any]:
        """The journal's ``lease.acquired`` record."""
        holder = self.holder.as_dict()
        holder["holder_drill_id"] = holder.pop("drill_id")  # "drill_id" is the journal's own
        fields = {"table": self.table, "region": self.region, "key": self.key,
                  "ttl_s": self.ttl_s, "expires_at": iso_utc(self.expires_at), **holder}
        if self.expired_holder is not None:
            fields["expired_holder"] = readable_holder(self.expired_holder)
        return fields

    def broken_fields(self) -> dict[str, Any]:
        """The journal's ``lease.broken`` record ({} when nothing was broken)."""
        if self.broken is None:
            return {}
        broken = self.broken
        by = broken.get("broken_by") or {}
        return {"table": self.table, "region": self.region, "key": self.key,
                "reason": broken.get("reason"), "broken_at": broken.get("broken_at"),
                "broken_by": who_of(by), "broken_by_holder_id": by.get("holder_id"),
                "holder_alive": bool(broken.get("holder_alive")),
                "heartbeat_age_s": broken.get("heartbeat_age_s"),
                "previous_holder": readable_holder(broken.get("previous_holder") or {})}


def readable_holder(holder: dict[str, Any]) -> dict[str, Any]:
    """A previous holder with its epoch times as UTC ISO 8601."""
    return {k: (iso_utc(float(holder[k])) if k in ("expires_at", "heartbeat_at")
                and isinstance(holder.get(k), int | float) else holder.get(k))
            for k in PREVIOUS_FIELDS}




def lease_key(record_name: str) -> str:
    """The item key of a platform: its public record name (the same from every host)."""
    return f"drill#{record_name.rstrip('.')}"


def lease_table_call(client: Any, table: str, region: str, operation: str, *,
                     missing: str = "", **kwargs: Any) -> dict[str, Any]:
    """One DynamoDB call on the lease table; a missing table and an unreachable region become
    one line (``missing``: what the table holds, for the first)."""
    try:
        return getattr(client, operation)(TableName=table, **kwargs)  # type: ignore[no-any-return]
    except ClientError as error:
        if client_error_code(error) == "ResourceNotFoundException":
            raise ConfigError(
                f"drill lease table {table!r} not found in {region}: {missing}create it "
                f"first ('maip-dr lease create-table', see docs/lease.md)",
                key="topology.lease_table") from error
        raise
    except BotoCoreError as error:
        raise Unreachable(f"drill lease table {table!r} in {region}: {error}",
                          region=region) from error


def create_lease_table(client: Any, table: str) -> bool:
    """Create the lease table (on-demand, key ``pk``); False if it already exists."""
    try:
        client.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": LEASE_KEY_ATTRIBUTE, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": LEASE_KEY_ATTRIBUTE, "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")
    except ClientError as error:
        if client_error_code(error) == "ResourceInUseException":
            return False
        raise
    return True
