"""Seed the whole MAIP topology, in both regions, into the running moto server through boto3.

What exists after ``seed_topology`` (names from ``Topology``): per region a VPC with two
subnets, the EKS cluster and node group (at the region's ``standby_scaling``), the MSK cluster
(ACTIVE) and the ALB with a target group and two registered targets; per region a KMS key
(``SIMULATED_KMS_ALIAS``, plus the alias the topology's ``kms_key_id`` names there); in
us-east-1 the RDS postgres writer (automated backups on; encrypted with the primary's key when
the topology names one, ``kms_key_id``, else unencrypted: the topology's documented meaning)
and in us-west-2 its cross-region read replica (source given as ARN, ``KmsKeyId`` the DR key;
already ``available``: the seeded platform predates the drill, ``rds_phases.settle_all``); the
MSK replicator ``maip-prod-msk-replicator`` (in the DR region, primary ->
DR, every topic and consumer group, consumer group offsets synced); the DynamoDB global
table with its replica; the RPO canary table (``canary_table``: a
global table with its replica, key ``pk`` (S) + ``seq`` (N), TTL on ``expires_at``, empty);
the hosted zone with the ``api`` A-alias FAILOVER pair (PRIMARY -> primary ALB, SECONDARY ->
DR ALB, EvaluateTargetHealth, one HTTPS health check each on ``health_path``). ALB DNS names
and zone ids are read from ELBv2.
Per region, the ECR repositories ``maip/<service>`` with one image tagged
``SIMULATED_IMAGE_TAG`` (the tag the simulation's deployments run; the manifest is a small
dummy, no layers); the Secrets Manager secrets the readiness preflight requires, created in the
primary region and replicated to DR (dummy values, never real secrets).

Not supported: seeding into anything but the simulation's loopback server, re-seeding an
already seeded server (names collide), HTTPS listeners (the ALBs listen on HTTP 80: no ACM
certificate is simulated), IAM roles (role ARNs are formatted, never created), a topology
``kms_key_id`` that is a key id or key ARN (the simulation cannot choose a key's id: name an
alias, ``alias/NAME`` or an alias ARN).

The stores other than RDS are seeded by ``seed_stores`` (their constants are importable from
here); the seeding's clients are in ``seed_clients``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from maip_drlib.config import RegionTopology, Topology
from maip_drlib.sim.aws.seed_clients import release_clients, sim_client
from maip_drlib.sim.aws.seed_rds import (  # noqa: F401  (SIMULATED_*: this module's API)
    SIMULATED_DB_PASSWORD,
    SIMULATED_KMS_ALIAS,
    seed_rds,
)
from maip_drlib.sim.aws.seed_stores import (  # noqa: F401  (the constants: this module's API)
    CANARY_HASH_KEY,
    CANARY_RANGE_KEY,
    CANARY_TTL_ATTRIBUTE,
    DYNAMODB_HASH_KEY,
    DYNAMODB_RANGE_KEY,
    REPLICATOR_NAME,
    seed_canary_table,
    seed_dynamodb,
    seed_lease_table,
    seed_replicator,
)
from maip_drlib.sim.platform import MAIP_SECRETS, MAIP_SERVICES

_VPC_CIDRS = {0: "10.10.0.0/16", 1: "10.20.0.0/16"}
SIMULATED_IMAGE_TAG = "1.42.0"  # the tag of every simulated deployment's image
SIMULATED_SECRET_VALUE = '{"note": "simulated dummy, not a secret"}'


@dataclass(frozen=True)
class AlbHealth:
    """How the ALB target groups health-check their targets."""

    protocol: str = "HTTP"
    port: int = 8080
    path: str | None = None  # None: the topology's health_path


@dataclass
class RegionSeed:
    """What was created in one region."""

    region: str
    vpc_id: str = ""
    subnet_ids: tuple[str, ...] = ()
    eks_cluster_arn: str = ""
    nodegroup_arn: str = ""
    msk_cluster_arn: str = ""
    alb_arn: str = ""
    alb_dns_name: str = ""
    alb_hosted_zone_id: str = ""
    target_group_arn: str = ""
    dynamodb_table_arn: str = ""


@dataclass
class SeedResult:
    """The ids, ARNs and DNS names the lead needs, by region where it applies."""

    endpoint_url: str
    account_id: str
    regions: dict[str, RegionSeed] = field(default_factory=dict)
    hosted_zone_id: str = ""  # bare id, without "/hostedzone/"
    health_check_ids: dict[str, str] = field(default_factory=dict)
    record_set_identifiers: dict[str, str] = field(default_factory=dict)
    rds_arns: dict[str, str] = field(default_factory=dict)  # by DBInstanceIdentifier
    replicator_arn: str = ""
    ecr_images: dict[str, tuple[str, ...]] = field(default_factory=dict)  # region -> repo:tag
    secret_arns: dict[str, str] = field(default_factory=dict)  # by name (primary ARN)
    kms_key_arns: dict[str, str] = field(default_factory=dict)  # region -> RDS key ARN

    @property
    def alb_dns_names(self) -> dict[str, str]:
        return {region: seed.alb_dns_name for region, seed in self.regions.items()}

    @property
    def alb_hosted_zone_ids(self) -> dict[str, str]:
        return {region: seed.alb_hosted_zone_id for region, seed in self.regions.items()}


def _seed_network(ec2: Any, seed: RegionSeed, cidr: str) -> None:
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    prefix = cidr.split(".0.0/")[0]
    subnets = []
    for index, zone in enumerate(("a", "b")):
        subnet = ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"{prefix}.{index * 64}.0/18",
            AvailabilityZone=f"{seed.region}{zone}",
        )
        subnets.append(subnet["Subnet"]["SubnetId"])
    seed.vpc_id = vpc_id
    seed.subnet_ids = tuple(subnets)


def _seed_eks(eks: Any, seed: RegionSeed, place: RegionTopology, account_id: str) -> None:
    role = f"arn:aws:iam::{account_id}:role/{place.eks_cluster}-role"
    seed.eks_cluster_arn = eks.create_cluster(
        name=place.eks_cluster,
        version="1.30",
        roleArn=role,
        resourcesVpcConfig={"subnetIds": list(seed.subnet_ids)},
    )["cluster"]["arn"]
    scaling = place.standby_scaling
    seed.nodegroup_arn = eks.create_nodegroup(
        clusterName=place.eks_cluster,
        nodegroupName=place.nodegroup,
        nodeRole=f"arn:aws:iam::{account_id}:role/{place.nodegroup}-role",
        subnets=list(seed.subnet_ids),
        scalingConfig={
            "minSize": scaling.min_size,
            "maxSize": scaling.max_size,
            "desiredSize": scaling.desired_size,
        },
        instanceTypes=["m6i.xlarge"],
    )["nodegroup"]["nodegroupArn"]


def _seed_msk(kafka: Any, seed: RegionSeed, place: RegionTopology) -> None:
    seed.msk_cluster_arn = kafka.create_cluster_v2(
        ClusterName=place.msk_cluster,
        Provisioned={
            "BrokerNodeGroupInfo": {
                "InstanceType": "kafka.m5.large",
                "ClientSubnets": list(seed.subnet_ids),
            },
            "KafkaVersion": "3.6.0",
            "NumberOfBrokerNodes": 2,
        },
    )["ClusterArn"]


def _seed_alb(elbv2: Any, seed: RegionSeed, place: RegionTopology, health_path: str,
              alb_health: AlbHealth, cidr: str) -> None:
    balancer = elbv2.create_load_balancer(
        Name=place.alb_name, Subnets=list(seed.subnet_ids), Scheme="internet-facing",
        Type="application",
    )["LoadBalancers"][0]
    seed.alb_arn = balancer["LoadBalancerArn"]
    seed.alb_dns_name = balancer["DNSName"]
    seed.alb_hosted_zone_id = balancer["CanonicalHostedZoneId"]
    group = elbv2.create_target_group(
        Name=f"{place.alb_name}-tg"[:32],
        Protocol="HTTP",
        Port=alb_health.port,
        VpcId=seed.vpc_id,
        TargetType="ip",
        HealthCheckProtocol=alb_health.protocol,
        HealthCheckPort=str(alb_health.port),
        HealthCheckPath=alb_health.path or health_path,
    )["TargetGroups"][0]
    seed.target_group_arn = group["TargetGroupArn"]
    prefix = cidr.split(".0.0/")[0]
    elbv2.register_targets(
        TargetGroupArn=seed.target_group_arn,
        Targets=[{"Id": f"{prefix}.{block}.10", "Port": alb_health.port} for block in (0, 64)],
    )
    elbv2.create_listener(
        LoadBalancerArn=seed.alb_arn, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": seed.target_group_arn}],
    )


def _seed_region(endpoint_url: str, place: RegionTopology, topology: Topology, cidr: str,
                 account_id: str, alb_health: AlbHealth) -> RegionSeed:
    seed = RegionSeed(region=place.region)
    _seed_network(sim_client("ec2", place.region, endpoint_url), seed, cidr)
    _seed_eks(sim_client("eks", place.region, endpoint_url), seed, place, account_id)
    _seed_msk(sim_client("kafka", place.region, endpoint_url), seed, place)
    _seed_alb(sim_client("elbv2", place.region, endpoint_url), seed, place,
              topology.health_path, alb_health, cidr)
    return seed


def _seed_rds(endpoint_url: str, topology: Topology, result: SeedResult) -> None:
    seed_rds(lambda service, region: sim_client(service, region, endpoint_url), topology,
             result.account_id, result.rds_arns, result.kms_key_arns)


def _seed_route53(endpoint_url: str, topology: Topology, result: SeedResult) -> None:
    route53 = sim_client("route53", "us-east-1", endpoint_url)
    zone = route53.create_hosted_zone(
        Name=topology.hosted_zone, CallerReference=f"maip-seed-{uuid.uuid4()}"
    )["HostedZone"]
    result.hosted_zone_id = zone["Id"].rsplit("/", 1)[-1]
    changes = []
    for role, place in (("PRIMARY", topology.primary), ("SECONDARY", topology.secondary)):
        seed = result.regions[place.region]
        health_check_id = route53.create_health_check(
            CallerReference=f"maip-{place.region}-{uuid.uuid4()}",
            HealthCheckConfig={
                "Type": "HTTPS",
                "FullyQualifiedDomainName": seed.alb_dns_name,
                "Port": 443,
                "ResourcePath": topology.health_path,
                "RequestInterval": 10,
                "FailureThreshold": 3,
            },
        )["HealthCheck"]["Id"]
        result.health_check_ids[place.region] = health_check_id
        set_identifier = f"{role.lower()}-{place.region}"
        result.record_set_identifiers[place.region] = set_identifier
        changes.append({
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": topology.record_name,
                "Type": "A",
                "SetIdentifier": set_identifier,
                "Failover": role,
                "HealthCheckId": health_check_id,
                "AliasTarget": {
                    "HostedZoneId": seed.alb_hosted_zone_id,
                    "DNSName": seed.alb_dns_name,
                    "EvaluateTargetHealth": True,
                },
            },
        })
    route53.change_resource_record_sets(
        HostedZoneId=result.hosted_zone_id,
        ChangeBatch={"Comment": "MAIP failover pair (seed)", "Changes": changes},
    )


def image_manifest(service: str) -> str:
    """A small Docker v2 manifest; the config digest differs per service, so do image digests."""
    digest = hashlib.sha256(f"maip/{service}:{SIMULATED_IMAGE_TAG}".encode()).hexdigest()
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": 1024, "digest": f"sha256:{digest}"},
        "layers": [],
    })


def _seed_ecr(endpoint_url: str, region: str, services: tuple[str, ...]) -> tuple[str, ...]:
    ecr = sim_client("ecr", region, endpoint_url)
    pushed = []
    for service in services:
        repository = f"maip/{service}"
        ecr.create_repository(repositoryName=repository)
        ecr.put_image(repositoryName=repository, imageManifest=image_manifest(service),
                      imageTag=SIMULATED_IMAGE_TAG)
        pushed.append(f"{repository}:{SIMULATED_IMAGE_TAG}")
    return tuple(pushed)


def _seed_secrets(endpoint_url: str, topology: Topology, names: tuple[str, ...],
                  result: SeedResult) -> None:
    manager = sim_client("secretsmanager", topology.primary.region, endpoint_url)
    for name in names:
        result.secret_arns[name] = manager.create_secret(
            Name=name, SecretString=SIMULATED_SECRET_VALUE,
            Description="MAIP DR simulation: dummy value",
            AddReplicaRegions=[{"Region": topology.secondary.region}],
        )["ARN"]


def seed_topology(endpoint_url: str, topology: Topology, *,
                  alb_health: AlbHealth | None = None,
                  services: tuple[str, ...] | None = None,
                  secret_names: tuple[str, ...] | None = None) -> SeedResult:
    """Create the MAIP topology in both regions of the simulation at ``endpoint_url``.

    ``services`` (ECR repositories) default to the simulation's services; ``secret_names``
    to the secrets the readiness preflight requires.
    """
    alb_health, services, secret_names = seeding_arguments(alb_health, services, secret_names)
    try:
        return _seed_all(endpoint_url, topology, alb_health, services, secret_names)
    finally:
        release_clients(endpoint_url)


def seeding_arguments(alb_health: AlbHealth | None, services: tuple[str, ...] | None,
                      secret_names: tuple[str, ...] | None,
                      ) -> tuple[AlbHealth, tuple[str, ...], tuple[str, ...]]:
    """``seed_topology``'s optional arguments with their defaults filled in."""
    return (alb_health or AlbHealth(), MAIP_SERVICES if services is None else services,
            MAIP_SECRETS if secret_names is None else secret_names)


