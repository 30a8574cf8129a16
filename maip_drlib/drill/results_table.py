"""The end-of-drill table (stages, outcomes, durations, RTO verdicts), the exit code, the
``--json`` document, the one-line failures of ``--quiet`` and the line of the RTO as clients
saw it (``client_seen_line``).

Not supported: colour inside the table's columns other than the outcome and RTO words (the
widths are computed on plain text).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from maip_drlib.drill.stage_result import StageResult, rows

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_GUARD, EXIT_ENVIRONMENT = 0, 1, 2, 3, 4


def _label(result: StageResult) -> str:
    stage = f" {result.stage}" if result.stage else ""
    return f"{result.phase}{stage}: {result.scenario}"


def table(results: Iterable[StageResult], time_scale: float | None) -> str:
    shown = list(results)
    if not shown:
        return "(no stage ran)"
    width = max(len(_label(r)) for r in shown)
    unit = "sim min" if time_scale else "min"
    lines = [f"{'STAGE':<{width}}  {'OUTCOME':<8}  {'SECONDS':>8}  {unit.upper():>8}  "
             f"{'BUDGET':>6}  RTO"]
    for r in shown:
        minutes = r.simulated_minutes
        budget = r.rto_budget_minutes
        rto = "-" if r.rto_ok is None else ("ok" if r.rto_ok else "OVER")
        lines.append(
            f"{_label(r):<{width}}  {r.outcome:<8}  {r.duration_s:8.2f}  "
            f"{(f'{minutes:.1f}' if minutes is not None else '-'):>8}  "
            f"{(f'{budget:g}' if budget is not None else '-'):>6}  {rto}")
    if time_scale:
        lines.append(f"(simulated: {time_scale:g} real seconds per simulated minute; budgets "
                     "are business minutes)")
    return "\n".join(lines)


def exit_code(results: Iterable[StageResult], pytest_codes: Iterable[int] = ()) -> int:
    """DESIGN.md section 8 over every stage result (and pytest's own exit codes)."""
    every = list(results)
    kinds = {r.error_kind for r in every if r.failed}
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
    if any(r.rto_ok is False for r in every):
        return EXIT_FAILED
    if any(r.outcome == "skipped" and r.destructive for r in every):
        return EXIT_FAILED
    if codes - {0}:
        return EXIT_FAILED
    return EXIT_OK


_WORDS = re.compile(r"(?<=  )(passed|failed|skipped|OVER|ok)(?=\s|$)")


def colour_outcomes(text: str, style: Callable[..., str]) -> str:
    """``text`` (a ``table``) with outcome and RTO words styled; widths are kept because
    the words are padded before styling and escapes are stripped off a non-terminal."""
    def paint(match: re.Match[str]) -> str:
        word = match.group(1)
        ok = None if word == "skipped" else word in ("passed", "ok")
        return style(word, ok=ok)
    return "\n".join(_WORDS.sub(paint, line) if index else line
                     for index, line in enumerate(text.splitlines()))


def failures(results: Iterable[StageResult]) -> list[str]:
    """One line per failed stage or check, and per stage over its RTO budget."""
    lines = []
    for r in results:
        message = " ".join(str(r.message or "").split())[:300]
        if r.failed:
            lines.append(f"FAILED {_label(r)}" + (f": {message}" if message else ""))
        elif r.rto_ok is False:
            lines.append(f"OVER RTO BUDGET {_label(r)}: {r.simulated_minutes or 0:.1f} "
                         f"min against {r.rto_budget_minutes}")
        elif r.outcome == "skipped" and r.destructive:
            lines.append(f"SKIPPED (mutating) {_label(r)}" + (f": {message}" if message else ""))
    return lines


def document(results: list[StageResult], *, exit_code: int, elapsed_s: float,
             **fields: Any) -> dict[str, Any]:
    """The ``--json`` document of a game day or stage: the fields given, the verdict, the
    counts and every result (as the rows of the results files)."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return {**fields, "verdict": "PASS" if exit_code == EXIT_OK else "FAIL",
            "exit_code": exit_code, "elapsed_s": round(elapsed_s, 3), "counts": counts,
            "failures": failures(results), "results": rows(results)}


def client_seen_line(figure: dict[str, Any] | None) -> str:
    """The RTO as clients saw it (``drill/client_view.py``) on one line, for the terminal."""
    if not figure or figure.get("wall_s") is None:
        why = (figure or {}).get("why") or "no synthetic client ran"
        return f"RTO as clients saw it: not measured ({why})"
    unit = "sim min" if figure.get("unit") == "simulated minutes" else "min"
    text = (f"RTO as clients saw it: {figure['minutes']:.2f} {unit} ({figure['wall_s']:.2f} s "
            f"wall) without a healthy answer")
    if figure.get("first_bad"):
        text += (f", {figure['first_bad']} to "
                 f"{figure.get('first_good_again') or 'the end (never healthy again)'}")
    phases = figure.get("by_phase") or {}
    if len(phases) > 1:
        text += f" (longest per phase, {unit}: " + ", ".join(
            f"{phase} {w.get('minutes', 0):.2f}"
            for phase, w in sorted(phases.items(), key=lambda pw: str(pw[1].get("first_bad"))))
        text += ")"
    text += f"; {figure.get('requests')} requests every {figure.get('interval_s'):g} s"
    if figure.get("not_observed"):
        text += f"; {len(figure['not_observed'])} period(s) not observed"
    return text
