"""The DR test record as Markdown (``dr-test-record.md``), rendered from its JSON data.

``render(data)`` takes the (already redacted) data of ``test_record.build_record`` and returns
the page; the caller passes it through the redactor once more. A simulated run says so first,
as ``summary.md`` does. Not supported: HTML, localisation.
"""

from __future__ import annotations

from typing import Any

from maip_drlib.cells import number, verdict

MAX_PARAMS_CHARS = 120


_fmt = number


def _ok(flag: Any, missing: str = "n/a") -> str:
    return verdict(flag, missing, yes="met", no="MISSED")


def _cell(value: Any) -> str:
    return str(value if value is not None else "-").replace("|", "\\|").replace("\n", " ")


def _banner(data: dict[str, Any]) -> list[str]:
    if data.get("simulated"):
        return [f"> **SIMULATED RUN**: this record comes from a simulation of the platform "
                f"(time_scale {data.get('time_scale')} real s per simulated minute), not "
                f"from production.", ""]
    return ["> **LIVE RUN** against real infrastructure.", ""]


def _plan(data: dict[str, Any]) -> list[str]:
    plan = data["plan"]
    scope, scenario, objectives = plan["scope"], plan["scenario"], plan["objectives"]
    target = scope["target"]
    lines = ["## 1. Plan", "",
             f"- Scope: target {target.get('name')} [{target.get('kind')}], regions "
             f"{', '.join(scope.get('regions') or []) or 'not recorded'}; stores "
             f"{', '.join(str(s) for s in scope.get('stores') or [])}",
             f"- Scenario: {scenario.get('kind')}"
             + (f" ({scenario['reason']})" if scenario.get("reason") else "")
             + (f", region {scenario['region']}" if scenario.get("region") else ""),
             f"- Objectives, from {objectives.get('source')}:", ""]
    lines += ["| objective | budget / target |", "|---|---:|"]
    for row in objectives["rto_per_stage_minutes"]:
        lines.append(f"| RTO {row.get('phase')} {row.get('stage')}: {_cell(row.get('scenario'))}"
                     f" | {_fmt(row.get('budget_minutes'))} min |")
    for phase, budget in objectives["rto_end_to_end_minutes"].items():
        lines.append(f"| RTO end to end, {phase} | {_fmt(budget)} min |")
    for row in objectives["rpo_target_per_store_s"]:
        lines.append(f"| RPO {row.get('store')} | "
                     f"{_fmt(row.get('target_s'), missing='no target')}"
                     f"{' s' if row.get('target_s') is not None else ''} |")
    dry = plan["dry_run"]
    lines += ["", f"Dry-run plan before the first mutating call: {dry.get('status')}"
              + (f" (attempt {dry['attempt']}, {dry.get('recorded_at')})"
                 if dry.get("attempt") else "")
              + (f": {dry['error']}" if dry.get("error") else ""), ""]
    for index, call in enumerate(dry.get("calls") or [], 1):
        params = ", ".join(f"{k}={v}" for k, v in (call.get("parameters") or {}).items())
        if len(params) > MAX_PARAMS_CHARS:  # a Route 53 change batch: whole in the JSON
            params = params[:MAX_PARAMS_CHARS] + "... (whole in dr-test-record.json)"
        lines.append(f"{index}. [{call.get('stage')}] {call.get('service')}:"
                     f"{call.get('operation')} ({call.get('region')}) {params}".rstrip()
                     + (f" (only if {call['condition']})" if call.get("condition") else ""))
    return [*lines, ""]


