"""The drill's summary: one Markdown page and one JSON file, everything redacted.

``write_summary`` takes plain data: stage results (the ``results-<phase>.json`` dicts), RPO
figures per store (``store``, ``rpo_s`` or None for "not measured", ``lost``, ``interval_s``,
``target_s``), the target (``name``, ``kind``, optional ``regions``), the operator, and the
end-to-end RTO per phase (``{"failover": {"from": ..., "to": ..., "simulated_minutes": ...,
"budget_minutes": ..., "real_s": ...}, "failback": {...}}``; a phase left out is computed from
its stages). It writes ``summary.md``, ``summary.json`` and ``timeline.png`` into the folder.

Verdict: FAIL when a stage failed or a mutating stage was skipped, or an RTO or RPO target
was missed; PASS otherwise. An RPO that was not measured is reported as such, never as met.

Not supported: HTML output (the Allure report is the browsable view) and localisation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from maip_drlib.cells import number, verdict
from maip_drlib.evidence.redact import Redactor, default_redactor
from maip_drlib.evidence.timeline import label_of, write_timeline

END_TO_END = {"failover": ("outage declared/detected", "DR serving"),
              "failback": ("failback start", "steady state")}


def _phase_rto(results: list[dict[str, Any]], phase: str) -> dict[str, Any] | None:
    stages = [r for r in results if r.get("phase") == phase]
    if not stages:
        return None
    budgets = [r.get("rto_budget_minutes") for r in stages]
    minutes = sum(float(r.get("simulated_minutes") or 0.0) for r in stages)
    budget = sum(float(b) for b in budgets if b) if any(budgets) else None
    complete = all(r.get("outcome") == "passed" for r in stages)
    return {"from": END_TO_END[phase][0], "to": END_TO_END[phase][1],
            "simulated_minutes": round(minutes, 3),
            "real_s": round(sum(float(r.get("duration_s") or 0.0) for r in stages), 3),
            "budget_minutes": budget, "complete": complete}


def _end_to_end(results: list[dict[str, Any]], given: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for phase in END_TO_END:
        figure = dict(given[phase]) if phase in given else _phase_rto(results, phase)
        if figure is None:
            continue
        minutes, budget = figure.get("simulated_minutes"), figure.get("budget_minutes")
        figure.setdefault("from", END_TO_END[phase][0])
        figure.setdefault("to", END_TO_END[phase][1])
        figure["ok"] = (None if minutes is None or budget is None or not figure.get(
            "complete", True) else float(minutes) <= float(budget))
        out[phase] = figure
    return out


def _rpo_rows(rpo: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for entry in rpo:
        row = dict(entry)
        value, target = row.get("rpo_s"), row.get("target_s")
        if row.get("lower_bound"):  # no canary reached DR: the figure is only a floor
            row["ok"] = False
        else:
            row["ok"] = (None if value is None or target is None
                         else float(value) <= float(target))
        rows.append(row)
    return rows


def verdict_of(results: list[dict[str, Any]], end_to_end: dict[str, Any],
               rpo_rows: list[dict[str, Any]]) -> tuple[str, list[str]]:
    reasons: list[str] = []
    for r in results:
        if r.get("outcome") == "failed":
            reasons.append(f"{label_of(r)} failed")
        elif r.get("outcome") == "skipped" and r.get("destructive"):
            reasons.append(f"{label_of(r)} skipped")
        if r.get("rto_ok") is False:
            reasons.append(f"{label_of(r)} over its RTO budget")
    reasons += [f"end-to-end {p} RTO over budget" for p, f in end_to_end.items()
                if f.get("ok") is False]
    reasons += [f"RPO of {row.get('store')} over target" for row in rpo_rows
                if row.get("ok") is False]
    return ("FAIL" if reasons else "PASS"), reasons


_fmt = number
_ok = verdict


def _outcome(r: dict[str, Any]) -> str:
    """A skipped check that could not be made says so (never just "skipped", which reads as
    chosen): "skipped (not measured)" for a metric with no datapoint, "skipped (not checked)"
    for another check the platform could not answer."""
    message = str(r.get("message") or "")
    if r.get("outcome") == "skipped" and "not measured" in message:
        return "skipped (not measured)"
    if r.get("outcome") == "skipped" and "not checked" in message:
        return "skipped (not checked)"
    return str(r.get("outcome"))


def _evidence_line(evidence: dict[str, Any]) -> list[str]:
    if not evidence:
        return []
    if evidence.get("signed"):
        return ["- Evidence: signed with the HMAC key"]
    reason = evidence.get("unsigned_reason")
    return ["- Evidence: unsigned" + (f" (accepted by the operator: {reason})" if reason
                                      else "")]


def _markdown(data: dict[str, Any]) -> str:
    sim = data["simulated"]
    lines = []
    if sim:
        lines += [f"> **SIMULATED RUN**: this evidence comes from a simulation of the platform "
                  f"(time_scale {data['time_scale']} real s per simulated minute), not from "
                  f"production.", ""]
    else:
        lines += ["> **LIVE RUN** against real infrastructure.", ""]
    lines += [f"# DR drill {data['drill_id']}: {data['verdict']}", "",
              f"- Target: {data['target'].get('name')} [{data['target'].get('kind')}]"
              + (" (simulated)" if sim else ""),
              f"- Operator: {data['operator']}",
              *_evidence_line(data.get("evidence") or {}),
              f"- Simulated: {'yes' if sim else 'no'}; time_scale: {data['time_scale']}", ""]
    if data["reasons"]:
        lines += ["Verdict reasons:", ""] + [f"- {r}" for r in data["reasons"]] + [""]
    lines += ["## Stages", "",
              "| stage | scenario | outcome | real s | sim min | RTO budget min | RTO |",
              "|---|---|---|---:|---:|---:|---|"]
    for r in data["stages"]:
        head = f"{r.get('phase')} {r.get('stage') or ''}".strip()
        lines.append(f"| {head} | {r.get('scenario', '')} | {_outcome(r)} | "
                     f"{_fmt(r.get('duration_s'), '.2f')} | "
                     f"{_fmt(r.get('simulated_minutes'), '.2f')} | "
                     f"{_fmt(r.get('rto_budget_minutes'))} | {_ok(r.get('rto_ok'), '-')} |")
    lines += ["", "## RTO end to end", "",
              "| phase | from | to | sim min | budget min | real s | RTO |",
              "|---|---|---|---:|---:|---:|---|"]
    for phase, f in data["rto_end_to_end"].items():
        state = _ok(f.get("ok")) if f.get("complete", True) else "incomplete"
        lines.append(f"| {phase} | {f.get('from')} | {f.get('to')} | "
                     f"{_fmt(f.get('simulated_minutes'), '.2f')} | {_fmt(f.get('budget_minutes'))}"
                     f" | {_fmt(f.get('real_s'), '.2f')} | {state} |")
    lines += ["", "## RPO per store", "",
              "| store | RPO s | target s | canaries lost | interval s | RPO |",
              "|---|---:|---:|---:|---:|---|"]
    for row in data["rpo"]:
        measured = row.get("rpo_s") is not None
        value = _fmt(row.get("rpo_s"), ".3f") if measured else "not measured"
        lines.append(f"| {row.get('store')} | {value} | {_fmt(row.get('target_s'))} | "
                     f"{row.get('lost', '-') if row.get('lost') is not None else '-'} | "
                     f"{_fmt(row.get('interval_s'))} | "
                     f"{_ok(row.get('ok'), 'n/a' if measured else 'not measured')} |")
    if not data["rpo"]:
        lines.append("| (none) | not measured | - | - | - | not measured |")
    lines += ["", "## Failed checks", ""]
    failed = data["failed_checks"]
    lines += [f"- **{f['stage']}** ({f.get('error_kind') or 'error'}): {f['message']}"
              for f in failed] or ["None."]
    lines += ["", "## Timeline", "", f"![drill timeline]({data['timeline']})", ""]
    return "\n".join(line.replace("\n", " ") for line in lines)


def rpo_line(rows: list[dict[str, Any]]) -> str:
    """The RPO per store on one line, for the terminal: "RPO per store: dynamodb 0.500 s
    (5 canaries lost; target 5 s: ok); rds ...; msk not measured"."""
    parts = []
    for row in rows:
        if row.get("rpo_s") is None:
            why = f" ({row['note']})" if row.get("note") else ""
            parts.append(f"{row.get('store')} {row.get('status') or 'not measured'}{why}")
            continue
        parts.append(f"{row.get('store')} {row['rpo_s']:.3f} s ({row.get('lost')} canaries "
                     f"lost; target {_fmt(row.get('target_s'))} s: {_ok(row.get('ok'))})")
    return "RPO per store: " + ("; ".join(parts) if parts else "not measured")


