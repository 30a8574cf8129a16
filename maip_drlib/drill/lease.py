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

The item's fields, ``Holder``, ``LeaseGrant`` and the table's calls are in ``drill.lease_item``
(their names are importable from here too).
"""

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from maip_drlib.drill.lease_item import (
    BREAKS_KEPT,
    HELD,
    HOLDER_ALIVE_PREFIX,
    LEASE_KEY_ATTRIBUTE,
    LEASE_TTL_MAX_S,
    LEASE_TTL_MIN_S,
    OBSOLETE_ATTRIBUTES,
    PREVIOUS_FIELDS,
    RELEASED,
    Clock,
    Holder,
    LeaseGrant,
    attribute_names,
    client_error_code,
    create_lease_table,
    describe_break,
    from_attribute,
    is_held,
    iso_utc,
    lease_key,
    lease_table_call,
    recent_breaks,
    to_attribute,
    who_of,
)
from maip_drlib.errors import ConfigError, GuardRefused, Unreachable

__all__ = [
    "BREAKS_KEPT", "HELD", "HOLDER_ALIVE_PREFIX", "LEASE_KEY_ATTRIBUTE", "LEASE_TTL_MAX_S",
    "LEASE_TTL_MIN_S", "OBSOLETE_ATTRIBUTES", "PREVIOUS_FIELDS", "RELEASED", "DrillLease",
    "Holder", "LeaseGrant", "LeaseHeld", "LeaseLost", "create_lease_table", "describe_break",
    "is_held", "lease_key", "lease_table_call", "recent_breaks",
]


class LeaseHeld(GuardRefused):
    """Another drill holds the lease (exit 3)."""


class LeaseLost(GuardRefused):
    """This drill's lease was broken or expired while it ran, or is not held (exit 3)."""



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
            ConditionExpression=condition,
            ExpressionAttributeNames=attribute_names(update, condition),
            ExpressionAttributeValues={
                **{f":{k}": to_attribute(v) for k, v in attributes.items()}, **values},
            ReturnValues="ALL_OLD")
        old = answer.get("Attributes")
        return {k: from_attribute(v) for k, v in old.items()} if old else None

    def _holder_attributes(self, now: float) -> dict[str, Any]:
        return {**self.holder.as_dict(), "state": HELD, "ttl_s": float(self.ttl_s),
                "heartbeat_s": float(self.heartbeat_s or 0), "expires_at": now + self.ttl_s,
                "heartbeat_at": now}

    def stored(self) -> dict[str, Any] | None:
        """The stored item as plain values (a strongly consistent read), released or not."""
        answer = self._call("get_item", Key=self._key(), ConsistentRead=True)
        raw = answer.get("Item")
        return {name: from_attribute(value) for name, value in raw.items()} if raw else None

    def current(self) -> dict[str, Any] | None:
        """The holder's item (expired or not), or None when free or released."""
        item = self.stored()
        return item if is_held(item) else None

    def describe(self, item: dict[str, Any]) -> str:
        now = self.clock()
        expires = float(item.get("expires_at") or 0)
        left = expires - now
        state = f"expires {iso_utc(expires)} (in {left:.0f}s)" if left > 0 else \
            f"expired {iso_utc(expires)}"
        beat = (f", last heartbeat {now - float(item['heartbeat_at']):.0f}s ago"
                if isinstance(item.get("heartbeat_at"), int | float) else "")
        return (f"{who_of(item)}, drill {item.get('drill_id')}, started "
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
                if client_error_code(error) != "ConditionalCheckFailedException":
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
            {":now": to_attribute(now), ":released": to_attribute(RELEASED)})
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
        entry = {"reason": reason, "broken_at": iso_utc(now), "broken_by": self.holder.as_dict(),
                 "previous_holder": {k: live.get(k) for k in PREVIOUS_FIELDS},
                 "heartbeat_age_s": round(min(age, 1e9), 3), "holder_alive": alive}
        attributes = self._holder_attributes(now)
        attributes["breaks"] = [*recent_breaks(live, BREAKS_KEPT - 1), entry]
        condition = "#holder_id = :previous AND (attribute_not_exists(#state) OR #state = :state)"
        values = {":previous": to_attribute(str(live.get("holder_id")))}
        if isinstance(beat, int | float):
            condition += " AND #heartbeat_at = :seen"
            values[":seen"] = to_attribute(float(beat))
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
                         {":me": to_attribute(self.holder.holder_id),
                          ":held": to_attribute(HELD)}, remove=())
        except ClientError as error:
            if client_error_code(error) == "ConditionalCheckFailedException":
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
            self._update({"state": RELEASED, "released_at": iso_utc(now), "expires_at": now},
                         "#holder_id = :me AND #state = :held",
                         {":me": to_attribute(self.holder.holder_id),
                          ":held": to_attribute(HELD)}, remove=())
        except ClientError as error:
            if client_error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

