"""An attempt of a drill from the command line: its folder and journal, the evidence
redactor, ``--resume-from`` and the commands that resume a stopped drill or stage.

Not supported: resuming into another reports folder than the drill's own.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Iterator
from pathlib import Path

import click

from maip_drlib.config import Target
from maip_drlib.drill.evidence_dirs import AttemptDir
from maip_drlib.errors import ConfigError
from maip_drlib.evidence.edge_secrets import redactor_from_environment
from maip_drlib.evidence.journal import Journal
from maip_drlib.evidence.redact import Redactor


def check_reports_folder(reports_dir: Path, resumed_drill: str | None) -> None:
    """The evidence folder must be writable (checked before the lease), and a resumed drill
    must exist in it."""
    probe = reports_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"{reports_dir} is not a writable folder (checked at {probe})",
                          key="--reports")
    if resumed_drill is not None and not (reports_dir / resumed_drill).is_dir():
        raise ConfigError(f"no drill {resumed_drill!r} in {reports_dir} to resume",
                          key="--drill-id")


@contextlib.contextmanager
def attempt_journal(attempt: AttemptDir) -> Iterator[Journal]:
    """The attempt's journal, opened in this process (a stage's pytest session writes to it)."""
    journal = Journal.open(attempt.path, drill_id=attempt.drill_id, attempt=attempt.number,
                           redactor=redactor_for(None))
    try:
        yield journal
    finally:
        journal.close()


def stage_command_line(ctx: click.Context, target: Target, phase: str, drill_id: str,
                   opts: dict) -> str:
    """The command that runs the stopped stage again as a new attempt of the same drill."""
    root = ctx.find_root().obj
    parts = ["maip-dr"]
    if root.get("config_path"):
        parts += ["--config", str(root["config_path"])]
    parts += ["--target", target.name, "stage", "{phase}", "{stage}", "--drill-id", drill_id]
    if opts.get("dr_execute"):
        parts += ["--dr-execute", "--dr-confirm", target.name]
    if opts.get("dr_planned"):
        parts.append("--dr-planned")
    elif opts.get("dr_declare_outage"):
        parts += ["--dr-declare-outage", "'REASON'"]
    if opts.get("soak_step"):
        parts += ["--soak-step", f"{opts['soak_step']:g}"]
    if opts.get("dr_require_approval"):  # the second person approves the resumed stages too
        parts.append("--dr-require-approval")
    for folder in opts.get("features") or ():
        parts += ["--features", shlex.quote(str(folder))]
    del phase  # filled in from where the run stopped
    return " ".join(parts)


def resume_command_line(ctx: click.Context, target: Target, drill_id: str, opts: dict) -> str:
    """The command that resumes this drill (the stage is filled in by the game day)."""
    root = ctx.find_root().obj
    parts = ["maip-dr"]
    if root.get("config_path"):
        parts += ["--config", str(root["config_path"])]
    parts += ["--target", target.name, "gameday", "--drill-id", drill_id,
              "--resume-from", "{phase}:{stage}", "--dr-execute", "--dr-confirm", target.name]
    if opts.get("dr_planned"):
        parts.append("--dr-planned")
    elif target.kind == "live":
        parts += ["--dr-declare-outage", "'REASON'"]
    if opts.get("soak_step"):
        parts += ["--soak-step", f"{opts['soak_step']:g}"]
    if opts.get("dr_require_approval"):  # the second person approves the resumed stages too
        parts.append("--dr-require-approval")
    for folder in opts.get("features") or ():
        parts += ["--features", shlex.quote(str(folder))]
    return " ".join(parts)



def journal_unsigned_evidence(journal: Journal, target: Target, reason: str) -> None:
    """The ``--unsigned-evidence`` override, as the first record of the attempt."""
    journal.record("evidence.unsigned", reason=reason, target=target.name,
                   target_kind=target.kind, override="--unsigned-evidence")


def redactor_for(key: bytes | None) -> Redactor:
    """Patterns, plus every secret this process was given (environment, HMAC key)."""
    return redactor_from_environment(
        os.environ, extra=(key.decode("utf-8", "replace"),) if key else ())


def parse_resume(text: str) -> tuple[str, int]:
    """``--resume-from failover:3`` -> ("failover", 3), a stage of the registry."""
    from maip_drlib.drill.registry import parse_stage

    found = parse_stage(text, key="--resume-from")
    return found.phase, found.number
