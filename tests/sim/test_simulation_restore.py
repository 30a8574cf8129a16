"""The simulation after a failover: the restored old writer (split brain), the ALB fault in
CloudWatch, weighted DNS answers in proportion, re-creating a record set of a weighted name."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from maip_drlib.actions import rds as rds_actions
from maip_drlib.actions.route53 import alias_record, change_record_sets, record_set_dict
from maip_drlib.probes import elb, rds, route53
from maip_drlib.probes.cloudwatch import latest_datapoint
from maip_drlib.regions import RegionHandles
from maip_drlib.sim.aws import runtime
from maip_drlib.sim.aws.dns_answer import answer_for
from maip_drlib.sim.simulation import Simulation
from maip_drlib.sim_client import SimulationClient

pytestmark = pytest.mark.sim


def test_restore_after_promotion_shows_two_writers(simulation: Simulation,
                                                   handles: RegionHandles) -> None:
    topo = simulation.topology
    simulation.faults.region_outage(topo.primary.region)
    rds_actions.promote_read_replica(handles.secondary, topo.secondary.rds_instance,
                                     deadline_s=30, poll_max_s=0.3)
    simulation.faults.restore_region(topo.primary.region)
    roles = rds.find_writer_and_replicas(handles, topo)
    assert roles.split_brain
    assert {(w.identifier, w.status) for w in roles.writers} == {
        (topo.primary.rds_instance, "available"), (topo.secondary.rds_instance, "available")}
    # A stopped old writer is fenced, not a writer.
    handles.primary.client("rds").stop_db_instance(DBInstanceIdentifier=topo.primary.rds_instance)
    fenced = rds.find_writer_and_replicas(handles, topo)
    assert not fenced.split_brain and [f.role for f in fenced.fenced] == ["fenced"]
    assert fenced.writer is not None and fenced.writer.identifier == topo.secondary.rds_instance


def test_alb_fault_shows_in_cloudwatch(simulation: Simulation, handles: RegionHandles) -> None:
    region = simulation.topology.primary.region
    alb = elb.load_balancer(handles.primary, simulation.topology.primary.alb_name)
    dimensions = {"LoadBalancer": alb.arn.split(":loadbalancer/", 1)[1]}
    SimulationClient(simulation.control_url).fault(
        "alb", region=region, http_5xx_count=42, target_response_time_s=2.5)
    simulation.publish_metrics_now()

    def ahead() -> datetime:  # query times travel in whole seconds: end one second ahead
        return datetime.now(UTC) + timedelta(seconds=1)

    errors = latest_datapoint(handles.primary, "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count",
                              dimensions, statistic="Maximum", window_s=4, period_s=1, now=ahead)
    latency = latest_datapoint(handles.primary, "AWS/ApplicationELB", "TargetResponseTime",
                               dimensions, statistic="Maximum", window_s=4, period_s=1, now=ahead)
    assert (errors.value, latency.value) == (42.0, 2.5)
    assert simulation.faults.snapshot().region(region).alb.http_5xx_count == 42.0
    simulation.faults.set_alb(region)
    assert simulation.faults.snapshot().region(region).alb.http_5xx_count is None


def test_weighted_pair_answers_in_proportion_and_can_become_failover_again(
        simulation: Simulation, handles: RegionHandles) -> None:
    topo = simulation.topology
    zone = route53.hosted_zone(handles.primary, topo.hosted_zone).zone_id
    failover = route53.record_sets(handles.primary, zone, topo.record_name, "A")
    albs = {place.region: elb.load_balancer(handles.by_name(place.region), place.alb_name)
            for place in (topo.primary, topo.secondary)}
    weights = {topo.primary.region: 10, topo.secondary.region: 90}
    changes = [{"Action": "DELETE", "ResourceRecordSet": record_set_dict(r)} for r in failover]
    # The first test left the primary's writer stopped, so its endpoint is unhealthy and a
    # record evaluating target health would get no answer (as in Route 53): this test is
    # about the proportions alone.
    changes += [{"Action": "CREATE", "ResourceRecordSet": alias_record(
        topo.record_name, alb.dns_name, alb.canonical_zone_id, set_identifier=f"w-{region}",
        weight=weights[region], evaluate_target_health=False)}
        for region, alb in albs.items()]
    change_record_sets(handles.primary, zone, changes, deadline_s=10)
    runtime.current().health.settle()  # earlier tests' outages: healthy again at once
    rng = random.Random(7)
    counts = Counter(answer_for(topo.record_name, rng=rng).region
                     for _ in range(2000))
    assert 0.07 < counts[topo.primary.region] / 2000 < 0.13
    weighted = route53.record_sets(handles.primary, zone, topo.record_name, "A")
    back = [{"Action": "DELETE", "ResourceRecordSet": record_set_dict(r)} for r in weighted]
    back += [{"Action": "CREATE", "ResourceRecordSet": record_set_dict(r)} for r in failover]
    change_record_sets(handles.primary, zone, back, deadline_s=10)  # moto 5.2.5 refused this
    kinds = {r.kind for r in route53.record_sets(handles.primary, zone, topo.record_name, "A")}
    assert kinds == {"failover"}
    with pytest.raises(Exception, match="already exists"):
        handles.primary.client("route53").change_resource_record_sets(
            HostedZoneId=zone, ChangeBatch={"Changes": [
                {"Action": "CREATE", "ResourceRecordSet": record_set_dict(failover[0])}]})
