"""Failback 4's steps (``failback.stage_4_steady_state`` runs them in order): find failback 2's
replica, stop writes in both regions, bring the primary's services back, replace the DR
instance by a fresh replica of the new writer (final snapshot named by ``failback_names``),
restore the failover pair and put DR back at standby. Every mutating step is behind
``require_execute`` and skips work already done.

Not supported: keeping the old promoted DR instance (it is deleted with a final snapshot);
deleting the fenced old writer (an operator's step after reconciling its data).
"""

from __future__ import annotations

from maip_drlib.actions import eks as eks_actions
from maip_drlib.actions import rds as rds_actions
from maip_drlib.config import ScalingConfig
from maip_drlib.drill import (
    failback_names,
    failback_rds,
    preconditions,
    registry,
    replica_kms,
    traffic,
)
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.deadlines import deadline_s as platform_deadline
from maip_drlib.drill.guards import require_execute
from maip_drlib.errors import CheckFailed, NotFound
from maip_drlib.facts import DbInstanceFact
from maip_drlib.probes import aws_api
from maip_drlib.probes import eks as eks_probes
from maip_drlib.probes import elb as elb_probes
from maip_drlib.probes import kube as kube_probes
from maip_drlib.probes import rds as rds_probes
from maip_drlib.probes import route53 as route53_probes
from maip_drlib.regions import RegionHandle
from maip_drlib.waits import WaitSpec, wait_for

STAGE_3 = registry.stage("failback", 3).name
STAGE_4 = registry.stage("failback", 4).name


def failback_replica_name(ctx: DrillContext) -> str:
    """Failback 2's replica under either primary name (replicating from the DR writer), or
    the writer it was promoted to (a resumed stage 4)."""
    roles = failback_rds.rds_roles(ctx, STAGE_4)
    promoted = preconditions.dr_writer_of(roles, ctx.topology)
    found = ((failback_names.failback_replica(roles, ctx.topology, promoted) if promoted
              else None) or failback_names.primary_writer(roles, ctx.topology))
    if found is None:
        raise CheckFailed(f"{STAGE_4}: no failback replica in the primary region; run "
                          "failback 2 first", region=ctx.topology.primary.region,
                          resource=" or ".join(rds_probes.primary_writer_names(ctx.topology)),
                          expected="a replica of the DR writer", observed=str(roles))
    return found.identifier


def not_at(handle: RegionHandle, namespace: str, replicas: int) -> list[str]:
    return [f"{d.name}={d.desired}" for d in kube_probes.deployments(handle, namespace)
            if d.desired != replicas]


def primary_services_back(ctx: DrillContext, actions: list[str]) -> None:
    """A planned failover fenced the primary's services at 0 (failover 1): bring them back to
    the failover capacity, and wait until ready, before any traffic is weighted to the primary
    ALB, whose targets would otherwise be unhealthy (Route 53 then keeps answering DR). After
    an unplanned failover the restored region's services are already up: nothing to do."""
    handle, namespace = ctx.handles.primary, ctx.topology.namespace
    replicas = ctx.topology.failover_replicas
    fenced = [d.name for d in kube_probes.deployments(handle, namespace) if d.desired == 0]
    if not fenced:
        return
    require_execute(ctx, STAGE_3, f"scaling {len(fenced)} fenced primary deployments to "
                                  f"{replicas}")
    ctx.say(f"{STAGE_3}: the primary's services were fenced at 0: scaling them to {replicas} "
            f"in {handle.region} before shifting traffic")
    from maip_drlib.actions import kube as kube_actions
    from maip_drlib.drill import scale_wait
    from maip_drlib.drill.deadlines import DEPLOYMENTS_DEADLINE_S

    kube_actions.scale_deployments(handle, namespace, replicas)
    scale_wait.wait_deployments_ready(
        handle, namespace, replicas, deadline_s=platform_deadline(ctx, DEPLOYMENTS_DEADLINE_S),
        poll_initial_s=ctx.poll.initial_s, poll_max_s=ctx.poll.max_s)
    ctx.decisions.record(STAGE_3, "fenced primary services scaled back before the shift",
                         deployments=fenced, replicas=replicas)
    actions.append(f"kubernetes:scale {namespace} --all --replicas={replicas} ({handle.region})")


