"""The typed, immutable configuration: one topology and named targets (DESIGN.md section 3).

Defaults are the runbook's names. Loading and validating a TOML file lives in
``config_loader``; this module only defines the shapes. Nothing here reads the process
environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from maip_drlib.evidence.record_people import Participant

PRIMARY_REGION = "us-east-1"
SECONDARY_REGION = "us-west-2"
SUPPORTED_REGIONS = frozenset({PRIMARY_REGION, SECONDARY_REGION})

TargetKind = Literal["embedded", "sim", "live"]
TARGET_KINDS: tuple[str, ...] = ("embedded", "sim", "live")

# Credentials used for simulated targets only: moto accepts any key, so a simulation never
# needs, and never receives, a real credential.
SIM_ACCESS_KEY_ID = "testing"
SIM_SECRET_ACCESS_KEY = "testing"  # a documented dummy value, not a secret

# Bounds a config file is held to (config_loader; docs/configuration-errors.md): a typo such
# as a million replicas or a lease that outlives the operator must not reach a platform.
MAX_REPLICAS = 1000            # topology.failover_replicas
MAX_NODEGROUP_SIZE = 1000      # min/desired/max of every scaling triple
LEASE_TTL_MIN_S = 15.0         # the lease is renewed well within its TTL: shorter flaps
LEASE_TTL_MAX_S = 3600.0       # a crashed holder blocks the next drill at most an hour
# The drill scales every deployment of the services' namespace: never a cluster's own
# (kube-system, kube-public, kube-node-lease, any kube-*) nor "default", which holds
# whatever else was deployed without a namespace.
RESERVED_NAMESPACE_PREFIX = "kube-"
RESERVED_NAMESPACES = frozenset({"default"})


@dataclass(frozen=True)
class ScalingConfig:
    """A node group scaling triple; valid when ``0 <= min <= desired <= max``."""

    min_size: int
    max_size: int
    desired_size: int

    def problems(self) -> list[str]:
        if not (0 <= self.min_size <= self.desired_size <= self.max_size):
            return [
                f"needs 0 <= min <= desired <= max, got min={self.min_size} "
                f"desired={self.desired_size} max={self.max_size}"
            ]
        return []


@dataclass(frozen=True)
class RegionTopology:
    """What MAIP runs in one region, by name."""

    region: str
    kube_context: str
    aws_profile: str
    eks_cluster: str
    nodegroup: str
    rds_instance: str
    msk_cluster: str
    alb_name: str
    standby_scaling: ScalingConfig
    # The KMS key that encrypts RDS in this region (a key id, key ARN, alias/NAME or alias
    # ARN): cross-region replicas created in this region pass it as ``KmsKeyId``. None: the
    # source is taken as unencrypted (AWS refuses an encrypted source's replica without it).
    kms_key_id: str | None = None


@dataclass(frozen=True)
class Topology:
    """The platform both regions host; defaults are the runbook's names."""

    primary: RegionTopology = field(
        default_factory=lambda: RegionTopology(
            region=PRIMARY_REGION,
            kube_context="maip-prod",
            aws_profile="maip-prod",
            eks_cluster="maip-prod-eks-cluster",
            nodegroup="maip-prod-nodegroup",
            rds_instance="maip-prod-postgres",
            msk_cluster="maip-prod-kafka",
            alb_name="maip-prod-alb",
            standby_scaling=ScalingConfig(min_size=4, max_size=20, desired_size=8),
        )
    )
    secondary: RegionTopology = field(
        default_factory=lambda: RegionTopology(
            region=SECONDARY_REGION,
            kube_context="maip-prod-dr",
            aws_profile="maip-prod-dr",
            eks_cluster="maip-prod-dr-eks-cluster",
            nodegroup="maip-prod-dr-nodegroup",
            rds_instance="maip-prod-postgres-replica",
            msk_cluster="maip-prod-dr-kafka",
            alb_name="maip-prod-dr-alb",
            standby_scaling=ScalingConfig(min_size=1, max_size=20, desired_size=2),
        )
    )
    namespace: str = "maip-services"
    failover_scaling: ScalingConfig = field(
        default_factory=lambda: ScalingConfig(min_size=4, max_size=20, desired_size=8)
    )
    failover_replicas: int = 4
    failback_replica: str = "maip-prod-postgres-new"
    dynamodb_table: str = "maip-prod-merchant-analytics"
    # RPO canaries (DESIGN.md section 5): a dedicated global table with a TTL, written only
    # by game days (an action, never a readiness probe); never the business table above.
    canary_table: str = "maip-dr-canaries"
    # MSK RPO canaries: a dedicated topic on the primary cluster (game days only), read in DR
    # under the name the replicator gives it (``<alias>.<topic>`` or the same name).
    canary_topic: str = "maip-dr-canaries"
    # The consumers' view in DR (failover 5, read-only): a business topic on the primary
    # cluster and the consumer group reading it, whose offsets the replicator syncs to DR.
    business_topic: str = "payments"
    consumer_group: str = "payments-processor"
    replicator_name_contains: str = "maip"
    hosted_zone: str = "maip.example.com."
    record_name: str = "api.maip.example.com"
    health_path: str = "/actuator/health"
    # One drill at a time (docs/lease.md): the lease table in the DR region and its TTL.
    lease_table: str = "maip-dr-drill-lease"
    lease_ttl_s: float = 60.0

    def region(self, name: str) -> RegionTopology:
        for candidate in (self.primary, self.secondary):
            if candidate.region == name:
                return candidate
        raise KeyError(name)

    @property
    def rds_candidates(self) -> tuple[str, ...]:
        """Instance names that may hold the writer or a replica, in any drill phase."""
        return (self.primary.rds_instance, self.secondary.rds_instance, self.failback_replica)


