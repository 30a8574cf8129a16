"""The simulation as strict as AWS where regions meet names (issue 14 item 6): STS is regional
(a us-east-1 outage takes sts.us-east-1 with it; the DR side signs for us-west-2) and MSK's
``ReplicatorNameFilter`` keeps names that start with it; the suite's probe does not rely on a
substring filter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

from maip_drlib.config import RegionConnection, Target
from maip_drlib.probes import msk
from maip_drlib.regions import build_region_handles
from maip_drlib.sim.aws.clients import sim_client
from maip_drlib.sim.aws.server import MotoServer
from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.faults import FaultState

pytestmark = pytest.mark.sim

REGIONS = ("us-east-1", "us-west-2")
CLOSED = (ConnectionClosedError, EndpointConnectionError)


@pytest.fixture(scope="module")
def faults() -> FaultState:
    return FaultState(REGIONS)


@pytest.fixture(scope="module")
def url(faults: FaultState) -> Iterator[str]:
    server = MotoServer(faults, SimClock(time_scale=0.6))
    server.start()
    assert server.endpoint_url is not None
    try:
        yield server.endpoint_url
    finally:
        server.stop()


def _replicator(url: str, name: str) -> None:
    arn = "arn:aws:kafka:{r}:123456789012:cluster/c/{r}"
    sim_client("kafka", "us-west-2", url).create_replicator(
        ReplicatorName=name, ServiceExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        KafkaClusters=[{"AmazonMskCluster": {"MskClusterArn": arn.format(r=r)},
                        "VpcConfig": {"SubnetIds": ["subnet-1"]}} for r in REGIONS],
        ReplicationInfoList=[{
            "SourceKafkaClusterArn": arn.format(r="us-east-1"),
            "TargetKafkaClusterArn": arn.format(r="us-west-2"),
            "TargetCompressionType": "NONE",
            "TopicReplication": {"TopicsToReplicate": [".*"]},
            "ConsumerGroupReplication": {"ConsumerGroupsToReplicate": [".*"]}}])


def test_replicator_name_filter_is_a_prefix_and_the_probe_matches_a_fragment(url: str) -> None:
    _replicator(url, "prod-maip-replicator")
    _replicator(url, "maip-dr-replicator")
    kafka = sim_client("kafka", "us-west-2", url)
    listed = kafka.list_replicators(ReplicatorNameFilter="maip")["Replicators"]
    assert [item["ReplicatorName"] for item in listed] == ["maip-dr-replicator"]
    assert kafka.list_replicators(ReplicatorNameFilter="replicator")["Replicators"] == []
    target = Target(name="t", kind="sim",
                    primary=RegionConnection("us-east-1", "p", endpoint_url=url),
                    secondary=RegionConnection("us-west-2", "s", endpoint_url=url))
    handles = build_region_handles(target)
    found = msk.replicators(handles.secondary, "maip")
    assert sorted(fact.name for fact in found) == ["maip-dr-replicator", "prod-maip-replicator"]
    handles.close()


def test_a_us_east_1_outage_takes_its_sts_and_spares_us_west_2s(url: str,
                                                               faults: FaultState) -> None:
    faults.region_outage("us-east-1", "refuse")
    try:
        with pytest.raises(CLOSED):
            sim_client("sts", "us-east-1", url).get_caller_identity()
        assert sim_client("sts", "us-west-2", url).get_caller_identity()["Account"]
        assert "HostedZones" in sim_client("route53", "us-east-1", url).list_hosted_zones()
    finally:
        faults.restore_region("us-east-1")
