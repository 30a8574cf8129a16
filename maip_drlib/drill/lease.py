"""One drill at a time: a lease item in a DynamoDB table of the DR region (docs/lease.md).

``DrillLease.acquire`` takes the item ``pk = "drill#<record name>"`` with a conditional
UpdateItem (``attribute_not_exists(pk) OR expires_at < :now OR state = released``), so of two
drills against the same platform, from any two hosts, only one holds it; the other gets
``LeaseHeld`` (a guard refusal, exit 3) naming the holder, its host, drill id, start time, last
heartbeat and expiry. A heartbeat thread renews ``expires_at`` every ``ttl / 3`` seconds with
an UpdateItem conditional on the holder id; a failed condition (the lease was broken) or a
renewal that could not be made before the expiry sets ``lost``. ``release`` marks the item
``released`` (conditional on the holder id) instead of deleting it, so the item keeps its
history. A holder killed with SIGKILL stops renewing and its lease expires after ``ttl``.

The TTL is bounded: ``LEASE_TTL_MIN_S`` (15 s) to ``LEASE_TTL_MAX_S`` (1 h).

Breaking (``acquire(break_reason=...)``) takes over a live lease, conditional on the holder and
heartbeat read just before. It is refused (``LeaseHeld``) while the holder's heartbeat is
fresh (younger than two heartbeat intervals: a live holder renews every interval) unless the
reason starts with ``holder alive:`` (``HOLDER_ALIVE_PREFIX``): the operator says explicitly
that the drill may still be running. Every break is appended to the item's ``breaks`` list
(reason, when, who broke it, the previous holder, its heartbeat age; the last
``BREAKS_KEPT``), which later acquisitions and releases keep; ``LeaseGrant.broken_fields`` is
the journal's ``lease.broken`` record. ``verify`` is the read-only check that a given holder
id holds the lease (the pytest plugin under ``maip-dr``).

Expiry compares ``expires_at`` (epoch seconds written by the holder from its clock) with the
acquirer's clock: the hosts' clocks must agree to well within the TTL (NTP). Every call goes
through a client with connect/read timeouts and bounded retries (the region handle's policy);
the heartbeat thread is joined with a deadline.

Not supported: waiting in a queue for the lease (the second drill refuses at once), leases
across several tables or accounts, DynamoDB's own TTL deletion (not needed: an expired item is
taken over by the next acquirer), keeping the break history when an older maip-dr (one that
deletes the item at release) shares the table.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from maip_drlib.errors import ConfigError, GuardRefused, Unreachable

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


class LeaseHeld(GuardRefused):
    """Another drill holds the lease (exit 3)."""


class LeaseLost(GuardRefused):
    """This drill's lease was broken or expired while it ran, or is not held (exit 3)."""


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _attr(value: Any) -> dict[str, Any]:
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
        return {"M": {str(k): _attr(v) for k, v in value.items() if v is not None}}
    if isinstance(value, list | tuple):
        return {"L": [_attr(v) for v in value]}
    return {"NULL": True}


def _plain(value: dict[str, Any]) -> Any:
    """A DynamoDB attribute value as a plain one (numbers without a point are ints)."""
    if "S" in value:
        return value["S"]
    if "N" in value:
        text = str(value["N"])
        return float(text) if any(c in text for c in ".eE") else int(text)
    if "BOOL" in value:
        return bool(value["BOOL"])
    if "M" in value:
        return {k: _plain(v) for k, v in value["M"].items()}
    if "L" in value:
        return [_plain(v) for v in value["L"]]
    return None


def _names(*expressions: str) -> dict[str, str]:
    """ExpressionAttributeNames for every ``#name`` the expressions use (no unused one)."""
    return {token: token[1:] for text in expressions for token in re.findall(r"#\w+", text)}


def _who(item: dict[str, Any]) -> str:
    return f"{item.get('user')}@{item.get('host')} pid {int(item.get('pid') or 0)}"


def is_held(item: dict[str, Any] | None) -> bool:
    """Whether a stored item is a holder's (not released; items of earlier versions are)."""
    return bool(item) and item.get("state", HELD) != RELEASED  # type: ignore[union-attr]


