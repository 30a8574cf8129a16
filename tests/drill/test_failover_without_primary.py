"""Failover 3-5 on a ``live``-kind target during a us-east-1 outage ask nothing of us-east-1
(issue 14 item 6): no ELBv2, EC2, RDS, CloudWatch or STS call signed for the region declared
down, and no Kubernetes client of it. Where clients land is judged as a live target judges it
(a DNS answer that names no region, matched against the ALBs' addresses): the DR ALB from
ELBv2 in DR, the primary's name from facts read before the outage or from Route 53.

The live-kind target is the embedded simulation's own endpoints with ``kind="live"`` (live
retry policy, credentials from the environment: the simulation's dummy keys); the outage is
injected from outside the drill, in the simulation's fault state.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from typing import Any

import pytest

from maip_drlib.drill import clients_landing, failover, region_facts
from maip_drlib.drill.context import DrillContext, DrillOptions, OutageDeclaration, PollPolicy
from maip_drlib.probes import elb
from maip_drlib.regions import GLOBAL_SERVICE_REGION, RegionHandles, build_region_handles
from maip_drlib.resolvers import ResolvedAddress, SimulationResolver
from maip_drlib.sim.simulation import SimSettings, Simulation
from maip_drlib.write_gate import WriteGate

pytestmark = pytest.mark.sim

PRIMARY, DR = "us-east-1", "us-west-2"
ELSEWHERE = "127.0.0.9"  # where a primary answer points; never dialled (DR serves)


@pytest.fixture(scope="module")
def simulation() -> Iterator[Simulation]:
    with Simulation(settings=SimSettings(time_scale=0.2, metric_period_s=0.5)) as running:
        yield running


class _LiveLikeAnswers:
    """The simulation's DNS answer as a live target's resolver gives it: no region named."""

    def __init__(self, control_url: str):
        self.inner = SimulationResolver(control_url)

    def resolve(self, hostname: str, port: int) -> ResolvedAddress:
        answer = self.inner.resolve(hostname, port)
        host = answer.host if f"region {DR}" in answer.detail else ELSEWHERE
        return ResolvedAddress(host=host, port=answer.port, detail="DNS answer", ttl_s=None)


def _count(calls: list[tuple[str, str]], region: str, event_name: str, **_: Any) -> None:
    service = event_name.split(".")[1]
    calls.append((region, service))


def test_failover_3_to_5_on_a_live_target_make_no_call_to_the_region_declared_down(
        simulation: Simulation, monkeypatch: pytest.MonkeyPatch) -> None:
    sim_target = simulation.target()
    topology = simulation.topology
    sim_handles = build_region_handles(sim_target, topology,
                                       writes=WriteGate.consented(target=sim_target.name))
    albs = {region: elb.load_balancer(sim_handles.by_name(region),
                                      topology.region(region).alb_name).dns_name
            for region in (PRIMARY, DR)}
    dr_answer = SimulationResolver(sim_target.control_url or "").resolve(
        topology.record_name, 443)
    addresses = {albs[DR]: dr_answer.host, albs[PRIMARY]: ELSEWHERE}

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple]:
        if host not in addresses:  # everything else (the simulation's own endpoints)
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (addresses[host], port))]

    monkeypatch.setattr(clients_landing.socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    declared = DrillOptions(execute=True, declared_outage=OutageDeclaration.now("us-east-1"))
    simulation.faults.region_outage(PRIMARY)
    # The promotion, through the simulation's own target (not what this test is about).
    sim_ctx = DrillContext(handles=sim_handles, topology=topology, target=sim_target,
                           resolver=SimulationResolver(sim_target.control_url or ""),
                           options=declared, poll=PollPolicy(0.1, 0.3))
    failover.stage_2_promote(sim_ctx)
    sim_handles.close()

    live_target = replace(sim_target, name="live", kind="live", control_url=None,
                          time_scale=None)
    handles: RegionHandles = build_region_handles(
        live_target, topology, writes=WriteGate.consented(target="live"))
    calls: list[tuple[str, str]] = []
    for handle in handles:
        handle.session.events.register("before-call", partial(_count, calls, handle.region))
    ctx = DrillContext(handles=handles, topology=topology, target=live_target,
                       resolver=_LiveLikeAnswers(sim_target.control_url or ""),
                       options=declared, poll=PollPolicy(0.1, 0.3))
    try:
        outcomes = [failover.stage_3_route_clients(ctx), failover.stage_4_scale_dr(ctx),
                    failover.stage_5_dr_serves(ctx)]
    finally:
        handles.close()
    assert [o.stage for o in outcomes] == ["failover 3", "failover 4", "failover 5"]
    assert f"= {albs[DR]}" in outcomes[2].facts["resolves"]
    # Event names carry the service id: "route-53", "iam" (global, signed for us-east-1).
    global_services = {"route-53", *GLOBAL_SERVICE_REGION}
    assert [call for call in calls if call[0] == PRIMARY
            and call[1] not in global_services] == []
    assert (DR, "rds") in calls and (DR, "elastic-load-balancing-v2") in calls
    assert handles.primary._api_client is None  # no Kubernetes client of the primary


def test_the_primary_albs_name_comes_from_route53_when_declared_down(
        simulation: Simulation) -> None:
    """No fact remembered: Route 53's record (global) names the primary ALB, ELBv2 there is
    not asked; with facts remembered, not even Route 53 is."""
    target = simulation.target()
    handles = build_region_handles(target, simulation.topology)
    ctx = DrillContext(handles=handles, topology=simulation.topology, target=target,
                       resolver=SimulationResolver(target.control_url or ""),
                       options=DrillOptions(declared_outage=OutageDeclaration.now("x")))
    try:
        names = region_facts.alb_dns_names(ctx)
        assert set(names) <= {PRIMARY, DR} and DR in names
        ctx.region_facts["alb_dns_name:us-east-1"] = "remembered.us-east-1.elb.amazonaws.com"
        assert region_facts.alb_dns_names(ctx)[PRIMARY] == (
            "remembered.us-east-1.elb.amazonaws.com")
    finally:
        handles.close()
