"""The readiness thresholds, read from one place: the Gherkin (``features/readiness.feature``).

Each threshold is a business figure written in a readiness Then step ("the RDS replica lag is
under 60 seconds"). The step definitions (``steps/readiness_steps.py``) take the figure from
the step they run, with the step texts defined here; every caller outside the Gherkin run
(``run_readiness`` for failback 4's "readiness passes again", failback 2's limits, the
fixtures, tests, benchmarks) builds ``Thresholds.from_gherkin()``, which reads the same step
texts from the same file with pytest-bdd's own Gherkin parser and the steps' own patterns. So
no figure is written twice: change the number in the feature file and both paths change.

``from_gherkin`` raises ``ConfigError`` (exit 2) naming the file when a threshold's step is
missing, or when two steps give one threshold different figures (both failover-capacity steps
name the failover nodes). Not supported: thresholds per region, thresholds in Scenario Outline
examples, thresholds of a team's own feature folders (their steps carry their own figures).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from maip_drlib.errors import ConfigError

if TYPE_CHECKING:
    from pytest_bdd.parser import DataTable

FEATURE_FILE = "readiness.feature"

# The readiness Then steps that carry a threshold (pytest-bdd ``parsers.parse`` patterns).
RDS_LAG_STEP = "the RDS replica lag is under {seconds:g} seconds"
STANDBY_LAG_STEP = ("PostgreSQL says the RDS writer is a writer and its replica a standby "
                    "within {seconds:g} seconds")
DYNAMODB_LATENCY_STEP = "the DynamoDB replication latency to DR is under {seconds:g} seconds"
MSK_LATENCY_STEP = ("the MSK replicator is RUNNING with replication latency under "
                    "{seconds:g} seconds")
SUBNETS_STEP = ("the DR node group's subnets have free addresses for {nodes:d} nodes and "
                "{pods:d} pods per node")
QUOTA_STEP = "the DR region's EC2 On-Demand vCPU quota covers {nodes:d} nodes"
AUTOSCALERS_STEP = "no DR autoscaler would hold a deployment away from {replicas:d} replicas"
SECRETS_STEP = "these secrets the services need are replicated to DR:"
ALB_TARGET_STEP = ("the DR load balancer has at least {count:d} healthy target in every "
                   "target group")
ALB_TARGETS_STEP = ("the DR load balancer has at least {count:d} healthy targets in every "
                    "target group")
CERTIFICATE_STEP = "the API's TLS certificate stays valid for at least {days:g} more days"

# step pattern -> {Thresholds field: the pattern's argument}
THRESHOLD_STEPS: tuple[tuple[str, dict[str, str]], ...] = (
    (RDS_LAG_STEP, {"rds_replica_lag_s": "seconds"}),
    (STANDBY_LAG_STEP, {"standby_lag_s": "seconds"}),
    (DYNAMODB_LATENCY_STEP, {"dynamodb_replication_latency_s": "seconds"}),
    (MSK_LATENCY_STEP, {"msk_replication_latency_s": "seconds"}),
    (SUBNETS_STEP, {"failover_nodes": "nodes", "pods_per_node": "pods"}),
    (QUOTA_STEP, {"failover_nodes": "nodes"}),
    (AUTOSCALERS_STEP, {"failover_replicas": "replicas"}),
    (ALB_TARGET_STEP, {"min_healthy_targets": "count"}),
    (ALB_TARGETS_STEP, {"min_healthy_targets": "count"}),
    (CERTIFICATE_STEP, {"certificate_min_days": "days"}),
)
SECRETS_FIELD = "required_secrets"
SECRETS_COLUMN = "secret"


@dataclass(frozen=True)
class Thresholds:
    """Limits and business figures the readiness checks hold the platform to, as the Gherkin
    states them (``from_gherkin``); there are no defaults to drift from it.

    ``rds_replica_lag_s``: the ``ReplicaLag`` check; ``standby_lag_s``: the PostgreSQL standby
    check. ``failover_nodes`` / ``failover_replicas`` None mean the topology's figures
    (``failover_scaling.max_size``, ``failover_replicas``). ``pods_per_node``: each pod and
    each node takes one VPC address. ``source``: the file the figures came from ("" when built
    by hand, as tests do).
    """

    rds_replica_lag_s: float
    standby_lag_s: float
    dynamodb_replication_latency_s: float
    msk_replication_latency_s: float
    failover_nodes: int | None
    pods_per_node: int
    failover_replicas: int | None
    required_secrets: tuple[str, ...]
    min_healthy_targets: int
    certificate_min_days: float
    source: str = ""

    @classmethod
    def from_gherkin(cls, path: Path | None = None) -> Thresholds:
        """The figures of ``path`` (default: this installation's ``features/readiness.feature``);
        ``ConfigError`` naming the file when one is missing or stated twice differently."""
        if path is None:
            from maip_drlib.scenarios_home import scenarios_home

            path = scenarios_home() / "features" / FEATURE_FILE
        try:
            stat = path.stat()
        except OSError as error:
            raise ConfigError(f"cannot read the readiness thresholds: {error.strerror}",
                              source=str(path)) from error
        return _read(str(path), stat.st_mtime_ns, stat.st_size)


def default_thresholds() -> Thresholds:
    """``Thresholds.from_gherkin()`` (a dataclass default factory)."""
    return Thresholds.from_gherkin()


@functools.lru_cache(maxsize=8)
def _read(path: str, _mtime_ns: int, _size: int) -> Thresholds:
    """Parse once per file version (path, modification time and size key the cache)."""
    from pytest_bdd import parsers
    from pytest_bdd.exceptions import FeatureError, GherkinParseError
    from pytest_bdd.parser import FeatureParser

    where = Path(path)
    try:
        feature = FeatureParser(str(where.parent), where.name).parse()
    except (OSError, UnicodeDecodeError, FeatureError, GherkinParseError) as error:
        raise ConfigError(f"cannot parse the readiness thresholds: {error}",
                          source=path) from error
    patterns = [(parsers.parse(text), text, fields) for text, fields in THRESHOLD_STEPS]
    found: dict[str, tuple[object, int]] = {}

    def keep(field: str, value: object, line: int) -> None:
        seen = found.setdefault(field, (value, line))
        if seen[0] != value:
            raise ConfigError(f"{field}: line {seen[1]} says {seen[0]!r}, line {line} says "
                              f"{value!r}: one figure per threshold", source=path)

    for scenario in feature.scenarios.values():
        for step in scenario.steps:
            if step.name == SECRETS_STEP:
                keep(SECRETS_FIELD, _secrets(step.datatable, path, step.line_number),
                     step.line_number)
                continue
            for parser, _, fields in patterns:
                if parser.is_matching(step.name):  # as pytest-bdd picks the step
                    arguments = parser.parse_arguments(step.name)
                    for field, argument in fields.items():
                        keep(field, arguments[argument], step.line_number)
    wanted = {field for _, fields in THRESHOLD_STEPS for field in fields} | {SECRETS_FIELD}
    missing = sorted(wanted - set(found))
    if missing:
        examples = {field: text for text, fields in THRESHOLD_STEPS for field in fields}
        examples[SECRETS_FIELD] = SECRETS_STEP
        raise ConfigError("no readiness step states " + "; ".join(
            f"{field} (a step like {examples[field]!r})" for field in missing), source=path)
    return Thresholds(**{field: value for field, (value, _) in found.items()},  # type: ignore[arg-type]
                      source=path)


def _secrets(table: DataTable | None, path: str, line: int) -> tuple[str, ...]:
    rows = table.raw() if table is not None else []
    if not rows or rows[0] != [SECRETS_COLUMN] or len(rows) < 2:
        raise ConfigError(f"line {line}: the secrets step needs a table with the column "
                          f"{SECRETS_COLUMN!r} and one row per secret", source=path)
    return tuple(row[0].strip() for row in rows[1:])