def describe_break(entry: dict[str, Any]) -> str:
    """One line for a recorded break: when, who, whose lease, how fresh, why."""
    previous = entry.get("previous_holder") or {}
    by = entry.get("broken_by") or {}
    alive = ", holder alive acknowledged" if entry.get("holder_alive") else ""
    return (f"{entry.get('broken_at')}: {_who(by)} (drill {by.get('drill_id')}) broke the "
            f"lease of {_who(previous)} (drill {previous.get('drill_id')}, heartbeat "
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
                   pid=os.getpid(), drill_id=drill_id, started_at=_iso(clock()))

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
                  "ttl_s": self.ttl_s, "expires_at": _iso(self.expires_at), **holder}
        if self.expired_holder is not None:
            fields["expired_holder"] = _readable(self.expired_holder)
        return fields

    def broken_fields(self) -> dict[str, Any]:
        """The journal's ``lease.broken`` record ({} when nothing was broken)."""
        if self.broken is None:
            return {}
        broken = self.broken
        by = broken.get("broken_by") or {}
        return {"table": self.table, "region": self.region, "key": self.key,
                "reason": broken.get("reason"), "broken_at": broken.get("broken_at"),
                "broken_by": _who(by), "broken_by_holder_id": by.get("holder_id"),
                "holder_alive": bool(broken.get("holder_alive")),
                "heartbeat_age_s": broken.get("heartbeat_age_s"),
                "previous_holder": _readable(broken.get("previous_holder") or {})}


def _readable(holder: dict[str, Any]) -> dict[str, Any]:
    """A previous holder with its epoch times as UTC ISO 8601."""
    return {k: (_iso(float(holder[k])) if k in ("expires_at", "heartbeat_at")
                and isinstance(holder.get(k), int | float) else holder.get(k))
            for k in PREVIOUS_FIELDS}