def _seed_all(endpoint_url: str, topology: Topology, alb_health: AlbHealth,
              services: tuple[str, ...], secret_names: tuple[str, ...]) -> SeedResult:
    account_id = sim_client("sts", "us-east-1", endpoint_url).get_caller_identity()["Account"]
    result = SeedResult(endpoint_url=endpoint_url, account_id=account_id)
    places = (topology.primary, topology.secondary)
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="maip-seed") as pool:
        rds = pool.submit(_seed_rds, endpoint_url, topology, result)
        regional = [
            pool.submit(_seed_region, endpoint_url, place, topology, _VPC_CIDRS[index],
                        account_id, alb_health)
            for index, place in enumerate(places)
        ]
        images = {place.region: pool.submit(_seed_ecr, endpoint_url, place.region, services)
                  for place in places}
        secrets = pool.submit(_seed_secrets, endpoint_url, topology, secret_names, result)
        for place, future in zip(places, regional, strict=True):
            result.regions[place.region] = future.result()
        rds.result()
        secrets.result()
        result.ecr_images = {region: future.result() for region, future in images.items()}
    seed_dynamodb(endpoint_url, topology, result)
    seed_canary_table(endpoint_url, topology)
    seed_lease_table(endpoint_url, topology)
    seed_replicator(endpoint_url, topology, result)
    _seed_route53(endpoint_url, topology, result)
    return result
