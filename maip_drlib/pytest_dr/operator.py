"""The operator's part of a drill: approval between stages, the dry-run plan, and writing
every recorded decision next to the stage results."""

from __future__ import annotations

import getpass
import socket
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from maip_drlib.drill.context import DecisionLog, DrillContext

CONTEXT_KEY = pytest.StashKey[DrillContext]()
APPROVED_KEY = pytest.StashKey[int]()


def ask_approval(item: pytest.Item, label: str, decisions: DecisionLog) -> None:
    """Wait for the operator to type 'yes' before a mutating stage; skip the stage otherwise.

    The question goes to the terminal with output capture suspended; closed standard input
    (a scheduled run) counts as no approval.
    """
    capture = item.config.pluginmanager.getplugin("capturemanager")
    question = f"\nmaip-dr: about to run {label}. Type 'yes' to go on: "
    if capture is not None:
        capture.suspend_global_capture(in_=True)  # gives the real standard input back
        try:
            answer = _ask(question)
        finally:
            capture.resume_global_capture()
    else:
        answer = _ask(question)
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    approved = answer.strip().lower() == "yes"
    decisions.record(label, "operator approved" if approved else "operator did not approve",
                     operator=who, answer=answer.strip()[:40],
                     at=datetime.now(UTC).isoformat(timespec="seconds"))
    if not approved:
        pytest.skip(f"not approved by the operator ({who}) under --dr-pause-between-stages")


def _ask(question: str) -> str:
    sys.stderr.write(question)
    sys.stderr.flush()
    line = sys.stdin.readline() if sys.stdin is not None and not sys.stdin.closed else ""
    return line if line else "(standard input closed)"


def print_plan(context: DrillContext) -> None:
    from maip_drlib.drill.planner import plan_drill

    calls = plan_drill(context)
    lines = [f"maip-dr dry run: {len(calls)} mutating calls planned, none made"]
    for index, call in enumerate(calls, 1):
        params = ", ".join(f"{k}={v}" for k, v in call.parameters.items())
        lines.append(f"{index:3d}. [{call.stage}] {call.service}:{call.operation} "
                     f"({call.region}) {params}")
    print("\n".join(lines), file=sys.stderr, flush=True)


def write_decisions(results_path: Path, decisions: DecisionLog) -> Path:
    path = results_path.with_name(results_path.stem + ".decisions.json")
    from maip_drlib.evidence.redacted_json import write_json  # evidence: redacted, then JSON

    write_json(path, [asdict(entry) for entry in decisions.entries], indent=2)
    return path
