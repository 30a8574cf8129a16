"""Route 53 change batches as strict as AWS (patch ``route53_change_batches``), through boto3.

Each test fails on moto 5.2.5's own behaviour: a DELETE whose values differ, a half-refused
batch, Weight without SetIdentifier and a second PRIMARY were all accepted there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from maip_drlib.sim.aws.clients import sim_client
from maip_drlib.sim.aws.server import MotoServer
from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.faults import FaultState

pytestmark = pytest.mark.sim

EAST_ALB = "maip-prod-alb-1.us-east-1.elb.amazonaws.com"
WEST_ALB = "maip-prod-dr-alb-1.us-west-2.elb.amazonaws.com"


@pytest.fixture(scope="module")
def route53() -> Iterator[Any]:
    server = MotoServer(FaultState(("us-east-1", "us-west-2")), SimClock(time_scale=0.6))
    url = server.start()
    yield sim_client("route53", "us-east-1", url)
    server.stop()


@pytest.fixture
def zone(route53: Any) -> str:
    name = f"z{uuid.uuid4().hex[:8]}.example.com."
    return str(route53.create_hosted_zone(Name=name, CallerReference=str(uuid.uuid4()))
               ["HostedZone"]["Id"])


def _name(route53: Any, zone: str) -> str:
    return "api." + route53.get_hosted_zone(Id=zone)["HostedZone"]["Name"]


def _record(name: str, set_id: str | None, alb: str, **routing: Any) -> dict[str, Any]:
    record = {"Name": name, "Type": "A", **routing, "AliasTarget": {
        "HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": alb, "EvaluateTargetHealth": True}}
    if set_id is not None:
        record["SetIdentifier"] = set_id
    return record


def _change(route53: Any, zone: str, *changes: tuple[str, dict[str, Any]]) -> None:
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={
        "Changes": [{"Action": action, "ResourceRecordSet": r} for action, r in changes]})


def _refused(route53: Any, zone: str, *changes: tuple[str, dict[str, Any]]) -> dict[str, str]:
    with pytest.raises(ClientError) as raised:
        _change(route53, zone, *changes)
    return raised.value.response["Error"]


def _records(route53: Any, zone: str) -> list[tuple[str | None, str | None]]:
    found = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return sorted((r.get("SetIdentifier"), r.get("AliasTarget", {}).get("DNSName"))
                  for r in found if r["Type"] == "A")


def _pair(route53: Any, zone: str) -> tuple[dict[str, Any], dict[str, Any]]:
    name = _name(route53, zone)
    primary = _record(name, "primary", EAST_ALB, Failover="PRIMARY")
    secondary = _record(name, "secondary", WEST_ALB, Failover="SECONDARY")
    _change(route53, zone, ("CREATE", primary), ("CREATE", secondary))
    return primary, secondary


def test_a_delete_whose_values_differ_is_refused(route53: Any, zone: str) -> None:
    primary, _ = _pair(route53, zone)
    stale = {**primary, "AliasTarget": {**primary["AliasTarget"], "DNSName": WEST_ALB}}
    error = _refused(route53, zone, ("DELETE", stale))
    assert error["Code"] == "InvalidChangeBatch"
    assert "[name='" + _name(route53, zone).lower() in error["Message"]
    assert "set-identifier='primary']" in error["Message"]
    assert "but the values provided do not match the current values" in error["Message"]
    assert _refused(route53, zone, ("DELETE", {**primary, "Failover": "SECONDARY"}))
    error = _refused(route53, zone, ("DELETE", {**primary, "SetIdentifier": "other"}))
    assert "but it was not found" in error["Message"]
    assert len(_records(route53, zone)) == 2  # moto deleted by SetIdentifier across the zone
    # names and DNS names compare without case and final dot, as Route 53 compares them
    same = {**primary, "Name": primary["Name"].upper(), "AliasTarget": {
        **primary["AliasTarget"], "DNSName": EAST_ALB.upper() + "."}}
    _change(route53, zone, ("DELETE", same))
    assert _records(route53, zone) == [("secondary", WEST_ALB)]


def test_a_half_refused_batch_leaves_nothing_applied(route53: Any, zone: str) -> None:
    primary, secondary = _pair(route53, zone)
    name = _name(route53, zone)
    before = _records(route53, zone)
    error = _refused(route53, zone, ("DELETE", primary), ("DELETE", secondary),
                     ("CREATE", _record(name, "w-east", EAST_ALB, Weight=0)),
                     ("DELETE", _record(name, "missing", WEST_ALB, Weight=1)))
    assert error["Code"] == "InvalidChangeBatch"
    assert _records(route53, zone) == before
    # the same batch without the bad change is applied whole
    _change(route53, zone, ("DELETE", primary), ("DELETE", secondary),
            ("CREATE", _record(name, "w-east", EAST_ALB, Weight=0)),
            ("CREATE", _record(name, "w-west", WEST_ALB, Weight=100)))
    assert _records(route53, zone) == [("w-east", EAST_ALB), ("w-west", WEST_ALB)]


def test_create_of_an_existing_record_is_refused(route53: Any, zone: str) -> None:
    primary, _ = _pair(route53, zone)
    error = _refused(route53, zone, ("CREATE", primary))
    assert "but it already exists" in error["Message"]


def test_weight_or_failover_without_set_identifier_is_refused(route53: Any, zone: str) -> None:
    name = _name(route53, zone)
    for routing in ({"Weight": 10}, {"Failover": "PRIMARY"}):
        error = _refused(route53, zone, ("UPSERT", _record(name, None, EAST_ALB, **routing)))
        assert error["Code"] == "InvalidInput"
        assert "Missing field 'SetIdentifier'" in error["Message"]
    assert _records(route53, zone) == []


def test_a_second_primary_is_refused(route53: Any, zone: str) -> None:
    _pair(route53, zone)
    name = _name(route53, zone)
    error = _refused(route53, zone, ("CREATE", _record(name, "primary-2", WEST_ALB,
                                                       Failover="PRIMARY")))
    assert error["Code"] == "InvalidChangeBatch"
    assert "PRIMARY failover record set" in error["Message"]
    assert _records(route53, zone) == [("primary", EAST_ALB), ("secondary", WEST_ALB)]