def _people(data: dict[str, Any]) -> list[str]:
    people = data["people"]
    present = people.get("participants") or []
    lines = ["## 2. People", "", f"- Operator: {people.get('operator')}",
             "- Participants: " + ("; ".join(
                 f"{p.get('name')} <{p.get('role')}> (attempt "
                 f"{', '.join(str(n) for n in p.get('attempts') or [])})" for p in present)
                 or "none recorded")]
    if people.get("intended"):
        lines.append("- Intended: " + "; ".join(f"{p['name']} <{p['role']}>"
                                                for p in people["intended"]))
        lines.append("- Missing: " + ("; ".join(f"{p['name']} <{p['role']}>"
                                               for p in people.get("missing") or [])
                                      or "nobody"))
        if people.get("unplanned"):
            lines.append("- Not in the intended list: " + "; ".join(
                f"{p.get('name')} <{p.get('role')}>" for p in people["unplanned"]))
        lines.append(f"- Participation as intended: "
                     f"{'yes' if people.get('as_intended') else 'NO'}")
    else:
        lines.append("- Intended: not stated ([record] participants in the config)")
    lines.append(f"- Approvers: {people.get('approval')}")
    for row in people.get("approvers") or []:
        lines.append(f"  - {row.get('phase')}:{row.get('stage')} ({_cell(row.get('stage_name'))})"
                     f" {row.get('decision')}"
                     + (f" by {row['approver_arn']}" if row.get("approver_arn") else "")
                     + (f" at {row['decided_at']}" if row.get("decided_at") else "")
                     + f"; operator {row.get('operator_arn')}, attempt {row.get('attempt')}"
                     + (f": {_cell(row['reason'])}" if row.get("reason") else ""))
    return [*lines, ""]


def _results(data: dict[str, Any]) -> list[str]:
    results = data["results"]
    lines = ["## 3. Results against objectives", "",
             "| stage | scenario | outcome | measured min | budget min | RTO |",
             "|---|---|---|---:|---:|---|"]
    for r in results["stages"]:
        lines.append(f"| {r.get('phase')} {r.get('stage')} | {_cell(r.get('scenario'))} | "
                     f"{r.get('outcome')} | {_fmt(r.get('measured_minutes'), '.2f')} | "
                     f"{_fmt(r.get('budget_minutes'))} | {_ok(r.get('rto_ok'), '-')} |")
    if not results["stages"]:
        lines.append("| (no stage ran) | | | | | |")
    lines += ["", "| RTO end to end | from | to | measured min | budget min | RTO |",
              "|---|---|---|---:|---:|---|"]
    for phase, f in results["rto_end_to_end"].items():
        state = _ok(f.get("ok")) if f.get("complete", True) else "incomplete"
        lines.append(f"| {phase} | {f.get('from')} | {f.get('to')} | "
                     f"{_fmt(f.get('simulated_minutes'), '.2f')} | "
                     f"{_fmt(f.get('budget_minutes'))} | {state} |")
    lines += ["", "| RPO store | measured s | target s | canaries lost | RPO |",
              "|---|---:|---:|---:|---|"]
    for row in results["rpo"]:
        measured = row.get("rpo_s") is not None
        lines.append(f"| {row.get('store')} | "
                     f"{_fmt(row.get('rpo_s'), '.3f') if measured else 'not measured'} | "
                     f"{_fmt(row.get('target_s'))} | {_fmt(row.get('lost'))} | "
                     f"{_ok(row.get('ok'), 'n/a' if measured else 'not measured')} |")
    return [*lines, "", *_client_seen(results["client_seen_rto"]), ""]


def _client_seen(client: dict[str, Any]) -> list[str]:
    """The RTO as the synthetic client saw it (drill/client_view.py), beside the stages'."""
    if client.get("wall_s") is None:
        return [f"- RTO as clients saw it: {client.get('status')}"
                + (f" ({client['why']})" if client.get("why") else "")]
    lines = [f"- RTO as clients saw it: {client.get('status')}: "
             f"{_fmt(client.get('minutes'), '.2f')} {client.get('unit') or 'min'} "
             f"({_fmt(client.get('wall_s'), '.2f')} s wall) without a healthy answer, from "
             f"{client.get('first_bad')} to "
             f"{client.get('first_good_again') or 'the end of the drill (never healthy again)'}"
             f"; {client.get('requests')} requests every {_fmt(client.get('interval_s'))} s "
             f"to {client.get('url')}"]
    phases = client.get("by_phase") or {}
    if phases:
        lines.append("- Longest window per phase: " + "; ".join(
            f"{phase} {_fmt(w.get('minutes'), '.2f')} min ({_fmt(w.get('wall_s'), '.2f')} s, "
            f"from {w.get('first_bad')} to {w.get('first_good_again') or 'the end'})"
            for phase, w in sorted(phases.items(), key=lambda pw: str(pw[1].get("first_bad")))))
    windows = client.get("all_windows") or []
    if len(windows) > len(phases):
        lines.append("- Every window without a healthy answer: " + "; ".join(
            f"{w.get('phase', '')} {w.get('first_bad')} to "
            f"{w.get('first_good_again') or 'the end'} ({_fmt(w.get('wall_s'), '.2f')} s)"
            for w in windows))
    lines += [f"- Bound: {_cell(bound)}" for bound in client.get("bounds") or []]
    lines += [f"- Not observed: {_cell(gap)}" for gap in client.get("not_observed") or []]
    return lines