@dataclass(frozen=True)
class RegionConnection:
    """How to reach one region: AWS credentials source, endpoint and Kubernetes access.

    ``profile`` None means the default credential chain (IRSA, instance role). Simulated
    targets use the fixed dummy credentials above and never a profile.
    """

    region: str
    kube_context: str
    profile: str | None = None
    endpoint_url: str | None = None
    kubeconfig: Path | None = None
    # Live only: an IAM role assumed (from ``profile`` or the default chain) through this
    # region's own STS endpoint, and the external id its trust policy requires (docs/iam.md).
    role_arn: str | None = None
    external_id: str | None = None


SSL_MODES: tuple[str, ...] = ("disable", "allow", "prefer", "require", "verify-ca",
                              "verify-full")
# A live target sends a database password or IAM token: it must use TLS and check that the
# server is the RDS endpoint it asked for (``require`` and ``verify-ca`` do not check the
# host name, so a man in the middle with any certificate of the CA would receive them).
LIVE_SSL_MODES: tuple[str, ...] = ("verify-full",)
DEFAULT_DB_NAME = "postgres"
DEFAULT_DB_CONNECT_TIMEOUT_S = 5.0
DEFAULT_DB_STATEMENT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class DatabaseAccess:
    """How the data-plane checks reach the RDS PostgreSQL databases of one target.

    Credentials come from exactly one place: ``secret_ids`` (region -> Secrets Manager secret
    id holding the RDS credentials JSON, read with ``get_secret_value`` by
    ``maip_drlib.probes.postgres`` only) or ``iam_user`` (a database user granted
    ``rds_iam``; each connection gets a fresh RDS IAM auth token). Only names are held here,
    never a password or token. A target without a ``DatabaseAccess`` reports the data-plane
    checks as "not configured", never as passed.
    """

    dbname: str = DEFAULT_DB_NAME
    sslmode: str = "verify-full"
    sslrootcert: Path | None = None
    secret_ids: tuple[tuple[str, str], ...] = ()
    iam_user: str | None = None
    # The database user the platform's services connect as (their sessions on the writer
    # tell whether writes have stopped); None: that check is not configured.
    services_user: str | None = None
    connect_timeout_s: float = DEFAULT_DB_CONNECT_TIMEOUT_S
    statement_timeout_s: float = DEFAULT_DB_STATEMENT_TIMEOUT_S

    @property
    def auth(self) -> Literal["secret", "iam"]:
        return "iam" if self.iam_user else "secret"

    def secret_id(self, region: str) -> str | None:
        """The secret that holds the credentials used in ``region``; None with IAM auth."""
        return dict(self.secret_ids).get(region)

    def __str__(self) -> str:
        how = (f"IAM auth as {self.iam_user}" if self.iam_user else
               "secrets " + ", ".join(f"{region}={name}" for region, name in self.secret_ids))
        services = f", services as {self.services_user}" if self.services_user else ""
        return f"database {self.dbname}, sslmode={self.sslmode}, {how}{services}"


KAFKA_AUTHS: tuple[str, ...] = ("iam", "none")
DEFAULT_KAFKA_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class KafkaAccess:
    """How the MSK canaries and the readiness offset check reach the Kafka brokers.

    ``auth`` ``iam``: SASL/OAUTHBEARER with a token from ``aws-msk-iam-sasl-signer-python``
    signed with the region handle's credentials (MSK's IAM listener, TLS only); ``none``:
    no authentication (the simulated brokers, or an MSK plaintext/TLS listener).
    ``bootstrap`` (region -> ``host:port,...``) replaces ``GetBootstrapBrokers``. Only names
    are held here, never a token. Not supported: SASL/SCRAM, mutual TLS client certificates.
    """

    auth: str = "iam"
    tls: bool = True
    ca_file: Path | None = None
    bootstrap: tuple[tuple[str, str], ...] = ()
    timeout_s: float = DEFAULT_KAFKA_TIMEOUT_S

    def bootstrap_for(self, region: str) -> str | None:
        return dict(self.bootstrap).get(region)

    def __str__(self) -> str:
        given = (", bootstrap " + ", ".join(f"{r}={b}" for r, b in self.bootstrap)
                 if self.bootstrap else ", bootstrap from GetBootstrapBrokers")
        return (f"auth={self.auth}, tls={'on' if self.tls else 'off'}"
                f"{', ca ' + str(self.ca_file) if self.ca_file else ''}{given}")


