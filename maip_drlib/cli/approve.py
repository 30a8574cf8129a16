"""``maip-dr approve DRILL_ID --stage failover:2 [--reject REASON]``: a second person decides
on a waiting drill's mutating stage (docs/approval.md; ``maip_drlib.drill.approval``).

It reads the pending request of that drill and stage from the drill lease table in the DR
region, prints what is being approved (the operator's ARN, the stage, the deadline, the
stage's planned mutating calls), checks that the caller (STS GetCallerIdentity in the DR
region) is another AWS identity than the operator, and writes one decision item with a
conditional put (one decision per request). It writes nothing else.

Not supported: the embedded target (its simulation lives in the drill's own process, with one
identity), approving a request that has expired or been decided, approving ahead of the
request (the drill must be waiting).
"""

from __future__ import annotations

import click

from maip_drlib.cli.consent import consent_options, require_write_consent
from maip_drlib.cli.output import output_options, start_output, supports_output
from maip_drlib.errors import ConfigError


@supports_output
@click.command("approve")
@click.argument("drill_id")
@click.option("--stage", "stage_text", required=True, metavar="PHASE:N",
              help="The waiting stage: failover:1..5 or failback:1..4 (as the drill printed).")
@click.option("--reject", "reject_reason", default=None, metavar="REASON",
              help="Reject the stage instead (10 to 500 printable characters, recorded): the "
                   "drill stops before any call of it.")
@consent_options("writing the decision")
@output_options
@click.pass_context
def approve_command(ctx: click.Context, drill_id: str, stage_text: str,
                    reject_reason: str | None, dr_execute: bool, dr_confirm: str | None,
                    as_json: bool, quiet: bool) -> None:
    """Approve (or --reject) a waiting drill's mutating stage, as a second person.

    MUTATING: writes one decision item to the drill lease table in the DR region (nothing
    else); on sim and live targets it needs --dr-execute --dr-confirm NAME, like every write.
    It shows the pending request (operator ARN, stage, deadline, planned calls) before
    writing. The caller's AWS identity (STS) must differ from the drill operator's. The
    waiting drill journals approval.granted or approval.rejected (then stops, exit 3).
    Exit codes: 0 decision recorded; 2 bad input, no request pending for that drill and
    stage, or credentials/permission missing; 3 refused: your identity is the operator's,
    the request is decided or expired, or no consent; 4 the table or STS unreachable.
    """
    output = start_output(ctx, as_json=as_json, quiet=quiet)
    from maip_drlib.cli.drill_options import check_drill_id
    from maip_drlib.drill.approval import (
        REJECTED,
        ApprovalTable,
        StageRef,
        approve,
        check_reason,
    )

    check_drill_id(drill_id)
    stage = StageRef.parse(stage_text)
    reason = check_reason(reject_reason) if reject_reason is not None else None
    from maip_drlib.cli.targets import load_cli_config, load_target

    target = load_target(ctx)
    if target.kind == "embedded":
        raise ConfigError("approval needs the persistent target the drill runs against (a "
                          "live-kind target); the embedded simulation is the drill's own",
                          key="--config")
    require_write_consent(target, execute=dr_execute, confirm=dr_confirm,
                          what="recording an approval decision")
    config = load_cli_config(ctx)
    from maip_drlib.regions import build_region_handles
    from maip_drlib.write_gate import WriteGate

    handles = build_region_handles(target, config.topology,
                                   writes=WriteGate.consented(target=target.name))
    try:
        approver = str(handles.secondary.client("sts").get_caller_identity()["Arn"])
        table = ApprovalTable(client=handles.secondary.client("dynamodb"),
                              table=config.topology.lease_table,
                              region=handles.secondary.region)

        def show(lines: list[str]) -> None:
            output.info("maip-dr approve: the pending request")
            for line in lines:
                output.info(f"  {line}")
            output.info(f"  you: {approver}")

        decision = approve(table, drill_id, stage, approver, reason=reason, show=show)
    finally:
        handles.close()
    output.document({"drill_id": drill_id, "decision": decision.decision,
                     **decision.journal_fields()})
    word = "rejected" if decision.decision == REJECTED else "approved"
    output.verdict(f"{stage.name} of drill {drill_id}: {word} by {approver} at "
                   f"{decision.decided_at}")