def write_summary(attempt_or_drill_dir: Path, *, results: list[dict[str, Any]],
                  rpo: list[dict[str, Any]], target: dict[str, Any], operator: str,
                  simulated: bool, time_scale: float | None, drill_id: str,
                  rto_end_to_end: dict[str, Any],
                  redactor: Redactor | None = None,
                  evidence: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``summary.md``, ``summary.json`` and ``timeline.png``; return (md, json).

    ``evidence``: how the evidence is protected, ``{"signed": bool, "unsigned_reason": str
    | None}`` (the operator's ``--unsigned-evidence`` reason); absent: not said."""
    redactor = redactor or default_redactor()
    folder = Path(attempt_or_drill_dir)
    folder.mkdir(parents=True, exist_ok=True)
    end_to_end = _end_to_end(results, rto_end_to_end)
    rpo_rows = _rpo_rows(rpo)
    verdict, reasons = verdict_of(results, end_to_end, rpo_rows)
    timeline = write_timeline(results, folder / "timeline.png", simulated=simulated,
                              title=f"drill {drill_id}: {verdict}", redactor=redactor,
                              end_to_end=end_to_end)
    failed = [{"stage": label_of(r), "error_kind": r.get("error_kind"),
               "message": r.get("message", "")} for r in results if r.get("outcome") == "failed"]
    data: dict[str, Any] = {
        "simulated": simulated,
        "drill_id": drill_id,
        "verdict": verdict,
        "reasons": reasons,
        "target": target,
        "operator": operator,
        "time_scale": time_scale if time_scale is not None else ("n/a" if not simulated
                                                                  else "default"),
        "stages": results,
        "rto_end_to_end": end_to_end,
        "rpo": rpo_rows,
        "failed_checks": failed,
        "timeline": timeline.name,
        "evidence": evidence or {},
    }
    data = redactor.value(json.loads(json.dumps(data, default=str)))
    md_path = folder / "summary.md"
    json_path = folder / "summary.json"
    md_path.write_text(redactor.text(_markdown(data)) + "\n")
    json_path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return md_path, json_path
