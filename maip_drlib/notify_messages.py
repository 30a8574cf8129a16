"""The drill notifications' messages: Slack-compatible payloads built from plain data.

``completion_payload`` (a finished drill, from ``summary.json``: verdict and reasons, the stage
table, RTO end to end, RPO per store, digest, where the report is), ``stage_failure_payload``
(one failed stage) and ``readiness_payload`` (a readiness run), each passed through the
redactor; ``stage_table`` folds readiness runs into one row each. Sending them is
``maip_drlib.notify``'s. Not supported: formats other than Slack incoming-webhook JSON (text
plus blocks), more than ``MAX_TABLE_ROWS`` stages in the table (the rest are counted).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maip_drlib.cells import number, verdict
from maip_drlib.evidence.redact import Redactor, default_redactor

MAX_TABLE_ROWS = 20
SLACK_TEXT_LIMIT = 2900  # Slack rejects a section text over 3000 characters


def _num(value: Any, spec: str = ".2f", missing: str = "-") -> str:
    return number(value, spec, missing)


_ok = verdict


def _label(result: Mapping[str, Any]) -> str:
    stage = result.get("stage")
    head = f"{result.get('phase', '')} {stage}" if stage else str(result.get("phase", ""))
    return f"{head}: {result.get('scenario', '')}".strip()


def _readiness_runs_folded(stages: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Each run of consecutive readiness checks as one row ("readiness: 10 checks, 9 passed,
    1 skipped"; failed when one failed), so the drill's own stages fit the table; the report
    lists every check."""
    folded: list[Mapping[str, Any]] = []
    run: list[Mapping[str, Any]] = []

    def flush() -> None:
        if not run:
            return
        counts: dict[str, int] = {}
        for r in run:
            counts[str(r.get("outcome", "?"))] = counts.get(str(r.get("outcome", "?")), 0) + 1
        said = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        minutes = [r.get("simulated_minutes") for r in run]
        folded.append({
            "phase": run[0].get("phase"), "scenario": f"{len(run)} checks, {said}",
            "outcome": "failed" if counts.get("failed") else "passed",
            "duration_s": sum(float(r.get("duration_s") or 0.0) for r in run),
            "simulated_minutes": (sum(float(m) for m in minutes if m is not None)
                                  if any(m is not None for m in minutes) else None)})
        run.clear()

    for r in stages:
        if str(r.get("phase", "")).startswith("readiness") and not r.get("stage"):
            if run and run[-1].get("phase") != r.get("phase"):
                flush()
            run.append(r)
            continue
        flush()
        folded.append(r)
    flush()
    return folded


def stage_table(stages: list[Mapping[str, Any]], max_rows: int = MAX_TABLE_ROWS) -> str:
    """A fixed-width text table of the stages (for a code block); each readiness run is one
    row (``_readiness_runs_folded``)."""
    if not stages:
        return "(no stage ran)"
    stages = _readiness_runs_folded(stages)
    rows = [(_label(r)[:60], str(r.get("outcome", "?")), _num(r.get("duration_s")),
             _num(r.get("simulated_minutes")), _num(r.get("rto_budget_minutes"), "g"),
             _ok(r.get("rto_ok"), "-")) for r in stages[:max_rows]]
    head = ("STAGE", "OUTCOME", "SECONDS", "MIN", "BUDGET", "RTO")
    widths = [max(len(head[i]), *(len(row[i]) for row in rows)) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i])
                       for i, cell in enumerate(row)).rstrip() for row in (head, *rows)]
    if len(stages) > max_rows:
        lines.append(f"... and {len(stages) - max_rows} more stage(s) (see the report)")
    return "\n".join(lines)


def _clip(text: str, limit: int = SLACK_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 20] + "\n... (clipped)"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}}


def _where(report_location: str | None, digest: str | None) -> list[str]:
    lines = []
    if digest:
        lines.append(f"*Evidence digest:* `sha256:{digest.removeprefix('sha256:')}`")
    if report_location:
        lines.append(f"*Report:* {report_location}")
    return lines