def scale_deployments(ctx: DrillContext, handle: RegionHandle, replicas: int,
                       actions: list[str]) -> None:
    namespace = ctx.topology.namespace
    off = not_at(handle, namespace, replicas)
    if not off:
        return
    require_execute(ctx, STAGE_4, f"scaling {namespace} in {handle.region} to {replicas}")
    ctx.say(f"{STAGE_4}: scaling every deployment of {namespace} in {handle.region} to "
            f"{replicas}")
    # Imported here: it loads the kubernetes package, which collecting the scenarios does not
    # need.
    from maip_drlib.actions import kube as kube_actions
    from maip_drlib.drill import scale_wait
    from maip_drlib.drill.deadlines import DEPLOYMENTS_DEADLINE_S

    kube_actions.scale_deployments(handle, namespace, replicas)
    if replicas:  # the wait names Pending pods' reasons (capacity) in its progress and error
        scale_wait.wait_deployments_ready(
            handle, namespace, replicas, deadline_s=platform_deadline(ctx, DEPLOYMENTS_DEADLINE_S),
            poll_initial_s=ctx.poll.initial_s, poll_max_s=ctx.poll.max_s)
    actions.append(f"kubernetes:scale {namespace} --all --replicas={replicas} ({handle.region})")


def stop_writes(ctx: DrillContext, actions: list[str]) -> None:
    namespace = ctx.topology.namespace
    running = {h.region: not_at(h, namespace, 0) for h in ctx.handles}
    if any(running.values()):
        ctx.decisions.record(STAGE_4, "stopping writes at the application: every deployment "
                             "in both regions to 0 (write outage until the promotion)",
                             running=running)
    for handle in ctx.handles:
        scale_deployments(ctx, handle, 0, actions)
    # Writes stop when no pod is left (Terminating pods still write over their grace period)
    # and, with database access, no session of the services remains on the DR writer.
    from maip_drlib.drill.deadlines import FENCE_DEADLINE_S
    from maip_drlib.drill.guards import FencingEvidence, observe_fencing
    from maip_drlib.errors import WaitTimeout

    writer = failback_rds.promoted_writer(ctx, failback_rds.rds_roles(ctx, STAGE_4), STAGE_4)
    writer_handle = ctx.handles.by_name(writer.region)

    def observe() -> tuple[FencingEvidence, ...]:
        return tuple(observe_fencing(ctx, writer.identifier, handle=handle,
                                     writer_handle=writer_handle) for handle in ctx.handles)

    ctx.say(f"{STAGE_4}: waiting until no pod of {namespace} is left in either region"
            + (f" and no service session on {writer.identifier}" if ctx.target.database
               else "") + " (writes stopped)")
    try:
        stopped = wait_for(
            WaitSpec(f"no pod of {namespace} in either region and no service session on "
                     f"{writer.identifier}", deadline_s=platform_deadline(ctx, FENCE_DEADLINE_S),
                     poll_initial_s=ctx.poll.initial_s, poll_max_s=ctx.poll.max_s),
            observe, success=lambda found: all(item.fenced for item in found)).value
    except WaitTimeout as timeout:
        raise CheckFailed(f"{STAGE_4}: writes did not stop at the application: {timeout}",
                          resource=namespace, expected="no pod and no service session left",
                          observed=str(timeout.last_observed)) from timeout
    ctx.decisions.record(STAGE_4, "writes stopped at the application",
                         evidence=[str(item) for item in stopped])


def fresh_dr_replica(ctx: DrillContext, writer: DbInstanceFact, actions: list[str],
                      delete_deadline_s: float, kms_key_id: str | None) -> DbInstanceFact:
    """The DR replica of the new writer (``kms_key_id``: the DR key, encrypted source); its
    wait is sized for a cross-region snapshot copy and restore
    (``rds_actions.DEFAULT_REPLICA_DEADLINE_S``)."""
    secondary, name = ctx.handles.secondary, ctx.topology.secondary.rds_instance
    try:
        old: DbInstanceFact | None = rds_probes.db_instance(secondary, name)
    except NotFound:
        old = None
    if old is not None and old.source_id == writer.identifier:
        ctx.decisions.record(STAGE_4, "fresh DR replica already exists", replica=str(old))
    else:
        if old is not None:
            if old.role == "replica" or old.replicas:
                raise CheckFailed("refusing to delete the old DR instance: it is not a "
                                  "standalone instance", region=secondary.region,
                                  resource=name, expected="standalone, no replicas",
                                  observed=str(old))
            require_execute(ctx, STAGE_4, f"deleting the old promoted instance {name}")
            snapshot = failback_names.final_snapshot_name(name, ctx.drill_id)
            ctx.say(f"{STAGE_4}: deleting {name} in {secondary.region} (final snapshot "
                    f"{snapshot})")
            with aws_api(secondary, "rds"):
                secondary.client("rds").delete_db_instance(
                    DBInstanceIdentifier=name, SkipFinalSnapshot=False,
                    FinalDBSnapshotIdentifier=snapshot)
            actions.append(f"rds:DeleteDBInstance {name} ({secondary.region}) final snapshot "
                           f"{snapshot}")
            ctx.decisions.record(STAGE_4, "old promoted DR instance deleted", instance=str(old),
                                 final_snapshot=snapshot)
            wait_gone(ctx, secondary, name, delete_deadline_s)
        require_execute(ctx, STAGE_4, f"creating {name} in {secondary.region}")
        ctx.say(f"{STAGE_4}: creating {name} in {secondary.region} from {writer.arn}")
        actions.append(f"rds:CreateDBInstanceReadReplica {name} ({secondary.region}) from "
                       f"{writer.arn} SourceRegion={writer.region}"
                       + (f" KmsKeyId={kms_key_id}" if kms_key_id else ""))
    return rds_actions.create_cross_region_replica(
        secondary, ctx.handles.by_name(writer.region), name, writer.identifier,
        deadline_s=platform_deadline(ctx, rds_actions.DEFAULT_REPLICA_DEADLINE_S),
        poll_max_s=ctx.poll.max_s, kms_key_id=kms_key_id,
        kms_key_setting=replica_kms.setting_name("secondary")).value


