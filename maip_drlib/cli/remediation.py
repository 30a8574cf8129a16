"""``maip-dr remediation set`` and ``remediation list``: decisions on a drill's remediation items.

``set DRILL ITEM --owner X --due YYYY-MM-DD`` or ``set DRILL ITEM --accept-risk "REASON"``
appends one line to ``<reports>/<drill id>/remediation.jsonl`` (``evidence/remediation.py``),
signed with the evidence HMAC key (``--hmac-key-file F``, else ``MAIP_DR_HMAC_KEY``); it
never touches the target nor a sealed attempt. ``list [DRILL]`` prints every item with its
current decision (one drill, or every drill of ``--reports``); ``list DRILL --record`` prints
the drill's whole DR test record as Markdown with the decisions applied.

Exit codes: 0 recorded / listed; 2 bad input (no such drill, no record, unknown item, a date
that is not YYYY-MM-DD, --due without --owner, neither or both decisions, an unreadable key
file); 3 an unsigned decision refused for a drill sealed with the key. Not supported: editing
or withdrawing a decision (record a new one: the latest wins), several items at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from maip_drlib.cli.output import Output, output_options, start_output, supports_output
from maip_drlib.errors import ConfigError

KEY_HELP = ("File holding the evidence HMAC key (else the MAIP_DR_HMAC_KEY variable); a drill "
            "sealed with the key needs it.")


def drill_folder(drill: str, reports: Path) -> Path:
    """The drill folder: a path to one, or an id under ``reports``; ConfigError naming DRILL."""
    from maip_drlib.evidence.journal import attempt_dirs

    as_path = Path(drill)
    for candidate in (as_path, reports / drill):
        if candidate.is_dir() and attempt_dirs(candidate):
            return candidate
    raise ConfigError(f"no drill {drill[:80]!r} in {reports} (a folder holding "
                      "attempt-<n>)", key="DRILL")


def _check_choice(owner: str | None, due: str | None, accept_risk: str | None) -> None:
    if accept_risk is not None and (owner is not None or due is not None):
        raise ConfigError("give either --owner with --due, or --accept-risk, not both",
                          key="--accept-risk")
    if accept_risk is None and owner is None:
        raise ConfigError("missing: give --owner NAME with --due YYYY-MM-DD, or "
                          "--accept-risk REASON", key="--owner")
    if owner is not None and due is None:
        raise ConfigError("an owned item needs a due date (YYYY-MM-DD)", key="--due")


def _cells(item: dict[str, Any]) -> str:
    status = str(item.get("status"))
    if status == "owned":
        status += f" by {item.get('owner')}, due {item.get('due')}" + (
            ", OVERDUE" if item.get("overdue") else "")
    elif status == "risk accepted":
        status += f": {item.get('accepted_risk')}"
    return f"{item.get('id')}  {status}  | {item.get('title')}"


def _print_drill(output: Output, drill_dir: Path, record: dict[str, Any]) -> None:
    from maip_drlib.evidence.remediation import open_ids

    items = record.get("remediation") or []
    opened = open_ids(record)
    output.result(f"drill {drill_dir.name}: {len(items)} item(s), open: "
                  f"{', '.join(opened) or 'none'}")
    for item in items:
        output.result(f"  {_cells(item)}")


@click.group("remediation")
def remediation_group() -> None:
    """Decisions on the remediation items of a drill's DR test record: an owner and a due
    date, or an accepted risk (docs/compliance.md).

    'set' writes one line to reports/<drill id>/remediation.jsonl, never touches the target
    nor a sealed attempt; 'list' is read-only.
    """


@supports_output
@remediation_group.command("set")
@click.argument("drill", metavar="DRILL")
@click.argument("item", metavar="ITEM")
@click.option("--owner", default=None, metavar="NAME",
              help="Who fixes the item (a person or team); needs --due.")
@click.option("--due", default=None, metavar="YYYY-MM-DD",
              help="The target date of the fix (overdue once passed, UTC).")
@click.option("--accept-risk", "accept_risk", default=None, metavar="REASON",
              help="Leave the item unfixed, for this reason (instead of --owner/--due).")
@click.option("--reports", "reports_dir", type=click.Path(path_type=Path),
              default=Path("reports"), show_default=True,
              help="Folder holding the drills (DRILL is an id there, or a drill folder).")
@click.option("--hmac-key-file", type=click.Path(path_type=Path), default=None, help=KEY_HELP)
@output_options
@click.pass_context
def set_command(ctx: click.Context, drill: str, item: str, owner: str | None, due: str | None,
                accept_risk: str | None, reports_dir: Path, hmac_key_file: Path | None,
                as_json: bool, quiet: bool) -> None:
    """Record the decision on remediation item ITEM (R1, R2... as the DR test record lists
    them) of DRILL: --owner NAME --due YYYY-MM-DD, or --accept-risk REASON.

    Safety: writes one line to reports/<drill id>/remediation.jsonl (appended; signed with
    the HMAC key when one is given), never touches the target nor a sealed attempt; makes no
    AWS or Kubernetes call. A drill sealed with the key refuses an unsigned decision. The
    latest decision on an item wins; earlier ones stay in the file.

    Exit codes: 0 recorded; 2 bad input (no such drill or record, unknown item, a date that
    is not YYYY-MM-DD, a missing owner or due date, an unreadable key file); 3 refused: an
    unsigned decision for a signed drill (nothing written).
    """
    from maip_drlib.evidence.edge_secrets import redactor_from_environment
    from maip_drlib.evidence.manifest import load_key
    from maip_drlib.evidence.remediation import (
        DECISIONS_NAME,
        append_decision,
        check_owner,
        check_reason,
        current_record,
        find_item,
        parse_due,
        sealed_record,
    )

    output = start_output(ctx, as_json=as_json, quiet=quiet)
    _check_choice(owner, due, accept_risk)
    owner = check_owner(owner) if owner is not None else None
    due = parse_due(due) if due is not None else None
    accept_risk = check_reason(accept_risk) if accept_risk is not None else None
    key = load_key(os.environ.get("MAIP_DR_HMAC_KEY"), hmac_key_file)
    drill_dir = drill_folder(drill, reports_dir)
    found = find_item(sealed_record(drill_dir), item)
    redactor = redactor_from_environment(
        os.environ, extra=(key.decode("utf-8", "replace"),) if key else ())
    line = append_decision(drill_dir, found, owner=owner, due=due, accepted_risk=accept_risk,
                           key=key, redactor=redactor)
    now = next(i for i in current_record(drill_dir)["remediation"]
               if i.get("key") == found.get("key"))
    output.result(f"{drill_dir / DECISIONS_NAME}: {_cells(now)}")
    output.document({"drill": drill_dir.name, "decision": line, "item": now})
    signed = "signed with the HMAC key" if line.get("mac") else "UNSIGNED (no key given)"
    output.verdict(f"recorded: {found.get('id')} {line['decision']} ({signed}) (exit 0)")


@supports_output
@remediation_group.command("list")
@click.argument("drill", required=False, metavar="[DRILL]")
@click.option("--reports", "reports_dir", type=click.Path(path_type=Path),
              default=Path("reports"), show_default=True,
              help="Folder holding the drills.")
@click.option("--record", "as_record", is_flag=True, default=False,
              help="Print DRILL's whole DR test record as Markdown, decisions applied.")
@output_options
@click.pass_context
def list_command(ctx: click.Context, drill: str | None, reports_dir: Path, as_record: bool,
                 as_json: bool, quiet: bool) -> None:
    """List the remediation items of DRILL (or of every drill under --reports that has a DR
    test record) with their current decision: open, owned (owner, due date, OVERDUE once
    passed) or risk accepted. --record prints DRILL's whole DR test record as Markdown with
    the decisions applied (the sealed record itself is never rewritten).

    Read-only: it changes no file and calls nothing. Exit codes: 0 listed; 2 no such drill
    or folder, or DRILL has no DR test record.
    """
    from maip_drlib.evidence.dr_test_record import record_path
    from maip_drlib.evidence.dr_test_record_md import render
    from maip_drlib.evidence.history import find_drills
    from maip_drlib.evidence.remediation import current_record, open_ids

    output = start_output(ctx, as_json=as_json, quiet=quiet)
    if as_record and drill is None:
        raise ConfigError("--record needs DRILL", key="--record")
    if drill is not None:
        drills = [drill_folder(drill, reports_dir)]
    elif reports_dir.is_dir():
        drills = [d for d in find_drills(reports_dir) if record_path(d) is not None]
    else:
        raise ConfigError("no such folder", source=str(reports_dir), key="--reports")
    documents = []
    for drill_dir in drills:
        record = current_record(drill_dir)
        documents.append({"drill": drill_dir.name, "open": open_ids(record),
                          "items": record.get("remediation") or []})
        if as_record:
            output.result(render(record))
        else:
            _print_drill(output, drill_dir, record)
    output.document({"reports": str(reports_dir), "drills": documents})
    total = sum(len(d["open"]) for d in documents)
    output.verdict(f"{len(documents)} drill(s), {total} open item(s) (exit 0)")