def completion_payload(summary: Mapping[str, Any], *, digest: str | None = None,
                       report_location: str | None = None,
                       redactor: Redactor | None = None) -> dict[str, Any]:
    """The Slack message of a finished drill, from a ``summary.json`` document."""
    redactor = redactor or default_redactor()
    simulated = bool(summary.get("simulated"))
    target = summary.get("target") or {}
    verdict = str(summary.get("verdict", "UNKNOWN"))
    drill = summary.get("drill_id", "?")
    tag = " (SIMULATED)" if simulated else ""
    title = f"DR drill {drill}: {verdict}{tag}"
    facts = [f"*Target:* {target.get('name', '?')} [{target.get('kind', '?')}]"
             + (" - simulated platform, not production" if simulated else ""),
             f"*Operator:* {summary.get('operator', '?')}"]
    reasons = list(summary.get("reasons") or [])
    if reasons:
        facts.append("*Verdict reasons:* " + "; ".join(str(r) for r in reasons[:10])
                     + (f" (+{len(reasons) - 10} more)" if len(reasons) > 10 else ""))
    rto_lines = [f"- {phase}: {_num(f.get('simulated_minutes'))} min against "
                 f"{_num(f.get('budget_minutes'), 'g')} min budget: "
                 f"{_ok(f.get('ok')) if f.get('complete', True) else 'incomplete'}"
                 for phase, f in (summary.get("rto_end_to_end") or {}).items()]
    rpo_lines = []
    for row in summary.get("rpo") or []:
        if row.get("rpo_s") is None:
            rpo_lines.append(f"- {row.get('store')}: not measured")
        else:
            rpo_lines.append(f"- {row.get('store')}: {_num(row.get('rpo_s'), '.3f')} s against "
                             f"{_num(row.get('target_s'), 'g')} s target, "
                             f"{row.get('lost', '-')} canaries lost: {_ok(row.get('ok'))}")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        _section("\n".join(facts)),
        _section("*Stages*\n```" + stage_table(list(summary.get("stages") or [])) + "```"),
        _section("*RTO end to end*\n" + ("\n".join(rto_lines) or "- none")),
        _section("*RPO per store*\n" + ("\n".join(rpo_lines) or "- not measured")),
    ]
    where = _where(report_location, digest)
    if where:
        blocks.append(_section("\n".join(where)))
    text = f"{title}: " + (", ".join(str(r) for r in reasons[:3]) if reasons
                           else "every stage passed within its RTO budget")
    return redactor.value({"text": _clip(text), "blocks": blocks})


def stage_failure_payload(result: Mapping[str, Any], *, drill_id: str,
                          target: Mapping[str, Any], simulated: bool,
                          report_location: str | None = None,
                          redactor: Redactor | None = None) -> dict[str, Any]:
    """The immediate Slack message of one failed stage (a stage result dict)."""
    redactor = redactor or default_redactor()
    tag = " (SIMULATED)" if simulated else ""
    title = f"DR drill {drill_id}: stage FAILED{tag}"
    lines = [f"*Stage:* {_label(result)}",
             f"*Target:* {target.get('name', '?')} [{target.get('kind', '?')}]",
             f"*Error kind:* {result.get('error_kind') or 'error'}",
             f"*Seconds:* {_num(result.get('duration_s'))} (RTO budget "
             f"{_num(result.get('rto_budget_minutes'), 'g')} min)",
             "*Message:* " + str(result.get("message") or "(none)")[:1500],
             "The drill goes on as designed: later stages of this phase are skipped; the "
             "completion notice follows."]
    if report_location:
        lines.append(f"*Evidence:* {report_location}")
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
              _section("\n".join(lines))]
    return redactor.value({"text": _clip(f"{title}: {_label(result)}"), "blocks": blocks})


def readiness_payload(results: list[Mapping[str, Any]], *, target: Mapping[str, Any],
                      simulated: bool, exit_code: int,
                      redactor: Redactor | None = None) -> dict[str, Any]:
    """The Slack message of a readiness run (the result dicts of ``maip-dr readiness``): the
    verdict, the counts and every failed check with its message."""
    redactor = redactor or default_redactor()
    failed = [r for r in results if r.get("outcome") == "failed"]
    passed = sum(r.get("outcome") == "passed" for r in results)
    skipped = sum(r.get("outcome") == "skipped" for r in results)
    verdict = "PASS" if exit_code == 0 else "FAIL"
    tag = " (SIMULATED)" if simulated else ""
    title = f"DR readiness of {target.get('name', '?')}: {verdict}{tag}"
    lines = [f"*Target:* {target.get('name', '?')} [{target.get('kind', '?')}]",
             f"*Checks:* {passed} passed, {len(failed)} failed, {skipped} not checked "
             f"(exit {exit_code})"]
    lines += [f"- *{r.get('scenario', '?')}*: {str(r.get('message') or '')[:300]}"
              for r in failed[:MAX_TABLE_ROWS]]
    if len(failed) > MAX_TABLE_ROWS:
        lines.append(f"... and {len(failed) - MAX_TABLE_ROWS} more")
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
              _section("\n".join(lines))]
    text = f"{title}: {passed}/{len(results)} checks passed"
    return redactor.value({"text": _clip(text), "blocks": blocks})
