"""Seeding the replicated stores other than RDS: DynamoDB tables, the canary and lease tables,
the MSK replicator.

The DynamoDB global table (``DYNAMODB_HASH_KEY`` + ``DYNAMODB_RANGE_KEY``, streams on) with its
DR replica; the RPO canary table (a global table, key ``pk`` (S) + ``seq`` (N), TTL on
``expires_at``, empty); the drill lease table in the DR region only; the MSK replicator
``REPLICATOR_NAME`` (in the DR region, primary -> DR, every topic and consumer group, offsets
synced). Part of ``seed.seed_topology``. Not supported: tables other than these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from maip_drlib.config import Topology
from maip_drlib.sim.aws.seed_clients import sim_client
from maip_drlib.sim.platform import create_lease_table

if TYPE_CHECKING:
    from maip_drlib.sim.aws.seed import SeedResult

REPLICATOR_NAME = "maip-prod-msk-replicator"
DYNAMODB_HASH_KEY = "merchant_id"
DYNAMODB_RANGE_KEY = "metric_date"
CANARY_HASH_KEY = "pk"  # the RPO canary table (Topology.canary_table)
CANARY_RANGE_KEY = "seq"
CANARY_TTL_ATTRIBUTE = "expires_at"


def create_global_table(endpoint_url: str, topology: Topology, table: str,
                         keys: tuple[tuple[str, str], tuple[str, str]],
                         **create_options: Any) -> str:
    """Create ``table`` in the primary with a replica in DR; return the primary's ARN.

    ``keys`` is ((hash name, type), (range name, type)).
    """
    primary = sim_client("dynamodb", topology.primary.region, endpoint_url)
    (hash_key, hash_type), (range_key, range_type) = keys
    primary.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": hash_key, "AttributeType": hash_type},
                              {"AttributeName": range_key, "AttributeType": range_type}],
        KeySchema=[{"AttributeName": hash_key, "KeyType": "HASH"},
                   {"AttributeName": range_key, "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        **create_options,
    )
    return primary.update_table(
        TableName=table,
        ReplicaUpdates=[{"Create": {"RegionName": topology.secondary.region}}],
    )["TableDescription"]["TableArn"]


def seed_dynamodb(endpoint_url: str, topology: Topology, result: SeedResult) -> None:
    result.regions[topology.primary.region].dynamodb_table_arn = create_global_table(
        endpoint_url, topology, topology.dynamodb_table,
        ((DYNAMODB_HASH_KEY, "S"), (DYNAMODB_RANGE_KEY, "S")),
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    secondary = sim_client("dynamodb", topology.secondary.region, endpoint_url)
    result.regions[topology.secondary.region].dynamodb_table_arn = secondary.describe_table(
        TableName=topology.dynamodb_table
    )["Table"]["TableArn"]


def seed_canary_table(endpoint_url: str, topology: Topology) -> None:
    """The RPO canary table: a global table with a replica in DR and TTL on ``expires_at``."""
    create_global_table(endpoint_url, topology, topology.canary_table,
                         ((CANARY_HASH_KEY, "S"), (CANARY_RANGE_KEY, "N")))
    for place in (topology.primary, topology.secondary):
        sim_client("dynamodb", place.region, endpoint_url).update_time_to_live(
            TableName=topology.canary_table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": CANARY_TTL_ATTRIBUTE},
        )


def seed_lease_table(endpoint_url: str, topology: Topology) -> None:
    """The drill lease table (docs/lease.md): in the DR region only, the one that survives."""
    create_lease_table(sim_client("dynamodb", topology.secondary.region, endpoint_url),
                       topology.lease_table)


def seed_replicator(endpoint_url: str, topology: Topology, result: SeedResult) -> None:
    source = result.regions[topology.primary.region]
    target = result.regions[topology.secondary.region]
    kafka = sim_client("kafka", topology.secondary.region, endpoint_url)
    result.replicator_arn = kafka.create_replicator(
        ReplicatorName=REPLICATOR_NAME,
        Description="MAIP primary -> DR topic replication (simulated)",
        ServiceExecutionRoleArn=f"arn:aws:iam::{result.account_id}:role/maip-msk-replicator",
        KafkaClusters=[
            {"AmazonMskCluster": {"MskClusterArn": seed.msk_cluster_arn},
             "VpcConfig": {"SubnetIds": list(seed.subnet_ids)}}
            for seed in (source, target)
        ],
        ReplicationInfoList=[{
            "SourceKafkaClusterArn": source.msk_cluster_arn,
            "TargetKafkaClusterArn": target.msk_cluster_arn,
            "TargetCompressionType": "NONE",
            "TopicReplication": {"TopicsToReplicate": [".*"]},
            "ConsumerGroupReplication": {"ConsumerGroupsToReplicate": [".*"],
                                         "SynchroniseConsumerGroupOffsets": True,
                                         "DetectAndCopyNewConsumerGroups": True},
        }],
    )["ReplicatorArn"]

