"""Route 53 health as AWS decides it: the 18 % rule and the RequestInterval x FailureThreshold
delay, in the checker model, GetHealthCheckStatus, the suite's probe and the simulated DNS.

The model tests drive simulated time by hand (deterministic); the end-to-end ones assert a
lower bound that no scheduling delay can break (the checkers never change early) and wait,
with a deadline, for the change itself.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from maip_drlib.probes.route53 import checkers_healthy, observations_healthy
from maip_drlib.sim.aws.clients import sim_client
from maip_drlib.sim.aws.dns_answer import answer_for
from maip_drlib.sim.aws.health_checkers import (
    CHECKER_REGIONS,
    health_check_track,
    healthy_by_share,
)
from maip_drlib.sim.aws.server import MotoServer
from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.faults import FaultState

pytestmark = pytest.mark.sim

EAST, WEST = "us-east-1", "us-west-2"
SCALE = 0.6  # real seconds per simulated minute: one simulated second is 10 ms


@pytest.mark.parametrize(("successes", "healthy"), [(0, False), (2, False), (3, True),
                                                     (8, True), (16, True)])
def test_more_than_18_percent_of_16_checkers_is_healthy(successes: int, healthy: bool) -> None:
    # 2/16 = 12.5 % -> unhealthy; 3/16 = 18.75 % -> healthy (a majority rule said 9/16)
    assert checkers_healthy(successes, 16) is healthy
    assert healthy_by_share(successes, 16) is healthy
    reports = [{"StatusReport": {"Status": "Success: HTTP Status Code 200, OK"}}] * successes
    reports += [{"StatusReport": {"Status": "Failure: Connection timed out."}}] * (16 - successes)
    assert observations_healthy(reports) == (healthy, successes, 16)
    assert checkers_healthy(0, 0) is False


def test_a_change_shows_only_after_interval_times_threshold() -> None:
    interval, threshold = 30.0, 3
    track = health_check_track(interval, threshold, now_s=0.0, healthy=True)
    down_at = 1000.0
    track.advance(down_at, lambda _checker: True)
    # just before (threshold - 1) x interval no checker can have seen threshold failures
    track.advance(down_at + (threshold - 1) * interval - 0.001, lambda _checker: False)
    assert track.healthy()
    track.advance(down_at + threshold * interval, lambda _checker: False)
    assert not track.healthy()
    assert not any(seen.healthy for seen in track.observations())
    # and back: the same delay the other way
    up_at = down_at + threshold * interval
    track.advance(up_at + (threshold - 1) * interval - 0.001, lambda _checker: True)
    assert not track.healthy()
    track.advance(up_at + threshold * interval, lambda _checker: True)
    assert track.healthy()


def test_checkers_that_disagree_decide_by_the_18_percent_rule() -> None:
    track = health_check_track(10.0, 1, now_s=0.0, healthy=True)
    for blind, healthy in ((set(CHECKER_REGIONS[:6]), True),  # 4 of 16 see it up: 25 %
                           (set(CHECKER_REGIONS[:7]), False)):  # 2 of 16: 12.5 %
        track.advance(track.interval_s * 10 + len(blind) * 100,
                      lambda checker, blind=blind: checker.region not in blind)
        assert track.healthy() is healthy


@pytest.fixture(scope="module")
def faults() -> FaultState:
    return FaultState((EAST, WEST))


@pytest.fixture(scope="module")
def server(faults: FaultState) -> Iterator[MotoServer]:
    moto_server = MotoServer(faults, SimClock(time_scale=SCALE))
    moto_server.start()
    yield moto_server
    moto_server.stop()


@pytest.fixture
def route53(server: MotoServer, faults: FaultState) -> Iterator[Any]:
    assert server.endpoint_url is not None
    yield sim_client("route53", EAST, server.endpoint_url)
    for region in (EAST, WEST):
        faults.restore_region(region)
        server.runtime.health.set_checkers_see_down(region)


def _health_check(route53: Any, alb: str, interval: int, threshold: int) -> str:
    return str(route53.create_health_check(CallerReference=str(uuid.uuid4()), HealthCheckConfig={
        "Type": "HTTPS", "FullyQualifiedDomainName": alb, "Port": 443,
        "ResourcePath": "/actuator/health", "RequestInterval": interval,
        "FailureThreshold": threshold})["HealthCheck"]["Id"])


def _alb(server: MotoServer, region: str) -> dict[str, Any]:
    ec2 = sim_client("ec2", region, server.endpoint_url)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{n}.0/24",
                                 AvailabilityZone=f"{region}{zone}")["Subnet"]["SubnetId"]
               for n, zone in ((1, "a"), (2, "b"))]
    return dict(sim_client("elbv2", region, server.endpoint_url).create_load_balancer(
        Name=f"lb-{uuid.uuid4().hex[:6]}", Subnets=subnets, Type="application",
    )["LoadBalancers"][0])


def _probe(route53: Any, check_id: str) -> tuple[bool, int, int]:
    return observations_healthy(route53.get_health_check_status(
        HealthCheckId=check_id)["HealthCheckObservations"])


def _wait(read: Any, until: Any, deadline_s: float = 10.0) -> Any:
    deadline = time.monotonic() + deadline_s
    seen = read()
    while not until(seen):
        assert time.monotonic() < deadline, f"gave up waiting; last seen {seen!r}"
        time.sleep(0.05)
        seen = read()
    return seen


def test_checkers_in_some_regions_seeing_it_down_do_not_fail_it(route53: Any,
                                                                server: MotoServer) -> None:
    check = _health_check(route53, "x-1.us-east-1.elb.amazonaws.com", 10, 1)
    server.runtime.health.set_checkers_see_down(EAST, CHECKER_REGIONS[:6])
    assert _wait(lambda: _probe(route53, check), lambda seen: seen[1] == 4) == (True, 4, 16)
    server.runtime.health.set_checkers_see_down(EAST, CHECKER_REGIONS[:7])
    assert _wait(lambda: _probe(route53, check), lambda seen: seen[1] == 2) == (False, 2, 16)


def test_status_and_dns_answer_change_after_interval_times_threshold(
        route53: Any, server: MotoServer, faults: FaultState) -> None:
    interval, threshold = 30, 5
    zone = str(route53.create_hosted_zone(Name=f"h{uuid.uuid4().hex[:6]}.example.com.",
                                          CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"])
    name = "api." + route53.get_hosted_zone(Id=zone)["HostedZone"]["Name"]
    albs = {region: _alb(server, region) for region in (EAST, WEST)}
    checks = {region: _health_check(route53, alb["DNSName"], interval, threshold)
              for region, alb in albs.items()}
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": name, "Type": "A", "SetIdentifier": role.lower(), "Failover": role,
            "HealthCheckId": checks[region], "AliasTarget": {
                "HostedZoneId": albs[region]["CanonicalHostedZoneId"],
                "DNSName": albs[region]["DNSName"], "EvaluateTargetHealth": False}}}
        for role, region in (("PRIMARY", EAST), ("SECONDARY", WEST))]})
    assert answer_for(name).region == EAST and _probe(route53, checks[EAST])[0]

    faults.set_endpoint(EAST, http_status=503)
    changed_at = time.monotonic()
    # no checker can count `threshold` failures before (threshold - 1) x interval
    not_before = changed_at + SimClock(SCALE).real_seconds((threshold - 1) * interval) - 0.1
    while time.monotonic() < not_before:
        healthy, successes, _ = _probe(route53, checks[EAST])
        assert healthy and answer_for(name).region == EAST, (successes, time.monotonic())
        time.sleep(0.05)
    _wait(lambda: answer_for(name).region, lambda region: region == WEST)
    # DNS moves once 18 % or fewer checkers say healthy; the last ones follow within a poll
    assert _wait(lambda: _probe(route53, checks[EAST]),
                 lambda seen: seen[1] == 0) == (False, 0, 16)