def _deviations(data: dict[str, Any]) -> list[str]:
    lines = ["## 4. Deviations and lessons", ""]
    lines += [f"- **{d['id']}** ({_where(d)}, {d.get('kind')}): "
              f"{_cell(d.get('what'))} [{d.get('source')}]" for d in data["deviations"]]
    if not data["deviations"]:
        lines.append("None.")
    lines += ["", "Lessons:", ""]
    lines += [f"- (attempt {n.get('attempt')}) {_cell(n.get('text'))}" for n in data["lessons"]]
    if not data["lessons"]:
        lines.append("None recorded (--note).")
    return [*lines, ""]


def _where(deviation: dict[str, Any]) -> str:
    attempt = deviation.get("attempt")
    return f"attempt {attempt}" if attempt is not None else "drill"


def _remediation(data: dict[str, Any]) -> list[str]:
    items = data["remediation"]
    lines = ["## 5. Remediation", ""]
    if not items:
        return [*lines, "No item: no deviation.", ""]
    lines += ["| item | deviation | status | owner | due | accepted risk | what |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {i['id']} | {i['deviation']} | {i['status']}"
              f"{', OVERDUE' if i.get('overdue') else ''} | {_cell(i.get('owner'))} | "
              f"{_cell(i.get('due'))} | {_cell(i.get('accepted_risk'))} | "
              f"{_cell(i.get('title'))} |" for i in items]
    by_status: dict[str, list[str]] = {}
    for item in items:
        by_status.setdefault(str(item.get("status")), []).append(str(item["id"]))
    decisions = data.get("decisions") or {}
    return [*lines, "", f"Open: {', '.join(by_status.get('open', [])) or 'none'}; owned: "
            f"{', '.join(by_status.get('owned', [])) or 'none'}"
            + "".join(f" ({i['id']} OVERDUE)" for i in items if i.get("overdue"))
            + f"; risk accepted: {', '.join(by_status.get('risk accepted', [])) or 'none'}",
            "", f"Decisions: {decisions.get('count', 0)} in {decisions.get('file')} "
            f"(maip-dr remediation set), read {decisions.get('read_at')}"
            if decisions else "Decisions: not read", ""]


def _retest(data: dict[str, Any]) -> list[str]:
    retest = data.get("retest") or {}
    lines = ["## 6. Retest", ""]
    if not retest.get("of"):
        return [*lines, "This drill retests no earlier drill (--retests).", ""]
    lines += [f"Retests the open items of drill {retest['of']} ({retest.get('record')}):", "",
              "| item | what | outcome here |", "|---|---|---|"]
    lines += [f"| {i.get('id')} | {_cell(i.get('title'))} | {i.get('outcome')} |"
              for i in retest.get("items") or []]
    if not retest.get("items"):
        lines.append("| (none open) | | |")
    return [*lines, "", f"Closed by this run: {', '.join(retest.get('closed') or []) or 'none'}",
            ""]


def _attempt(a: dict[str, Any], current: Any) -> str:
    state = "sealed" if a.get("sealed") else ("this one" if a["attempt"] == current
                                               else "NOT sealed")
    return (f"{a['attempt']} ({state}{', sealed late' if a.get('sealed_late') else ''}"
            f"{', interrupted' if a.get('interrupted') else ''}, exit "
            f"{_fmt(a.get('exit_code'))})")


def render(data: dict[str, Any]) -> str:
    """The Markdown page of a DR test record."""
    lines = _banner(data)
    lines += [f"# DR test record: drill {data['drill_id']}: {data['verdict']}", "",
              f"- Generated: {data.get('generated_at')} by attempt "
              f"{data.get('generated_by_attempt')}; attempts: "
              + "; ".join(_attempt(a, data.get("generated_by_attempt"))
                          for a in data["attempts"])]
    if data.get("verdict_reasons"):
        lines += ["- Verdict reasons: " + "; ".join(data["verdict_reasons"])]
    lines.append("")
    for part in (_plan, _people, _results, _deviations, _remediation, _retest):
        lines += part(data)
    return "\n".join(lines)
