"""DynamoDB replication judged by a heartbeat item: written in one region, read in the other.

``ReplicationLatency`` has datapoints only for items replicated in the period: with writes
stopped there is nothing to read, so a drill stage (it has the operator's consent) proves
replication by writing: one item into the canary table (``Topology.canary_table``, never
business data; key ``pk = "heartbeat#<drill id>#<sending region>"``, ``seq`` = microseconds,
TTL ``expires_at`` one day) in the sending region, then strongly consistent ``GetItem`` in
the receiving region until it is there. The measured delay is an upper bound (it includes
the poll interval and the two calls). Mutating: the caller runs ``require_execute`` first.

Not supported: tables other than the canary table's key schema (``pk`` S, ``seq`` N),
replication through DynamoDB Streams consumers, more than two regions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from maip_drlib.drill.context import DrillContext
from maip_drlib.errors import CheckFailed
from maip_drlib.probes import aws_api, error_code
from maip_drlib.regions import RegionHandle
from maip_drlib.waits import WaitSpec, wait_for

HEARTBEAT_TTL_S = 86400
METHOD = "heartbeat item"


@dataclass(frozen=True)
class DynamoHeartbeat:
    """One heartbeat item and how long it took to be read in the receiving region."""

    table: str
    sender: str
    receiver: str
    key: str
    seq: int
    delay_s: float

    def __str__(self) -> str:
        return (f"dynamodb {self.table} {self.sender} -> {self.receiver}: heartbeat item "
                f"{self.key}/{self.seq} read in {self.receiver} after {self.delay_s:.3f}s "
                f"(decided by {METHOD})")


def _seen(handle: RegionHandle, table: str, key: str, seq: int) -> bool:
    with aws_api(handle, "dynamodb"):
        found = handle.client("dynamodb").get_item(
            TableName=table, ConsistentRead=True,
            Key={"pk": {"S": key}, "seq": {"N": str(seq)}})
    return "Item" in found


def replicate_heartbeat(ctx: DrillContext, sender: RegionHandle, receiver: RegionHandle, *,
                        deadline_s: float, drill_id: str) -> DynamoHeartbeat:
    """Write one heartbeat item in ``sender``'s canary table and wait (bounded) until
    ``receiver`` reads it; ``WaitTimeout`` when it does not arrive in time."""
    table = ctx.topology.canary_table
    key = f"heartbeat#{drill_id}#{sender.region}"
    seq = time.time_ns() // 1000
    now = time.time()
    item = {"pk": {"S": key}, "seq": {"N": str(seq)}, "written_at": {"N": f"{now:.3f}"},
            "expires_at": {"N": str(int(now) + HEARTBEAT_TTL_S)},
            "drill_id": {"S": drill_id}, "written_in": {"S": sender.region}}
    started = time.monotonic()
    try:
        with aws_api(sender, "dynamodb"):
            sender.client("dynamodb").put_item(TableName=table, Item=item)
    except ClientError as error:
        raise CheckFailed(f"heartbeat item not written: {error_code(error)}",
                          region=sender.region, resource=table,
                          expected="put_item accepted", observed=str(error)) from error
    spec = WaitSpec(f"heartbeat item {key}/{seq} of {table} to reach {receiver.region}",
                    deadline_s=deadline_s, poll_initial_s=min(ctx.poll.initial_s, 0.2),
                    poll_max_s=min(ctx.poll.max_s, 1.0))
    wait_for(spec, lambda: _seen(receiver, table, key, seq), success=bool)
    return DynamoHeartbeat(table=table, sender=sender.region, receiver=receiver.region,
                           key=key, seq=seq, delay_s=round(time.monotonic() - started, 3))
