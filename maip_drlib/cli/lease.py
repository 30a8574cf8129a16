"""The drill lease at the command line: held by ``gameday`` and a mutating ``stage``
(``drill_lease``), and ``maip-dr lease show | create-table`` (docs/lease.md).

``show`` is read-only (its handles refuse every write); ``create-table`` needs ``--dr-execute``
and ``--dr-confirm NAME`` on sim and live targets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click
from botocore.exceptions import ClientError

from maip_drlib.cli.consent import consent_options, require_write_consent
from maip_drlib.cli.drill_options import check_drill_id
from maip_drlib.cli.output import (
    Output,
    output_options,
    start_output,
    supports_output,
)
from maip_drlib.config import Config, Target
from maip_drlib.drill.lease import DrillLease, Holder, LeaseGrant, lease_key
from maip_drlib.errors import DRError
from maip_drlib.write_gate import WriteGate


@contextlib.contextmanager
def drill_lease(config: Config, target: Target, drill_id: str, opts: dict,
                 output: Output) -> Iterator[tuple[DrillLease, LeaseGrant]]:
    """Hold the drill lease (heartbeat running) for the block; released at its end."""
    from maip_drlib.regions import build_region_handles

    check_drill_id(drill_id)  # before the lease records it
    info = output.info

    topology = config.topology
    ttl = opts.get("dr_lease_ttl") or topology.lease_ttl_s
    handles = build_region_handles(target, topology,  # consent checked before
                                   writes=WriteGate.consented(target=target.name))
    try:
        lease = DrillLease(client=handles.secondary.client("dynamodb"),
                           table=topology.lease_table, region=handles.secondary.region,
                           key=lease_key(topology.record_name), ttl_s=float(ttl),  # type: ignore[arg-type]
                           holder=Holder.this_process(drill_id),
                           ttl_key="--dr-lease-ttl" if opts.get("dr_lease_ttl")
                           else "topology.lease_ttl_s")
        grant = lease.acquire(opts.get("dr_break_lease"))  # type: ignore[arg-type]
        taken = " (taken over from a previous holder)" if grant.broken else ""
        info(f"maip-dr: drill lease acquired{taken}: {grant.key} in {grant.table} "
             f"({grant.region}), ttl {grant.ttl_s:g}s, holder {grant.holder.who}")
        lease.start_heartbeat()
        try:
            yield lease, grant
        finally:
            try:
                if not lease.release():
                    output.error("maip-dr: the drill lease was no longer ours at the end "
                                 "(broken by another drill)")
            except (DRError, ClientError) as error:
                output.error(f"maip-dr: could not release the drill lease ({error}); it "
                             f"expires by itself after {grant.ttl_s:g}s")
    finally:
        handles.close()


@click.group("lease", help="The drill lease: one game day at a time (docs/lease.md). "
                          "'show' is read-only; 'create-table' needs --dr-confirm NAME on sim "
                          "and live targets.")
def lease_group() -> None:
    pass


@supports_output
@lease_group.command("show")
@output_options
@click.pass_context
def lease_show(ctx: click.Context, as_json: bool, quiet: bool) -> None:
    """Read-only: who holds the drill lease of the target's platform, and until when.

    Exit codes: 0 shown (held or free); 2 bad input or the lease table missing; 4 target
    unreachable.
    """
    output = start_output(ctx, as_json=as_json, quiet=quiet)
    from maip_drlib.cli.targets import running_target
    from maip_drlib.regions import build_region_handles

    with running_target(ctx) as (config, target):
        handles = build_region_handles(target, config.topology)
        try:
            lease = DrillLease(client=handles.secondary.client("dynamodb"),
                               table=config.topology.lease_table,
                               region=handles.secondary.region,
                               key=lease_key(config.topology.record_name),
                               ttl_s=config.topology.lease_ttl_s,
                               holder=Holder.this_process("lease-show"))
            stored = lease.stored()
        finally:
            handles.close()
    from maip_drlib.drill.lease import describe_break, is_held, recent_breaks

    item = stored if is_held(stored) else None
    breaks = recent_breaks(stored)
    output.document({"key": lease.key, "table": lease.table, "region": lease.region,
                     "held": item is not None, "holder": item, "breaks": breaks})
    for entry in breaks:
        output.result(f"  break: {describe_break(entry)}")
    if item is None:
        output.verdict(f"{lease.key}: free ({lease.table} in {lease.region})")
    else:
        output.verdict(f"{lease.key}: held by {lease.describe(item)}")


@lease_group.command("create-table")
@consent_options("creating the lease table")
@click.pass_context
def lease_create_table(ctx: click.Context, dr_execute: bool, dr_confirm: str | None) -> None:
    """Create the lease table (on demand, key 'pk') in the DR region; once per account.

    Mutating: on sim and live targets it needs --dr-execute --dr-confirm NAME (exit 3
    otherwise). Exit codes: 0 created or already there; 2 bad input; 3 not confirmed; 4
    unreachable.
    """
    from maip_drlib.cli.targets import running_target
    from maip_drlib.drill.lease import create_lease_table
    from maip_drlib.regions import build_region_handles

    with running_target(ctx) as (config, target):
        require_write_consent(target, execute=dr_execute, confirm=dr_confirm,
                              what="creating the lease table")
        handles = build_region_handles(target, config.topology,
                                       writes=WriteGate.consented(target=target.name))
        try:
            created = create_lease_table(handles.secondary.client("dynamodb"),
                                         config.topology.lease_table)
        finally:
            handles.close()
    state = "created" if created else "already exists"
    click.echo(f"{config.topology.lease_table} ({handles.secondary.region}): {state}")
