"""Readiness checks of the data stores: RDS writer, replica and lag, DynamoDB, MSK (read-only).

Lag is not a bare figure here. RDS for PostgreSQL reports ``ReplicaLag`` as now minus the
last replayed commit: it climbs while the writer is idle, and -1 or no datapoint means the
replica is not replicating. With database access the WAL distance tells an idle writer from a
lagging replica; without it a figure over the threshold fails saying that it includes idle
time. DynamoDB publishes ``ReplicationLatency`` only for items replicated in the period: no
datapoint is "not measured" (``NotChecked``), never a pass.

Not supported: Aurora, DynamoDB global tables of more than two regions, MSK Serverless.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from maip_drlib.errors import DRError, NotFound
from maip_drlib.facts import DbInstanceFact, ReplicationLag
from maip_drlib.probes import dynamodb, msk, rds
from maip_drlib.readiness_base import NotChecked, ReadinessInputs
from maip_drlib.readiness_verdict import Verdict, failed, passed
from maip_drlib.regions import RegionHandle

if TYPE_CHECKING:
    from maip_drlib.probes.postgres import DbConnectionSpec, StandbyLagFact


def rds_writer_and_replica(inputs: ReadinessInputs) -> Verdict:
    roles = rds.find_writer_and_replicas(inputs.handles, inputs.topology)
    fact = "RDS writer and cross-region replica"
    if roles.split_brain:
        return failed(fact, "more than one RDS writer (split brain)", resource="rds",
                      expected="one writer", observed=str(roles))
    writer = roles.writer
    if writer is None:
        return failed(fact, "no RDS writer found", resource=", ".join(
            inputs.topology.rds_candidates), expected="one available writer",
            observed=str(roles))
    if writer.status != "available":
        return failed(fact, "RDS writer not available", region=writer.region,
                      resource=writer.identifier, expected="available", observed=writer.status)
    if writer.backup_retention_days <= 0:
        return failed(fact, "automated backups are off on the writer", region=writer.region,
                      resource=writer.identifier, expected="backup retention > 0 days",
                      observed=writer.backup_retention_days)
    cross_region = [r for r in roles.replicas_of(writer) if r.region != writer.region]
    if not cross_region:
        return failed(fact, "no cross-region replica replicates from the writer",
                      region=writer.region, resource=writer.identifier,
                      expected="a replica in the other region", observed=str(roles))
    return passed(fact, f"writer {writer.identifier} ({writer.region}); replicas: " + ", ".join(
        f"{r.identifier} ({r.region}, {r.status})" for r in cross_region),
        expected="one available writer with backups and a replica in the other region",
        region=writer.region, resource=writer.identifier)


def _wal_distance(inputs: ReadinessInputs, writer: DbInstanceFact,
                  replica: DbInstanceFact) -> str | None:
    """With database access: the replica's WAL distance from the writer (read-only), or None
    when it cannot be read (then the metric alone is reported, with its caveat). A fresh
    standby a few bytes behind with no commit replayed yet is read again, bounded, until its
    lag is known (``_known_standby_lag``): one reading of it is no verdict."""
    from maip_drlib.probes import postgres

    access = inputs.target.database
    if access is None:
        return None
    try:
        writer_spec = postgres.connection_spec(inputs.handles.by_name(writer.region), access,
                                               writer.identifier)
        spec = postgres.connection_spec(inputs.handles.by_name(replica.region), access,
                                        replica.identifier)
        fact = _known_standby_lag(spec, writer_spec, inputs.thresholds.rds_replica_lag_s)
    except DRError:
        return None
    if not fact.in_recovery or fact.lsn_distance_bytes is None:
        return None
    return str(fact) if not fact.caught_up else f"idle source: {fact}"


def rds_replica_lag(inputs: ReadinessInputs) -> Verdict:
    """``ReplicaLag`` of each replica of the writer (read-only). RDS reports now minus the last
    replayed commit: it climbs while the writer is idle. With database access the WAL
    distance tells an idle writer (distance 0: passes, saying so) from a lagging replica;
    without it, a figure over the threshold fails saying that it includes idle time. -1 or no
    datapoint: not replicating."""
    roles = rds.find_writer_and_replicas(inputs.handles, inputs.topology)
    writer = roles.writer
    fact = "RDS replica lag"
    limit = inputs.thresholds.rds_replica_lag_s
    expected = f"<= {limit:g}s"
    if writer is None:
        return failed(fact, "no single RDS writer to measure lag against", resource="rds",
                      observed=str(roles))
    details, regions = [], []
    for replica in roles.replicas_of(writer):
        lag = rds.replica_lag(inputs.handles.by_name(replica.region), replica.identifier)
        if lag.seconds is None or lag.seconds < 0:
            return failed(fact, "RDS replica not replicating (ReplicaLag -1 or no datapoint)",
                          region=replica.region, resource=replica.identifier,
                          expected=expected, observed=str(lag))
        regions.append(replica.region)
        if lag.seconds <= limit:
            details.append(str(lag))
            continue
        wal = _wal_distance(inputs, writer, replica)
        if wal is not None and wal.startswith("idle source"):
            details.append(f"{lag} includes idle time; WAL distance 0: {wal}")
            continue
        return failed(fact, "RDS replica lag over threshold", region=replica.region,
                      resource=replica.identifier, expected=expected,
                      observed=f"{lag}; " + (wal or (
                          "the figure includes idle time (now minus the last replayed "
                          "commit); without database access an idle writer cannot be "
                          "told from a lagging replica")))
    if not details:
        return failed(fact, "no RDS replica to measure", region=writer.region,
                      resource=writer.identifier)
    return passed(fact, "; ".join(details), expected=expected,
                  region=", ".join(sorted(set(regions))),
                  resource=", ".join(r.identifier for r in roles.replicas_of(writer)))


# How long a streaming standby whose lag cannot be told yet (behind, no commit replayed: a
# fresh replica) is given to catch up or replay a commit, in real seconds at most.
UNKNOWN_LAG_WAIT_S = 10.0


def _known_standby_lag(spec: DbConnectionSpec, writer_spec: DbConnectionSpec,
                       limit_s: float) -> StandbyLagFact:
    """``standby_lag``; while the standby streams but its lag is unknown (WAL behind and no
    commit replayed yet), read again until it is known or ``UNKNOWN_LAG_WAIT_S`` (at most the
    limit) passes: then the unknown reading is returned and fails the check."""
    from maip_drlib.errors import WaitTimeout
    from maip_drlib.probes import postgres
    from maip_drlib.waits import WaitSpec, wait_for

    lag = postgres.standby_lag(spec, writer_spec)
    if not (lag.in_recovery and lag.lag_s is None and lag.receiving):
        return lag
    wait = WaitSpec(description=f"the lag of standby {spec.instance} to be known",
                    deadline_s=min(UNKNOWN_LAG_WAIT_S, limit_s), poll_initial_s=0.2,
                    poll_max_s=1.0)
    try:
        return wait_for(wait, lambda: postgres.standby_lag(spec, writer_spec),
                        success=lambda found: found.lag_s is not None).value
    except WaitTimeout as timeout:
        return timeout.last_observed if timeout.last_observed is not None else lag


def rds_roles_in_postgres(inputs: ReadinessInputs) -> Verdict:
    """The writer and each replica asked over SQL through their RDS endpoints (the data plane):
    the writer says it is one (``pg_is_in_recovery()`` false); each replica is a standby
    replaying within the lag threshold (WAL distance from the writer; the last replayed
    commit's age while behind). Without database access for the target: ``NotChecked``
    ("not configured"), never a pass."""
    from maip_drlib.probes import postgres

    access = inputs.target.database
    if access is None:
        raise NotChecked(f"{postgres.NOT_CONFIGURED}: target {inputs.target.name!r} has no "
                         f"database access ([targets.{inputs.target.name}.database])")
    roles = rds.find_writer_and_replicas(inputs.handles, inputs.topology)
    writer = roles.writer
    fact = "RDS roles and standby lag in PostgreSQL"
    if writer is None:
        return failed(fact, "no single RDS writer to ask", resource="rds", observed=str(roles))
    limit = inputs.thresholds.standby_lag_s
    expected = f"a writer; each replica a standby, lag <= {limit:g}s"
    try:
        writer_spec = postgres.connection_spec(inputs.handles.by_name(writer.region), access,
                                               writer.identifier)
        writer_role = postgres.database_role(writer_spec)
        if writer_role.in_recovery:
            return failed(fact, "the RDS writer's database is in recovery",
                          region=writer.region, resource=writer.identifier,
                          expected="a writer", observed=str(writer_role))
        details = [str(writer_role)]
        for replica in roles.replicas_of(writer):
            spec = postgres.connection_spec(inputs.handles.by_name(replica.region), access,
                                            replica.identifier)
            lag = _known_standby_lag(spec, writer_spec, limit)
            if not lag.in_recovery or lag.lag_s is None or lag.lag_s > limit:
                return failed(fact, "the RDS replica's database is not a standby within the "
                              "lag threshold", region=replica.region,
                              resource=replica.identifier,
                              expected=f"a standby, lag <= {limit:g}s", observed=str(lag))
            details.append(str(lag))
    except postgres.NotConfigured as error:
        raise NotChecked(str(error)) from error
    if len(details) < 2:
        return failed(fact, "no RDS replica to ask", region=writer.region,
                      resource=writer.identifier)
    return passed(fact, "; ".join(details), expected=expected, resource=writer.identifier)


# The registry's name of ``rds_failback_name_free`` and its Gherkin scenario. After a completed
# failback it fails by design (the drill's fenced old writer awaits the operator's delete): the
# drill's own checks after failback note it (failback 4, the game day's readiness-after phase).
FAILBACK_NAME_CHECK = "RDS failback replica has a free name"
FAILBACK_NAME_SCENARIO = "The database can fail back after a failover"


def rds_failback_name_free(inputs: ReadinessInputs) -> Verdict:
    """Failback 2 will have a name for its replica in the primary region (read-only).

    The primary region's database has two names (``rds.primary_writer_names``); failback 2
    creates its replica under the one not in use and refuses (exit 3) when both are, e.g. an
    earlier drill's fenced old writer not deleted yet. A game day must not fail over to find
    that at failback 2: this asks failback 2's own rule (``drill.failback_names.choose``) over
    the primary region now. The primary's writer counts as the old writer this drill fences
    (kept); after a failover, a replica of the DR writer under either name is failback 2's own
    (passes). Fails naming the instance to delete first."""
    from maip_drlib.drill import failback_names

    topology = inputs.topology
    roles = rds.find_writer_and_replicas(inputs.handles, topology)
    primary, secondary = topology.primary.region, topology.secondary.region
    promoted = next((w.identifier for w in roles.writers if w.region == secondary), None)
    fenced = tuple(w.identifier for w in roles.writers if w.region == primary)
    chosen = failback_names.choose(
        topology, failback_names.read_primary(inputs.handles.primary, topology), promoted,
        fenced)
    names = " or ".join(rds.primary_writer_names(topology))
    fact = "a free name for failback 2's replica"
    expected = f"a free name ({names}) for the failback replica"
    if chosen.name is None:
        which = chosen.delete_first or "the one that is not the primary's old writer"
        return failed(fact, f"failback 2 would refuse: both names of the primary region's "
                      f"database are in use; delete {which} first (an earlier drill's "
                      "fenced old writer: reconcile its data, then delete it with a final "
                      "snapshot)", region=primary, resource=chosen.delete_first or names,
                      expected=expected, observed="; ".join(chosen.in_use))
    state = "already replicating from the DR writer" if chosen.replicating else "free"
    return passed(fact, f"failback 2 names its replica {chosen.name} ({state} in {primary}); "
                        f"in use: {'; '.join(chosen.in_use) or 'none'}",
                  expected=expected, observed=f"{chosen.name} {state}", region=primary,
                  resource=chosen.name)


def dynamodb_global_table(inputs: ReadinessInputs) -> Verdict:
    """ACTIVE with a replica in both regions; the probe raises ``CheckFailed`` naming the
    first region where it is not (shared with failback 2)."""
    facts = dynamodb.require_active_in_both(inputs.handles, inputs.topology.dynamodb_table)
    return passed("DynamoDB global table in both regions", "; ".join(map(str, facts)),
                  expected="ACTIVE in both regions", resource=inputs.topology.dynamodb_table)


def _latency_period(inputs: ReadinessInputs) -> tuple[int, int]:
    """(window, period) in real seconds for ``ReplicationLatency``: 15 minutes and 60 s, in
    business time. A simulation's clock is scaled (``time_scale``) but its CloudWatch is not,
    so its window and period are scaled here (at least 1 s): unscaled, one 60-second period
    would hold two business hours, e.g. a backlog drained right after the primary came back
    would still be the newest figure when failback 4 asks again."""
    scale = inputs.target.time_scale if inputs.target.simulated else None
    if not scale:
        return dynamodb.LATENCY_WINDOW_S, dynamodb.LATENCY_PERIOD_S
    factor = scale / 60.0
    return (max(2, math.ceil(dynamodb.LATENCY_WINDOW_S * factor)),
            max(1, round(dynamodb.LATENCY_PERIOD_S * factor)))


def _latency(inputs: ReadinessInputs, sender: RegionHandle, receiver: str) -> ReplicationLag:
    window_s, period_s = _latency_period(inputs)
    lag = dynamodb.replication_latency(sender, inputs.topology.dynamodb_table, receiver,
                                       window_s=window_s, period_s=period_s)
    _measured(lag, sender.region, receiver)
    return lag


def _measured(lag: ReplicationLag, sender: str, receiver: str) -> None:
    """No ``ReplicationLatency`` datapoint in the window: DynamoDB publishes it only for items
    replicated in the period, so nothing was measured -- ``NotChecked``, never a pass."""
    if lag.seconds is None:
        raise NotChecked(
            f"not measured: no ReplicationLatency datapoint for {lag.resource} from {sender} "
            f"to {receiver} in the last {dynamodb.LATENCY_WINDOW_S // 60} minutes (period "
            f"{dynamodb.LATENCY_PERIOD_S} s): DynamoDB publishes it only for items "
            "replicated in the period")


def _latency_verdict(fact: str, message: str, lag: ReplicationLag, limit: float,
                     region: str, table: str) -> Verdict:
    if lag.seconds is None or lag.seconds > limit:
        return failed(fact, message, region=region, resource=table, expected=f"<= {limit:g}s",
                      observed=str(lag))
    return passed(fact, str(lag), expected=f"<= {limit:g}s", observed=f"{lag.seconds:g}s",
                  region=region, resource=table)


def dynamodb_replication_latency(inputs: ReadinessInputs) -> Verdict:
    primary, secondary = inputs.handles.primary, inputs.handles.secondary
    return _latency_verdict("DynamoDB replication latency to DR",
                            "DynamoDB replication latency over threshold",
                            _latency(inputs, primary, secondary.region),
                            inputs.thresholds.dynamodb_replication_latency_s, secondary.region,
                            inputs.topology.dynamodb_table)


def dynamodb_replication_latency_to_primary(inputs: ReadinessInputs) -> str:
    """``dynamodb_latency_to_primary_verdict`` asserted: its one-line detail, or its
    ``CheckFailed`` (the contract ``steps/replication_steps.py`` calls it with)."""
    return dynamodb_latency_to_primary_verdict(inputs).require().render()


def dynamodb_latency_to_primary_verdict(inputs: ReadinessInputs) -> Verdict:
    """Writes made in DR reach the primary within the limit (what failback relies on).

    Stated in features/replication.feature only; not one of ``readiness_checks()`` (one
    DynamoDB lag row in the CLI table; the simulation's lag fault moves both directions).
    """
    primary, secondary = inputs.handles.primary, inputs.handles.secondary
    return _latency_verdict("DynamoDB replication latency to the primary",
                            "DynamoDB replication latency back to the primary over threshold",
                            _latency(inputs, secondary, primary.region),
                            inputs.thresholds.dynamodb_replication_latency_s, primary.region,
                            inputs.topology.dynamodb_table)


def msk_clusters_active(inputs: ReadinessInputs) -> Verdict:
    fact, details = "MSK cluster state in both regions", []
    for handle, names in ((inputs.handles.primary, inputs.topology.primary.msk_cluster),
                          (inputs.handles.secondary, inputs.topology.secondary.msk_cluster)):
        found = {c.name: c for c in msk.clusters(handle, (names,))}
        cluster = found.get(names)
        if cluster is None:
            raise NotFound(f"MSK cluster {names} not found in {handle.region}")
        if cluster.state != "ACTIVE":
            return failed(fact, "MSK cluster not ACTIVE", region=handle.region, resource=names,
                          expected="ACTIVE", observed=cluster.state)
        details.append(str(cluster))
    return passed(fact, "; ".join(details), expected="ACTIVE in both regions")


def msk_replicator(inputs: ReadinessInputs) -> Verdict:
    handle = inputs.handles.secondary
    contains = inputs.topology.replicator_name_contains
    found = msk.replicators(handle, contains)
    if not found:
        raise NotFound(f"no MSK replicator whose name contains {contains!r} in {handle.region}")
    limit = inputs.thresholds.msk_replication_latency_s
    fact, details = "MSK replicator state and replication latency", []
    for replicator in found:
        if replicator.state != "RUNNING":
            return failed(fact, "MSK replicator not RUNNING", region=handle.region,
                          resource=replicator.name, expected="RUNNING",
                          observed=replicator.state)
        lag = msk.replicator_lag(handle, replicator.name)
        if lag.seconds is None or lag.seconds > limit:
            return failed(fact, "MSK replication latency over threshold", region=handle.region,
                          resource=replicator.name, expected=f"<= {limit:g}s",
                          observed=str(lag))
        details.append(f"{replicator}; {lag}")
    return passed(fact, "; ".join(details), expected=f"RUNNING, <= {limit:g}s",
                  region=handle.region, resource=", ".join(r.name for r in found))