@dataclass
class DrillLease:
    """The lease of one platform in ``table`` of the DR region, through ``client``.

    ``heartbeat_s`` (default ``ttl_s / 3``, at most that) is the renewal interval;
    ``ttl_key`` names where the TTL came from in a refusal.
    """

    client: Any  # a boto3 DynamoDB client of the DR region (timeouts and retries bounded)
    table: str
    region: str
    key: str
    ttl_s: float
    holder: Holder
    clock: Clock = time.time
    heartbeat_s: float | None = None
    ttl_key: str = "--dr-lease-ttl"
    lost: threading.Event = field(default_factory=threading.Event)
    lost_reason: str = ""
    expires_at: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        if not LEASE_TTL_MIN_S <= self.ttl_s <= LEASE_TTL_MAX_S:  # also refuses NaN
            raise ConfigError(f"lease TTL must be {LEASE_TTL_MIN_S} to {LEASE_TTL_MAX_S} "
                              f"seconds, got {self.ttl_s!r}", key=self.ttl_key)
        if self.heartbeat_s is None:
            self.heartbeat_s = self.ttl_s / 3.0
        elif not 0 < self.heartbeat_s <= self.ttl_s / 3.0:
            raise ValueError(f"lease heartbeat must be > 0 and at most a third of the TTL "
                             f"({self.ttl_s:g}s), got {self.heartbeat_s!r}")

    # -- calls --------------------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        return lease_table_call(self.client, self.table, self.region, operation, **kwargs)

    def _key(self) -> dict[str, dict[str, str]]:
        return {LEASE_KEY_ATTRIBUTE: {"S": self.key}}

    def _update(self, attributes: dict[str, Any], condition: str, values: dict[str, Any], *,
                remove: tuple[str, ...] = OBSOLETE_ATTRIBUTES) -> dict[str, Any] | None:
        """SET ``attributes`` (REMOVE ``remove``) if ``condition``; the item before, or None."""
        update = "SET " + ", ".join(f"#{name} = :{name}" for name in attributes)
        if remove:
            update += " REMOVE " + ", ".join(f"#{name}" for name in remove)
        answer = self._call(
            "update_item", Key=self._key(), UpdateExpression=update,
            ConditionExpression=condition, ExpressionAttributeNames=_names(update, condition),
            ExpressionAttributeValues={**{f":{k}": _attr(v) for k, v in attributes.items()},
                                       **values},
            ReturnValues="ALL_OLD")
        old = answer.get("Attributes")
        return {k: _plain(v) for k, v in old.items()} if old else None

    def _holder_attributes(self, now: float) -> dict[str, Any]:
        return {**self.holder.as_dict(), "state": HELD, "ttl_s": float(self.ttl_s),
                "heartbeat_s": float(self.heartbeat_s or 0), "expires_at": now + self.ttl_s,
                "heartbeat_at": now}

    def stored(self) -> dict[str, Any] | None:
        """The stored item as plain values (a strongly consistent read), released or not."""
        answer = self._call("get_item", Key=self._key(), ConsistentRead=True)
        raw = answer.get("Item")
        return {name: _plain(value) for name, value in raw.items()} if raw else None

    def current(self) -> dict[str, Any] | None:
        """The holder's item (expired or not), or None when free or released."""
        item = self.stored()
        return item if is_held(item) else None

    def describe(self, item: dict[str, Any]) -> str:
        now = self.clock()
        expires = float(item.get("expires_at") or 0)
        left = expires - now
        state = f"expires {_iso(expires)} (in {left:.0f}s)" if left > 0 else \
            f"expired {_iso(expires)}"
        beat = (f", last heartbeat {now - float(item['heartbeat_at']):.0f}s ago"
                if isinstance(item.get("heartbeat_at"), int | float) else "")
        return (f"{_who(item)}, drill {item.get('drill_id')}, started "
                f"{item.get('started_at')}{beat}, {state}")

    # -- acquire, break, verify ---------------------------------------------------------------

    def acquire(self, break_reason: str | None = None) -> LeaseGrant:
        """Take the lease or raise ``LeaseHeld``; with ``break_reason`` take over a live one
        whose heartbeat is stale (or fresh, with a reason starting ``holder alive:``)."""
        if break_reason is not None and not break_reason.strip():
            raise ConfigError("--dr-break-lease needs a reason (it is recorded)",
                              key="--dr-break-lease")
        for _ in range(3):  # the item may change between the write and the read that explains
            now = self.clock()
            live = self.current() if break_reason else None
            if live is not None and float(live.get("expires_at") or 0) < now:
                live = None  # expired: taken like a free lease
            try:
                if live is not None:
                    return self._break(live, str(break_reason), now)
                return self._take_free(now)
            except ClientError as error:
                if _code(error) != "ConditionalCheckFailedException":
                    raise
            if break_reason:
                continue  # the holder or its heartbeat changed since the read: read again
            item = self.current()
            if item is None or float(item.get("expires_at") or 0) < self.clock():
                continue  # released or expired in between: try again
            raise LeaseHeld(
                f"another drill holds the lease on {self.key} ({self.table} in {self.region}): "
                f"{self.describe(item)}; wait for it, or take it over with "
                f"--dr-break-lease REASON if that drill is dead")
        raise LeaseHeld(f"the lease on {self.key} ({self.table} in {self.region}) changed "
                        "hands three times while acquiring it; try again")

    def _take_free(self, now: float) -> LeaseGrant:
        attributes = self._holder_attributes(now)
        old = self._update(
            attributes, "attribute_not_exists(#pk) OR #expires_at < :now OR #state = :released",
            {":now": _attr(now), ":released": _attr(RELEASED)})
        expired = {k: old.get(k) for k in PREVIOUS_FIELDS} if is_held(old) else None
        return self._granted(attributes["expires_at"], None, expired)

    def _break(self, live: dict[str, Any], reason: str, now: float) -> LeaseGrant:
        beat = live.get("heartbeat_at")
        age = now - float(beat) if isinstance(beat, int | float) else float("inf")
        interval = float(live.get("heartbeat_s") or float(live.get("ttl_s") or self.ttl_s) / 3)
        alive = reason.strip().lower().startswith(HOLDER_ALIVE_PREFIX)
        if age < 2 * interval and not alive:
            left = float(live.get("expires_at") or 0) - now
            raise LeaseHeld(
                f"refused to break the lease on {self.key} ({self.table} in {self.region}): "
                f"the holder's heartbeat is fresh ({age:.0f}s old; it renews every "
                f"{interval:g}s, stale after {2 * interval:g}s): {self.describe(live)}; if "
                f"that drill is dead, retry once its heartbeat is stale or the lease expires "
                f"(in {left:.0f}s); to take over a drill that may still be running, say so: "
                f"--dr-break-lease \"{HOLDER_ALIVE_PREFIX} REASON\"")
        entry = {"reason": reason, "broken_at": _iso(now), "broken_by": self.holder.as_dict(),
                 "previous_holder": {k: live.get(k) for k in PREVIOUS_FIELDS},
                 "heartbeat_age_s": round(min(age, 1e9), 3), "holder_alive": alive}
        attributes = self._holder_attributes(now)
        attributes["breaks"] = [*recent_breaks(live, BREAKS_KEPT - 1), entry]
        condition = "#holder_id = :previous AND (attribute_not_exists(#state) OR #state = :state)"
        values = {":previous": _attr(str(live.get("holder_id")))}
        if isinstance(beat, int | float):
            condition += " AND #heartbeat_at = :seen"
            values[":seen"] = _attr(float(beat))
        else:
            condition += " AND attribute_not_exists(#heartbeat_at)"
        self._update(attributes, condition, values)
        return self._granted(attributes["expires_at"], entry, None)

    def _granted(self, expires_at: float, broken: dict[str, Any] | None,
                 expired: dict[str, Any] | None) -> LeaseGrant:
        self.expires_at = expires_at
        return LeaseGrant(table=self.table, region=self.region, key=self.key,
                          holder=self.holder, ttl_s=self.ttl_s, expires_at=expires_at,
                          broken=broken, expired_holder=expired)

    def verify(self, holder_id: str, label: str = "") -> dict[str, Any]:
        """Read-only: the stored holder's item if ``holder_id`` holds the lease, unexpired;
        else ``LeaseHeld`` (another holder) or ``LeaseLost`` (free, released or expired).
        ``label`` names the expected holder in the refusal (default: its id)."""
        where = f"the drill lease on {self.key} ({self.table} in {self.region})"
        expected = label or f"holder {holder_id}"
        item = self.current()
        if item is None:
            raise LeaseLost(f"{where} is not held, but {expected} should hold it")
        if item.get("holder_id") != holder_id:
            raise LeaseHeld(f"{where} is held by another drill: {self.describe(item)}; not by "
                            f"{expected}")
        if float(item.get("expires_at") or 0) < self.clock():
            raise LeaseLost(f"{where} of {expected} has expired: {self.describe(item)}")
        return item

    # -- heartbeat and release ----------------------------------------------------------------

    def renew(self) -> None:
        """Extend the lease by ``ttl``; set ``lost`` if it is no longer this holder's."""
        now = self.clock()
        expires_at = now + self.ttl_s
        try:
            self._update({"expires_at": expires_at, "heartbeat_at": now},
                         "#holder_id = :me AND #state = :held",
                         {":me": _attr(self.holder.holder_id), ":held": _attr(HELD)}, remove=())
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                self._lose("the lease was taken over (broken) by another drill")
                return
            self._missed(str(error))
            return
        except (Unreachable, ConfigError) as error:
            self._missed(str(error))
            return
        self.expires_at = expires_at

    def _missed(self, why: str) -> None:
        if self.clock() >= self.expires_at:
            self._lose(f"the lease expired: renewals failed ({why})")

    def _lose(self, why: str) -> None:
        self.lost_reason = why
        self.lost.set()
        self._stop.set()

    def start_heartbeat(self) -> None:
        """Renew every ``heartbeat_s`` seconds in a daemon thread until ``release`` or loss."""
        interval = float(self.heartbeat_s or self.ttl_s / 3.0)

        def beat() -> None:
            while not self._stop.wait(interval):
                try:
                    self.renew()
                except Exception as error:  # a dead thread would renew nothing
                    self._missed(f"{type(error).__name__}: {error}")

        self._thread = threading.Thread(target=beat, name="maip-drill-lease", daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            # A renewal in flight is bounded by the client's timeouts and retries.
            self._thread.join(timeout=60)
            self._thread = None

    def release(self) -> bool:
        """Stop the heartbeat and mark the item released if still ours (its history stays);
        False if it was not ours any more."""
        self.stop_heartbeat()
        now = self.clock()
        try:
            self._update({"state": RELEASED, "released_at": _iso(now), "expires_at": now},
                         "#holder_id = :me AND #state = :held",
                         {":me": _attr(self.holder.holder_id), ":held": _attr(HELD)}, remove=())
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True


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
        if _code(error) == "ResourceNotFoundException":
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
        if _code(error) == "ResourceInUseException":
            return False
        raise
    return True