# The simulated brokers speak plaintext Kafka without authentication (sim/kafka).
SIMULATED_KAFKA = KafkaAccess(auth="none", tls=False)


@dataclass(frozen=True)
class Target:
    """A named place a drill runs against (DESIGN.md section 3)."""

    name: str
    kind: TargetKind
    primary: RegionConnection
    secondary: RegionConnection
    public_endpoint_url: str = "https://api.maip.example.com"
    # Simulations only: loopback control URL of the running simulation, the CA bundle of
    # its TLS endpoints, and how many real seconds a simulated minute takes.
    control_url: str | None = None
    ca_bundle: Path | None = None
    time_scale: float | None = None
    # Data-plane access to the RDS databases; None: those checks report "not configured".
    database: DatabaseAccess | None = None
    # DNS resolvers the endpoint checks ask for the public name ("ADDRESS:PORT", in order;
    # docs/simulated-dns.md). Empty: the simulation's control server (simulated targets) or
    # the system resolver (live). ``maip_drlib.resolvers.resolver_for`` chooses.
    dns_nameservers: tuple[str, ...] = ()
    # Live only: every mutating stage waits for a second identity's approval
    # (``require_approval = true``, like ``--dr-require-approval``; docs/approval.md).
    require_approval: bool = False
    # Kafka access for MSK canaries and offsets ([targets.<name>.kafka]); None: simulated
    # targets use ``SIMULATED_KAFKA``, live ones report MSK RPO "not measured".
    kafka: KafkaAccess | None = None

    @property
    def simulated(self) -> bool:
        return self.kind in ("embedded", "sim")

    @property
    def kafka_access(self) -> KafkaAccess | None:
        """The Kafka access to use: the configured one, the simulation's, or None (live)."""
        if self.kafka is not None:
            return self.kafka
        return SIMULATED_KAFKA if self.simulated else None

    def connection(self, region: str) -> RegionConnection:
        for candidate in (self.primary, self.secondary):
            if candidate.region == region:
                return candidate
        raise KeyError(region)

    @property
    def connections(self) -> tuple[RegionConnection, RegionConnection]:
        return (self.primary, self.secondary)


# The KMS key alias the simulation creates in each region and encrypts its RDS writer with
# (sim/aws/seed_rds.py). Only the configuration of a run without a config file (the
# embedded simulation, ``sim up``) names it: a config file's topology names its own keys.
SIMULATION_KMS_KEY = "alias/maip-rds"


def simulation_topology(base: Topology | None = None) -> Topology:
    """``base`` (default: the runbook's topology) with the simulation's KMS key in each region
    that names none: the simulated platform is encrypted, as production RDS usually is."""
    base = base or Topology()
    return replace(base,
                   primary=replace(base.primary,
                                   kms_key_id=base.primary.kms_key_id or SIMULATION_KMS_KEY),
                   secondary=replace(base.secondary,
                                     kms_key_id=base.secondary.kms_key_id or SIMULATION_KMS_KEY))


@dataclass(frozen=True)
class Config:
    """One topology and its named targets, as loaded from one file (or the defaults)."""

    topology: Topology
    targets: dict[str, Target]
    source: str | None = None
    default_target: str | None = None
    # [features] paths: a team's own feature folders (absolute, checked by the loader).
    feature_paths: tuple[Path, ...] = ()
    # [record] participants: who is meant to take part in a drill (the DR test record
    # compares them with --participant; evidence/record_people.py).
    record_participants: tuple[Participant, ...] = ()

    def target(self, name: str | None) -> Target:
        from maip_drlib.errors import ConfigError

        chosen = name or self.default_target
        if chosen is None:
            if len(self.targets) == 1:
                return next(iter(self.targets.values()))
            raise ConfigError(
                f"several targets defined ({', '.join(sorted(self.targets))}); choose one with "
                "--target",
                source=self.source,
            )
        if chosen not in self.targets:
            known = ", ".join(sorted(self.targets)) or "none"
            raise ConfigError(
                f"unknown target {chosen!r} (defined: {known})", source=self.source,
                key="--target",
            )
        return self.targets[chosen]


def embedded_target(topology: Topology, name: str = "embedded",
                    time_scale: float | None = None) -> Target:
    """The target that means "start the embedded simulation"; it has no endpoints yet."""
    return Target(
        name=name,
        kind="embedded",
        primary=RegionConnection(region=topology.primary.region,
                                 kube_context=topology.primary.kube_context),
        secondary=RegionConnection(region=topology.secondary.region,
                                   kube_context=topology.secondary.kube_context),
        time_scale=time_scale,
    )