def wait_gone(ctx: DrillContext, handle: RegionHandle, name: str, deadline_s: float) -> None:
    def observe() -> str:
        try:
            return rds_probes.db_instance(handle, name).status
        except NotFound:
            return "gone"

    spec = WaitSpec(description=f"RDS {name} in {handle.region} to be deleted",
                    deadline_s=deadline_s, poll_initial_s=ctx.poll.initial_s,
                    poll_max_s=ctx.poll.max_s)
    wait_for(spec, observe, success=lambda status: status == "gone")


def restore_pair(ctx: DrillContext, actions: list[str]) -> None:
    zone = route53_probes.hosted_zone(ctx.handles.primary, ctx.topology.hosted_zone)
    primary_alb = elb_probes.load_balancer(ctx.handles.primary, ctx.topology.primary.alb_name)
    dr_alb = elb_probes.load_balancer(ctx.handles.secondary, ctx.topology.secondary.alb_name)
    pair = traffic.find_pair(ctx, zone.zone_id, primary_alb, dr_alb)
    if pair is not None and pair.kind == "failover":
        if traffic.failover_pair_restored((pair.primary, pair.secondary), primary_alb.dns_name,
                                          dr_alb.dns_name):
            return
        raise CheckFailed("the failover pair does not point each record at its own region's "
                          "ALB", resource=ctx.topology.record_name,
                          expected=f"PRIMARY -> {primary_alb.dns_name}, SECONDARY -> "
                                   f"{dr_alb.dns_name}", observed=str(pair))
    if pair is None:
        raise CheckFailed("no weighted pair to turn back into the failover pair",
                          resource=ctx.topology.record_name, expected="weighted pair",
                          observed="none")
    if pair.weights != (100, 0):
        raise CheckFailed("traffic is not all on the primary; finish failback stage 3 first",
                          resource=ctx.topology.record_name, expected="weights 100/0",
                          observed=str(pair))
    require_execute(ctx, STAGE_4, "restoring the failover pair")
    ctx.say(f"{STAGE_4}: restoring the failover pair of {ctx.topology.record_name}")
    traffic.restore_failover_pair(ctx, zone.zone_id, pair, primary_alb, dr_alb)
    actions.append("route53:ChangeResourceRecordSets weighted pair -> failover pair")
    ctx.decisions.record(STAGE_4, "failover pair restored", was=str(pair))


def scale_dr_nodegroup(ctx: DrillContext, scaling: ScalingConfig, actions: list[str]) -> None:
    handle, dr = ctx.handles.secondary, ctx.topology.secondary
    state = eks_probes.nodegroup_state(handle, dr.eks_cluster, dr.nodegroup)
    if state.scaling == scaling:
        return
    require_execute(ctx, STAGE_4, f"scaling {dr.nodegroup} back to standby")
    ctx.say(f"{STAGE_4}: scaling {dr.nodegroup} to min={scaling.min_size} "
            f"desired={scaling.desired_size} max={scaling.max_size}")
    eks_actions.update_nodegroup_scaling(handle, dr.eks_cluster, dr.nodegroup, scaling,
                                         poll_max_s=ctx.poll.max_s)
    actions.append(f"eks:UpdateNodegroupConfig {dr.nodegroup} min={scaling.min_size} "
                   f"desired={scaling.desired_size} max={scaling.max_size}")
