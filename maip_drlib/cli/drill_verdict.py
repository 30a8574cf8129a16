"""What ``gameday`` and ``stage`` print at their end: the results table, RTO and RPO lines,
the evidence folder, the final digest and signature, and the verdict (or the --json document).

Not supported: output other than ``cli.output.Output``'s (plain, --quiet, --json).
"""

from __future__ import annotations

import time
from pathlib import Path

from maip_drlib.cli.output import Output
from maip_drlib.config import Target
from maip_drlib.drill import results_table
from maip_drlib.drill.evidence_dirs import AttemptDir
from maip_drlib.drill.stage_result import PhaseRun, StageResult
from maip_drlib.evidence.manifest import Seal


def print_summary(output: Output, runs: list[PhaseRun], target: Target,
                   attempt: AttemptDir, started: float,
                   results: list[StageResult] | None = None,
                   sealed: Seal | None = None, unsigned_reason: str | None = None) -> int:
    """The table, evidence folder, digest and verdict (or the --json document); the code."""
    results = results if results is not None else [r for run in runs for r in run.results]
    elapsed = time.monotonic() - started
    banner = " (SIMULATED)" if target.simulated else ""
    code = results_table.exit_code(results, [run.exit_code for run in runs])
    output.result(f"\nDrill {attempt.drill_id} attempt {attempt.number} against "
                  f"{target.name!r} [{target.kind}]{banner} in {elapsed:.1f}s")
    output.result(results_table.colour_outcomes(
        results_table.table(results, target.time_scale if target.simulated else None),
        output.style))
    written = summary_json(attempt.path)
    if written.get("rpo"):
        from maip_drlib.evidence.summary_files import rpo_line

        output.result(rpo_line(written["rpo"]))
    if written.get("client_seen_rto"):
        output.result(results_table.client_seen_line(written["client_seen_rto"]))
    output.result(f"evidence: {attempt.path}")
    print_seal(output, sealed, unsigned_reason)
    if output.quiet:
        for failed in results_table.failures(results):
            output.error(f"maip-dr: {failed}")
    output.document(results_table.document(
        results, exit_code=code, elapsed_s=elapsed, drill_id=attempt.drill_id,
        rto_end_to_end=written.get("rto_end_to_end"), rpo=written.get("rpo"),
        attempt=attempt.number, evidence=str(attempt.path),
        target={"name": target.name, "kind": target.kind, "simulated": target.simulated,
                "time_scale": target.time_scale if target.simulated else None},
        digest=sealed.digest if sealed else None,
        signature=sealed.signature if sealed else None))
    word = output.style("PASS" if code == 0 else "FAIL", ok=code == 0)
    output.verdict(f"verdict: {word} (exit {code})")
    return code


def summary_json(attempt_dir: Path) -> dict:
    """The game day's summary.json (RTO end to end, RPO), or nothing for a single stage."""
    import json

    try:
        loaded = json.loads((attempt_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}



def print_seal(output: Output, sealed: Seal | None, unsigned_reason: str | None = None
                ) -> None:
    if sealed is None:
        return
    output.result(f"final digest: sha256:{sealed.digest}")
    if sealed.signature:
        output.result(f"signature: hmac-sha256:{sealed.signature}")
    else:
        output.result("signature: none (no HMAC key given: MAIP_DR_HMAC_KEY or "
                      "--hmac-key-file): unsigned evidence; keep the final digest to verify "
                      "it (maip-dr verify --expect-digest)")
    if unsigned_reason is not None:
        output.result(f"unsigned evidence accepted by the operator: {unsigned_reason}")

