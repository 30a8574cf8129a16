"""One drill at a time: a lease item in a DynamoDB table of the DR region (docs/lease.md).

``DrillLease.acquire`` writes the item ``pk = "drill#<record name>"`` with a conditional
PutItem (``attribute_not_exists(pk) OR expires_at < :now``), so of two game days against the
same platform, from any two hosts, only one holds it; the other gets ``LeaseHeld`` (a guard
refusal, exit 3) naming the holder, its host, drill id, start time and expiry. A heartbeat
thread renews ``expires_at`` every ``ttl / 3`` seconds with an UpdateItem conditional on the
holder id; a failed condition (the lease was broken) or a renewal that could not be made
before the expiry sets ``lost``. ``release`` deletes the item, again conditional on the
holder id. A holder killed with SIGKILL stops renewing and its lease expires after ``ttl``.
``break_reason`` takes over a live lease (conditional on the holder read just before) and
records the reason and the previous holder in the item (and, through ``LeaseGrant``, in the
journal).

Expiry compares ``expires_at`` (epoch seconds written by the holder from its clock) with the
acquirer's clock: the hosts' clocks must agree to well within the TTL (NTP). Every call goes
through a client with connect/read timeouts and bounded retries (the region handle's policy);
the heartbeat thread is joined with a deadline.

Not supported: waiting in a queue for the lease (the second drill refuses at once), leases
across several tables or accounts, DynamoDB's own TTL deletion (not needed: an expired item is
overwritten by the next acquirer).
"""

from __future__ import annotations

import getpass
import json
import os
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
Clock = Callable[[], float]


class LeaseHeld(GuardRefused):
    """Another drill holds the lease (exit 3)."""


class LeaseLost(GuardRefused):
    """This drill's lease was broken or expired while it ran (exit 3)."""


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


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
    """What ``acquire`` got: for the journal."""

    table: str
    region: str
    key: str
    holder: Holder
    ttl_s: float
    expires_at: float
    broken: dict[str, Any] | None = None  # previous holder and reason, when taken over

    def journal_fields(self) -> dict[str, Any]:
        holder = self.holder.as_dict()
        holder["holder_drill_id"] = holder.pop("drill_id")  # "drill_id" is the journal's own
        return {"table": self.table, "region": self.region, "key": self.key,
                "ttl_s": self.ttl_s, "expires_at": _iso(self.expires_at), **holder}


