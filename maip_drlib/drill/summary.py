"""The end-of-drill table (stages, outcomes, durations, RTO verdicts) and the exit code."""

from __future__ import annotations

from collections.abc import Iterable

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_GUARD, EXIT_ENVIRONMENT = 0, 1, 2, 3, 4


def _label(result: dict) -> str:
    stage = f" {result['stage']}" if result.get("stage") else ""
    return f"{result['phase']}{stage}: {result['scenario']}"


def table(results: Iterable[dict], time_scale: float | None) -> str:
    rows = list(results)
    if not rows:
        return "(no stage ran)"
    width = max(len(_label(r)) for r in rows)
    unit = "sim min" if time_scale else "min"
    lines = [f"{'STAGE':<{width}}  {'OUTCOME':<8}  {'SECONDS':>8}  {unit.upper():>8}  "
             f"{'BUDGET':>6}  RTO"]
    for r in rows:
        minutes = r.get("simulated_minutes")
        budget = r.get("rto_budget_minutes")
        rto = "-" if r.get("rto_ok") is None else ("ok" if r["rto_ok"] else "OVER")
        lines.append(
            f"{_label(r):<{width}}  {r['outcome']:<8}  {r.get('duration_s', 0):8.2f}  "
            f"{(f'{minutes:.1f}' if minutes is not None else '-'):>8}  "
            f"{(f'{budget:g}' if budget is not None else '-'):>6}  {rto}")
    if time_scale:
        lines.append(f"(simulated: {time_scale:g} real seconds per simulated minute; budgets "
                     "are business minutes)")
    return "\n".join(lines)


def exit_code(results: Iterable[dict], pytest_codes: Iterable[int] = ()) -> int:
    """DESIGN.md section 8 over every stage result (and pytest's own exit codes)."""
    rows = list(results)
    kinds = {r.get("error_kind") for r in rows if r["outcome"] == "failed"}
    if "guard" in kinds:
        return EXIT_GUARD
    if "permission" in kinds:  # credentials or an IAM permission missing: bad input
        return EXIT_USAGE
    if kinds - {"environment"}:
        return EXIT_FAILED
    if kinds:
        return EXIT_ENVIRONMENT
    codes = set(pytest_codes)
    if 3 in codes:  # pytest's internal error (the CLI checks --dr-confirm before pytest)
        return EXIT_ENVIRONMENT
    if codes & {2, 4, 5}:  # bad config or options, pytest usage error, nothing selected
        return EXIT_USAGE
    if any(r.get("rto_ok") is False for r in rows):
        return EXIT_FAILED
    if any(r["outcome"] == "skipped" and r.get("destructive") for r in rows):
        return EXIT_FAILED
    if codes - {0}:
        return EXIT_FAILED
    return EXIT_OK
