"""``maip-dr verify``: check a drill's evidence (manifests, journal chain, seals, HMAC).

The key is read here, at the edge: ``--hmac-key-file F`` (raw bytes, trailing newline
stripped), else the environment variable ``MAIP_DR_HMAC_KEY``. ``--expect-digest
sha256:HEX`` compares the final digest with one kept outside the folder (printed by the game
day, sent with its notification). Verdicts (docs/evidence.md): "evidence intact" exit 0, only
when the key checked everything or the final digest matched; "unverified" exit 1 when nothing
was found wrong but nothing outside the folder vouches for it; "tampered" exit 1 with one line
per problem; 2 for bad input (no such drill, unreadable key file, malformed digest).

``--json`` prints one document (attempts, problems, notes, final digest, verdict);
``--quiet`` only the problems and the verdict line.

Not supported: verifying several drills at once, or a drill folder given by a glob.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from maip_drlib.cli.output import output_options, start_output, supports_output
from maip_drlib.errors import ConfigError

EXIT_OK, EXIT_PROBLEMS = 0, 1
EXIT_UNVERIFIED = 1  # as a problem: CI must not read unvouched evidence as a pass
DIGEST = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")  # as the game day or verify prints it


def expect_digest_option(_ctx: click.Context, _param: click.Parameter,
                         value: str | None) -> str | None:
    """``sha256:<64 hex>`` (or the bare hex ``verify`` prints) -> the hex; one ConfigError line
    (exit 2) otherwise."""
    if value is None:
        return None
    match = DIGEST.match(value.strip().lower())
    if not match:
        raise ConfigError(f"expected sha256:<64 hex digits> (the final digest the game day "
                          f"printed), got {value[:80]!r}", key="--expect-digest")
    return match.group(1)


def resolve_drill(drill: str | None, reports: Path) -> Path:
    """The drill folder: a path, an id under ``reports``, or the newest drill there."""
    if drill is not None:
        as_path = Path(drill)
        if as_path.is_dir():
            return as_path
        if (reports / drill).is_dir():
            return reports / drill
        raise ConfigError(f"no drill folder {drill} (nor {reports / drill})", key="DRILL")
    if not reports.is_dir():
        raise ConfigError("no reports folder (pass DRILL or --reports)", source=str(reports),
                          key="--reports")
    drills = []
    for child in reports.iterdir():
        attempts = [a for a in child.glob("attempt-*") if a.is_dir()] if child.is_dir() else []
        if attempts:
            drills.append((max(a.stat().st_mtime for a in attempts), child.name, child))
    if not drills:
        raise ConfigError("no drill in the reports folder", source=str(reports),
                          key="--reports")
    return max(drills)[2]


@supports_output
@click.command("verify")
@click.argument("drill", required=False, metavar="[DRILL_DIR_OR_ID]")
@click.option("--reports", "reports_dir", type=click.Path(path_type=Path),
              default=Path("reports"), show_default=True,
              help="Folder holding the drills (used for an id, or to find the newest).")
@click.option("--hmac-key-file", type=click.Path(path_type=Path), default=None,
              help="File holding the HMAC key (else the MAIP_DR_HMAC_KEY variable).")
@click.option("--expect-digest", default=None, metavar="sha256:HEX",
              callback=expect_digest_option,
              help="The drill's final digest as kept outside the folder (the game day prints "
                   "it): intact also when it matches, without the key.")
@output_options
@click.pass_context
def verify_command(ctx: click.Context, drill: str | None, reports_dir: Path,
                   hmac_key_file: Path | None, expect_digest: str | None, as_json: bool,
                   quiet: bool) -> None:
    """Verify a drill's evidence: every attempt's manifest and files, the journal chain
    across attempts, the chain of seals and, with a key, the signatures, every journal
    record's HMAC and the signed index of attempts. Without DRILL, the newest drill under
    --reports.

    Read-only: it changes no file. Exit codes: 0 evidence intact (the key checked it all, or
    the final digest equals --expect-digest); 1 tampered (a problem found, each named); 1
    unverified (nothing found wrong, but no key and no --expect-digest, or evidence sealed
    before keyed journals: anyone who can write the folder could have recomputed its
    hashes); 2 bad input (no such drill, unreadable key file, malformed digest).
    """
    from dataclasses import asdict

    from maip_drlib.evidence.integrity import verify_drill
    from maip_drlib.evidence.manifest import load_key

    output = start_output(ctx, as_json=as_json, quiet=quiet)
    key = load_key(os.environ.get("MAIP_DR_HMAC_KEY"), hmac_key_file)
    drill_dir = resolve_drill(drill, reports_dir)
    report = verify_drill(drill_dir, key=key, expect_digest=expect_digest)
    code = {"intact": EXIT_OK, "tampered": EXIT_PROBLEMS}.get(report.verdict, EXIT_UNVERIFIED)
    output.result(f"drill {drill_dir.name} ({drill_dir})")
    for status in report.attempts:
        output.result(f"  {status.line()}")
    for problem in report.problems:
        (output.error if output.quiet else output.result)(
            f"{output.style('PROBLEM', ok=False)} {problem}")
    for note in report.notes:
        output.result(f"note: {note}")
    output.result(f"final digest: "
                  f"{report.final_digest or 'none (the last attempt is not sealed)'}")
    if report.verified_by:
        output.result(f"verified by: {' and '.join(report.verified_by)}")
    output.document({"drill": drill_dir.name, "path": str(drill_dir),
                     "ok": report.verdict == "intact", "verdict": report.verdict,
                     "verified_by": report.verified_by, "exit_code": code,
                     "final_digest": report.final_digest,
                     "signatures_checked": report.signatures_checked,
                     "attempts": [asdict(status) for status in report.attempts],
                     "problems": report.problems, "notes": report.notes})
    if report.verdict == "intact":
        output.verdict(f"verdict: {output.style('evidence intact', ok=True)} (exit 0)")
    elif report.verdict == "tampered":
        word = output.style(f"tampered: {len(report.problems)} problem(s)", ok=False)
        output.verdict(f"verdict: {word} (exit {code})")
    else:
        output.verdict(f"verdict: {output.style('unverified', ok=False)}: no problem found, but "
                       f"nothing outside the folder vouches for it (give the HMAC key or "
                       f"--expect-digest) (exit {code})")
    ctx.exit(code)