@dataclass
class DrillLease:
    """The lease of one platform in ``table`` of the DR region, through ``client``."""

    client: Any  # a boto3 DynamoDB client of the DR region (timeouts and retries bounded)
    table: str
    region: str
    key: str
    ttl_s: float
    holder: Holder
    clock: Clock = time.time
    lost: threading.Event = field(default_factory=threading.Event)
    lost_reason: str = ""
    expires_at: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        if not self.ttl_s > 0:
            raise ConfigError(f"lease TTL must be > 0 seconds, got {self.ttl_s}",
                              key="--dr-lease-ttl")

    # -- calls --------------------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One DynamoDB call; a missing table and an unreachable region become one line."""
        try:
            return getattr(self.client, operation)(TableName=self.table, **kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise ConfigError(
                    f"drill lease table {self.table!r} not found in {self.region}: create it "
                    f"first ('maip-dr lease create-table', see docs/lease.md)",
                    key="topology.lease_table") from error
            raise
        except BotoCoreError as error:
            raise Unreachable(f"drill lease table {self.table!r} in {self.region}: {error}",
                              region=self.region) from error

    def _item(self, expires_at: float, **extra: dict[str, str]) -> dict[str, dict[str, str]]:
        holder = self.holder
        item = {
            LEASE_KEY_ATTRIBUTE: {"S": self.key},
            "holder_id": {"S": holder.holder_id},
            "user": {"S": holder.user},
            "host": {"S": holder.host},
            "pid": {"N": str(holder.pid)},
            "drill_id": {"S": holder.drill_id},
            "started_at": {"S": holder.started_at},
            "ttl_s": {"N": repr(float(self.ttl_s))},
            "expires_at": {"N": f"{expires_at:.3f}"},
            "heartbeat_at": {"N": f"{self.clock():.3f}"},
        }
        item.update(extra)
        return item

    def current(self) -> dict[str, Any] | None:
        """The stored lease item as plain values (a strongly consistent read), or None."""
        answer = self._call("get_item", Key={LEASE_KEY_ATTRIBUTE: {"S": self.key}},
                            ConsistentRead=True)
        raw = answer.get("Item")
        if not raw:
            return None
        item: dict[str, Any] = {name: (float(value["N"]) if "N" in value else value.get("S"))
                                for name, value in raw.items()}
        if isinstance(item.get("pid"), float):
            item["pid"] = int(item["pid"])
        return item

    def describe(self, item: dict[str, Any]) -> str:
        expires = float(item.get("expires_at") or 0)
        left = expires - self.clock()
        state = f"expires {_iso(expires)} (in {left:.0f}s)" if left > 0 else \
            f"expired {_iso(expires)}"
        return (f"{item.get('user')}@{item.get('host')} pid {int(item.get('pid') or 0)}, "
                f"drill {item.get('drill_id')}, started {item.get('started_at')}, {state}")

    def acquire(self, break_reason: str | None = None) -> LeaseGrant:
        """Take the lease or raise ``LeaseHeld``; with ``break_reason`` take over a live one."""
        if break_reason is not None and not break_reason.strip():
            raise ConfigError("--dr-break-lease needs a reason (it is recorded)",
                              key="--dr-break-lease")
        for _ in range(3):  # the item may change between the write and the read that explains
            now = self.clock()
            expires_at = now + self.ttl_s
            previous = self.current() if break_reason else None
            try:
                if previous is not None and float(previous.get("expires_at") or 0) >= now:
                    broken = {"reason": break_reason, "previous_holder": previous}
                    self._call(
                        "put_item",
                        Item=self._item(expires_at, broken_reason={"S": break_reason or ""},
                                        previous_holder={"S": json.dumps(previous,
                                                                         sort_keys=True)}),
                        ConditionExpression="holder_id = :previous",
                        ExpressionAttributeValues={":previous": {"S": str(
                            previous.get("holder_id"))}})
                    return self._granted(expires_at, broken)
                self._call("put_item", Item=self._item(expires_at),
                           ConditionExpression="attribute_not_exists(#pk) OR expires_at < :now",
                           ExpressionAttributeNames={"#pk": LEASE_KEY_ATTRIBUTE},
                           ExpressionAttributeValues={":now": {"N": f"{now:.3f}"}})
                return self._granted(expires_at, None)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != \
                        "ConditionalCheckFailedException":
                    raise
            if break_reason:
                continue  # the holder changed between the read and the write: read again
            item = self.current()
            if item is None or float(item.get("expires_at") or 0) < self.clock():
                continue  # released or expired in between: try again
            raise LeaseHeld(
                f"another drill holds the lease on {self.key} ({self.table} in {self.region}): "
                f"{self.describe(item)}; wait for it, or take it over with "
                f"--dr-break-lease REASON if that drill is dead")
        raise LeaseHeld(f"the lease on {self.key} ({self.table} in {self.region}) changed "
                        "hands three times while acquiring it; try again")

    def _granted(self, expires_at: float, broken: dict[str, Any] | None) -> LeaseGrant:
        self.expires_at = expires_at
        return LeaseGrant(table=self.table, region=self.region, key=self.key,
                          holder=self.holder, ttl_s=self.ttl_s, expires_at=expires_at,
                          broken=broken)

    def renew(self) -> None:
        """Extend the lease by ``ttl``; set ``lost`` if it is no longer this holder's."""
        expires_at = self.clock() + self.ttl_s
        try:
            self._call("update_item", Key={LEASE_KEY_ATTRIBUTE: {"S": self.key}},
                       UpdateExpression="SET expires_at = :expires, heartbeat_at = :now",
                       ConditionExpression="holder_id = :me",
                       ExpressionAttributeValues={":expires": {"N": f"{expires_at:.3f}"},
                                                  ":now": {"N": f"{self.clock():.3f}"},
                                                  ":me": {"S": self.holder.holder_id}})
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
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
        """Renew every ``ttl / 3`` seconds in a daemon thread until ``release`` or loss."""
        interval = self.ttl_s / 3.0

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
        """Stop the heartbeat and delete the item if still ours; False if it was not."""
        self.stop_heartbeat()
        try:
            self._call("delete_item", Key={LEASE_KEY_ATTRIBUTE: {"S": self.key}},
                       ConditionExpression="holder_id = :me",
                       ExpressionAttributeValues={":me": {"S": self.holder.holder_id}})
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


def lease_key(record_name: str) -> str:
    """The item key of a platform: its public record name (the same from every host)."""
    return f"drill#{record_name.rstrip('.')}"


def create_lease_table(client: Any, table: str) -> bool:
    """Create the lease table (on-demand, key ``pk``); False if it already exists."""
    try:
        client.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": LEASE_KEY_ATTRIBUTE, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": LEASE_KEY_ATTRIBUTE, "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceInUseException":
            return False
        raise
    return True
