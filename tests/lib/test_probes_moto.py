"""AWS probes and actions against a moto server on 127.0.0.1 (endpoint URL + dummy keys)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maip_drlib.actions.eks import update_nodegroup_scaling
from maip_drlib.actions.route53 import alias_record, change_record_sets, set_weights
from maip_drlib.config import ScalingConfig, Topology
from maip_drlib.errors import ConfigError, GuardRefused, NotFound
from maip_drlib.probes import cloudwatch, dynamodb, eks, elb, rds, route53

pytestmark = pytest.mark.sim

TOPOLOGY = Topology()
DR_ALB_ZONE_ERRATUM = "Z35SXDOTRQ7X7K"


def make_writer_and_replica(handles):
    east = handles.primary.client("rds")
    writer = east.create_db_instance(
        DBInstanceIdentifier="maip-prod-postgres", Engine="postgres",
        DBInstanceClass="db.t3.micro", MasterUsername="maip", MasterUserPassword="not-a-secret1",
        AllocatedStorage=20, BackupRetentionPeriod=7,
    )["DBInstance"]
    handles.secondary.client("rds").create_db_instance_read_replica(
        DBInstanceIdentifier="maip-prod-postgres-replica",
        SourceDBInstanceIdentifier=writer["DBInstanceArn"], SourceRegion="us-east-1",
    )
    return writer


def test_rds_roles_are_discovered(handles):
    make_writer_and_replica(handles)
    roles = rds.find_writer_and_replicas(handles, TOPOLOGY)
    assert roles.writer is not None and roles.writer.identifier == "maip-prod-postgres"
    assert roles.writer.region == "us-east-1" and roles.writer.backup_retention_days == 7
    assert not roles.split_brain
    (replica,) = roles.replicas
    assert replica.identifier == "maip-prod-postgres-replica" and replica.region == "us-west-2"
    assert replica.source_id == "maip-prod-postgres"
    assert roles.replicas_of(roles.writer) == (replica,)
    assert "writer" in str(roles)


def test_rds_missing_instance_is_not_found(handles):
    with pytest.raises(NotFound):
        rds.db_instance(handles.primary, "maip-prod-postgres")


def make_alb(handle, name):
    ec2 = handle.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{index}.0/24",
                          AvailabilityZone=f"{handle.region}{zone}")["Subnet"]["SubnetId"]
        for index, zone in enumerate("ab")
    ]
    handle.client("elbv2").create_load_balancer(Name=name, Subnets=subnets)


def test_alb_dns_name_and_zone_read_from_elbv2(handles):
    make_alb(handles.secondary, "maip-prod-dr-alb")
    alb = elb.load_balancer(handles.secondary, "maip-prod-dr-alb")
    assert alb.dns_name.endswith("us-west-2.elb.amazonaws.com")
    assert alb.canonical_zone_id and alb.canonical_zone_id != DR_ALB_ZONE_ERRATUM
    assert alb.region == "us-west-2" and alb.arn.startswith("arn:aws:elasticloadbalancing")
    with pytest.raises(NotFound):
        elb.load_balancer(handles.secondary, "absent")


@pytest.fixture
def zone(handles):
    client = handles.primary.client("route53")
    zone_id = client.create_hosted_zone(Name="maip.example.com.",
                                        CallerReference="test")["HostedZone"]["Id"]
    zone_id = zone_id.rsplit("/", 1)[-1]
    primary_check = client.create_health_check(
        CallerReference="p", HealthCheckConfig={"Type": "HTTPS",
                                                "FullyQualifiedDomainName": "primary.example.com"}
    )["HealthCheck"]["Id"]
    changes = [
        {"Action": "CREATE", "ResourceRecordSet": alias_record(
            "api.maip.example.com", "primary-alb.us-east-1.elb.amazonaws.com", "Z35SXDOTRQ7X7K",
            set_identifier="primary", failover="PRIMARY", health_check_id=primary_check)},
        {"Action": "CREATE", "ResourceRecordSet": alias_record(
            "api.maip.example.com", "dr-alb.us-west-2.elb.amazonaws.com", "Z1H1FL5HABSF5",
            set_identifier="secondary", failover="SECONDARY")},
        {"Action": "CREATE", "ResourceRecordSet": alias_record(
            "shift.maip.example.com", "primary-alb.us-east-1.elb.amazonaws.com",
            "Z35SXDOTRQ7X7K", set_identifier="us-east-1", weight=100)},
        {"Action": "CREATE", "ResourceRecordSet": alias_record(
            "shift.maip.example.com", "dr-alb.us-west-2.elb.amazonaws.com", "Z1H1FL5HABSF5",
            set_identifier="us-west-2", weight=0)},
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": "www.maip.example.com.", "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.10"}]}},
    ]
    client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return zone_id, primary_check


def test_zone_and_record_forms_are_parsed(handles, zone):
    zone_id, primary_check = zone
    found = route53.hosted_zone(handles.secondary, "maip.example.com")
    assert found.zone_id == zone_id and found.name == "maip.example.com."
    failover = route53.record_sets(handles.secondary, zone_id, "api.maip.example.com", "A")
    assert {(item.kind, item.failover) for item in failover} == {
        ("failover", "PRIMARY"), ("failover", "SECONDARY")
    }
    primary = next(item for item in failover if item.failover == "PRIMARY")
    assert primary.health_check_id == primary_check
    assert primary.alias is not None and primary.alias.hosted_zone_id == "Z35SXDOTRQ7X7K"
    weighted = route53.record_sets(handles.primary, zone_id, "shift.maip.example.com")
    assert {(item.set_identifier, item.weight) for item in weighted} == {
        ("us-east-1", 100), ("us-west-2", 0)
    }
    (simple,) = route53.record_sets(handles.primary, zone_id, "www.maip.example.com")
    assert simple.kind == "simple" and simple.values == ("192.0.2.10",) and simple.ttl == 60
    with pytest.raises(NotFound):
        route53.hosted_zone(handles.primary, "nothing.example.com")


def test_simple_record_beside_failover_pair_is_refused_locally(handles, zone):
    zone_id, _ = zone
    runbook_change = {"Action": "UPSERT", "ResourceRecordSet": alias_record(
        "api.maip.example.com", "maip-prod-dr-alb.us-west-2.elb.amazonaws.com", "Z35SXDOTRQ7X7K")}
    with pytest.raises(GuardRefused, match=r"simple A record api\.maip\.example\.com\."):
        change_record_sets(handles.primary, zone_id, [runbook_change])
    kinds = {item.kind for item in route53.record_sets(handles.primary, zone_id,
                                                        "api.maip.example.com")}
    assert kinds == {"failover"}


def test_replacing_the_pair_by_a_simple_record_in_one_batch_is_allowed(handles, zone):
    zone_id, _ = zone
    from maip_drlib.actions.route53 import record_set_dict

    pair = route53.record_sets(handles.primary, zone_id, "api.maip.example.com", "A")
    changes = [{"Action": "DELETE", "ResourceRecordSet": record_set_dict(item)} for item in pair]
    changes.append({"Action": "CREATE", "ResourceRecordSet": alias_record(
        "api.maip.example.com", "dr-alb.us-west-2.elb.amazonaws.com", "Z1H1FL5HABSF5")})
    status = change_record_sets(handles.primary, zone_id, changes, deadline_s=10)
    assert status.status == "INSYNC"
    (simple,) = route53.record_sets(handles.primary, zone_id, "api.maip.example.com")
    assert simple.kind == "simple"


def test_set_weights_of_weighted_pair(handles, zone):
    zone_id, _ = zone
    status = set_weights(handles.primary, zone_id, "shift.maip.example.com",
                         {"us-east-1": 10, "us-west-2": 90}, deadline_s=10)
    assert status.status == "INSYNC"
    weights = {item.set_identifier: item.weight for item in
               route53.record_sets(handles.primary, zone_id, "shift.maip.example.com")}
    assert weights == {"us-east-1": 10, "us-west-2": 90}
    with pytest.raises(ConfigError):
        set_weights(handles.primary, zone_id, "shift.maip.example.com", {"us-east-1": 300})
    with pytest.raises(NotFound):
        set_weights(handles.primary, zone_id, "shift.maip.example.com", {"eu-west-1": 1})


def test_health_check_majority_rule(handles, zone):
    _, primary_check = zone
    status = route53.health_check_status(handles.primary, primary_check)
    assert status.checkers_total >= 1
    assert status.healthy == (status.checkers_success * 2 > status.checkers_total)


def test_dynamodb_describe(handles):
    handles.primary.client("dynamodb").create_table(
        TableName="maip-prod-merchant-analytics",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    fact = dynamodb.global_table(handles.primary, "maip-prod-merchant-analytics")
    assert fact.status == "ACTIVE" and fact.region == "us-east-1"
    with pytest.raises(NotFound):
        dynamodb.global_table(handles.secondary, "maip-prod-merchant-analytics")


def test_cloudwatch_latest_datapoint_uses_full_dimensions(handles):
    client = handles.primary.client("cloudwatch")
    now = datetime.now(UTC)
    for receiving, minutes_ago, value in (("us-west-2", 10, 900.0), ("us-west-2", 2, 1500.0),
                                          ("eu-west-1", 1, 99999.0)):
        client.put_metric_data(Namespace="AWS/DynamoDB", MetricData=[{
            "MetricName": "ReplicationLatency", "Unit": "Milliseconds", "Value": value,
            "Timestamp": now - timedelta(minutes=minutes_ago),
            "Dimensions": [{"Name": "TableName", "Value": "maip-prod-merchant-analytics"},
                           {"Name": "ReceivingRegion", "Value": receiving}],
        }])
    lag = dynamodb.replication_latency(handles.primary, "maip-prod-merchant-analytics",
                                       "us-west-2", period_s=60)
    assert lag.seconds == pytest.approx(1.5)
    assert lag.measured_at is not None
    empty = cloudwatch.latest_datapoint(handles.primary, "AWS/RDS", "ReplicaLag",
                                        {"DBInstanceIdentifier": "absent"})
    assert empty.value is None and "no datapoint" in str(empty)
    assert rds.replica_lag(handles.secondary, "maip-prod-postgres-replica").seconds is None


def test_eks_cluster_and_nodegroup(handles):
    client = handles.secondary.client("eks")
    client.create_cluster(name="maip-prod-dr-eks-cluster",
                          roleArn="arn:aws:iam::123456789012:role/eks",
                          resourcesVpcConfig={"subnetIds": ["subnet-1"]})
    client.create_nodegroup(clusterName="maip-prod-dr-eks-cluster",
                            nodegroupName="maip-prod-dr-nodegroup",
                            nodeRole="arn:aws:iam::123456789012:role/node", subnets=["subnet-1"],
                            scalingConfig={"minSize": 1, "maxSize": 20, "desiredSize": 2})
    status = eks.cluster_status(handles.secondary, "maip-prod-dr-eks-cluster")
    assert status.status == "ACTIVE"
    state = eks.nodegroup_state(handles.secondary, "maip-prod-dr-eks-cluster",
                                "maip-prod-dr-nodegroup", include_updates=False)
    assert state.scaling == ScalingConfig(min_size=1, max_size=20, desired_size=2)
    with pytest.raises(NotFound):
        eks.cluster_status(handles.primary, "maip-prod-dr-eks-cluster")


def test_nodegroup_scaling_validated_before_any_call(handles):
    with pytest.raises(ConfigError, match="min <= desired <= max"):
        update_nodegroup_scaling(handles.secondary, "absent-cluster", "absent",
                                 ScalingConfig(min_size=8, max_size=20, desired_size=4))
