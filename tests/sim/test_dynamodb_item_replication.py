"""The DynamoDB item-replication patch, through real boto3 clients against the moto server.

Pinned like every patch: moto's unpatched methods must still NOT replicate (else the patch is
replicating twice) and must keep the signatures the patch binds. One server for the module;
each test makes its own global table and restores the faults it changes.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from maip_drlib.sim.aws.clients import sim_client
from maip_drlib.sim.aws.patches import _support, dynamodb_item_replication
from maip_drlib.sim.aws.server import MotoServer
from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.faults import FaultState

pytestmark = pytest.mark.sim

EAST, WEST = "us-east-1", "us-west-2"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def faults() -> FaultState:
    return FaultState((EAST, WEST))


@pytest.fixture(scope="module")
def server(faults: FaultState) -> Iterator[MotoServer]:
    moto_server = MotoServer(faults, SimClock(time_scale=0.6))
    moto_server.start()
    yield moto_server
    moto_server.stop()
    assert dynamodb_item_replication.stop_delivery(timeout_s=2.0)


@pytest.fixture
def url(server: MotoServer, faults: FaultState) -> Iterator[str]:
    assert server.endpoint_url is not None
    yield server.endpoint_url
    for region in (EAST, WEST):
        faults.restore_region(region)
    faults.set_lag("dynamodb", 0.5)


_names = iter(range(1000))


def _global_table(url: str) -> str:
    name = f"replicated-{next(_names)}"
    east = sim_client("dynamodb", EAST, url)
    east.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                      AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                      KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
    east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": WEST}}])
    return name


def _get(url: str, region: str, table: str, key: str) -> dict[str, Any] | None:
    return sim_client("dynamodb", region, url).get_item(
        TableName=table, Key={"k": {"S": key}}, ConsistentRead=True).get("Item")


def _poll(read: Callable[[], Any], until: Callable[[Any], bool], deadline_s: float) -> float:
    """Seconds until ``until(read())``; fails at the deadline with the last value seen."""
    started = time.monotonic()
    seen = read()
    while not until(seen):
        assert time.monotonic() - started < deadline_s, f"gave up waiting; last seen {seen!r}"
        time.sleep(0.02)
        seen = read()
    return time.monotonic() - started


def test_the_patch_is_pinned_and_moto_alone_does_not_replicate_items(url: str) -> None:
    from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends

    assert dynamodb_item_replication.MOTO_VERSION == _support.MOTO_VERSION == "5.2.5"
    assert "dynamodb_item_replication" in __import__(
        "maip_drlib.sim.aws.patches", fromlist=["patch_names"]).patch_names()
    originals = {name: _support.original_of(DynamoDBBackend, name)
                 for name in ("put_item", "update_item", "delete_item")}
    assert all(originals.values())
    parameters = {name: list(inspect.signature(method).parameters)[:3]
                  for name, method in originals.items()}
    assert parameters == {"put_item": ["self", "table_name", "item_attrs"],
                          "update_item": ["self", "table_name", "key"],
                          "delete_item": ["self", "table_name", "key"]}
    table = _global_table(url)
    east = dynamodb_backends[ACCOUNT][EAST]
    queued = dynamodb_item_replication.pending_deliveries()
    originals["put_item"](east, table, {"k": {"S": "unpatched"}})
    time.sleep(0.1)
    assert _get(url, EAST, table, "unpatched") is not None
    assert _get(url, WEST, table, "unpatched") is None
    assert dynamodb_item_replication.pending_deliveries() == queued


def test_a_write_reaches_the_replica_only_after_the_lag(url: str, faults: FaultState) -> None:
    table = _global_table(url)
    faults.set_lag("dynamodb", 0.5)
    sim_client("dynamodb", EAST, url).put_item(
        TableName=table, Item={"k": {"S": "a"}, "v": {"N": "1"}})
    took = _poll(lambda: _get(url, WEST, table, "a"), lambda item: item is not None, 2.0)
    assert 0.4 <= took < 2.0
    assert _get(url, WEST, table, "a") == {"k": {"S": "a"}, "v": {"N": "1"}}


def test_updates_and_deletes_replicate_and_writes_in_dr_replicate_back(
        url: str, faults: FaultState) -> None:
    table = _global_table(url)
    faults.set_lag("dynamodb", 0.0)
    east, west = sim_client("dynamodb", EAST, url), sim_client("dynamodb", WEST, url)
    east.put_item(TableName=table, Item={"k": {"S": "u"}, "v": {"N": "1"}})
    east.update_item(TableName=table, Key={"k": {"S": "u"}}, UpdateExpression="SET v = :v",
                     ExpressionAttributeValues={":v": {"N": "2"}})
    _poll(lambda: _get(url, WEST, table, "u"),
          lambda item: item is not None and item["v"] == {"N": "2"}, 2.0)
    east.delete_item(TableName=table, Key={"k": {"S": "u"}})
    _poll(lambda: _get(url, WEST, table, "u"), lambda item: item is None, 2.0)
    west.batch_write_item(RequestItems={table: [
        {"PutRequest": {"Item": {"k": {"S": "from-dr"}}}}]})
    _poll(lambda: _get(url, EAST, table, "from-dr"), lambda item: item is not None, 2.0)


def test_a_later_write_with_a_shorter_lag_does_not_overtake_an_earlier_one(
        url: str, faults: FaultState) -> None:
    table = _global_table(url)
    east = sim_client("dynamodb", EAST, url)
    # The first write is held 3 s: far longer than the second write, the replicator's rounds
    # and the read below take on a loaded machine (0.4 s once was not).
    faults.set_lag("dynamodb", 3.0)
    east.put_item(TableName=table, Item={"k": {"S": "o"}, "v": {"N": "1"}})
    faults.set_lag("dynamodb", 0.0)
    east.put_item(TableName=table, Item={"k": {"S": "o"}, "v": {"N": "2"}})
    time.sleep(0.15)  # rounds enough for an overtaking second write to show
    assert _get(url, WEST, table, "o") is None
    _poll(lambda: _get(url, WEST, table, "o"),
          lambda item: item is not None and item["v"] == {"N": "2"}, 10.0)
    time.sleep(0.1)
    assert _get(url, WEST, table, "o")["v"] == {"N": "2"}  # type: ignore[index]


def test_pending_writes_stay_in_a_region_in_outage_until_it_is_restored(
        url: str, faults: FaultState) -> None:
    table = _global_table(url)
    faults.set_lag("dynamodb", 0.3)
    sim_client("dynamodb", EAST, url).put_item(TableName=table, Item={"k": {"S": "held"}})
    faults.region_outage(EAST)
    time.sleep(0.6)  # twice the lag
    assert _get(url, WEST, table, "held") is None
    assert dynamodb_item_replication.pending_deliveries() >= 1
    faults.restore_region(EAST)
    took = _poll(lambda: _get(url, WEST, table, "held"), lambda item: item is not None, 2.0)
    assert took < 0.5
