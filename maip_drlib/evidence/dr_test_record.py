"""The DR test record: ``dr-test-record.json`` and ``.md``, the drill as an auditor reads it.

``build_record(drill_dir)`` gathers, over every attempt of the drill, what the evidence
already holds: the journals (``drill.start``, ``drill.plan``, ``record.people``, the
overrides ``readiness.accepted``, ``lease.broken``, ``evidence.unsigned``,
``evidence.late_seal``, interruptions), each attempt's ``results-*.json``, ``rpo.json`` and
``summary.json``, and whether each attempt is sealed. ``write_record(attempt_dir)`` writes both
files into the attempt that ends the game day, before it is sealed: the record is in that
attempt's manifest, signed with it, and ``maip-dr verify`` reports a changed record as an
edited file. A resumed drill's newest attempt holds the record of the whole drill (every
attempt); an earlier attempt keeps the record it sealed. ``record_path(drill_dir)`` finds
the newest one.

Sections (docs/compliance.md maps each field to the clauses auditors ask for): ``plan``
(scope, scenario, objectives from the Gherkin: RTO budget per stage and end to end, RPO
target per store; the dry run journalled before the first mutating call), ``people``
(operator, participants against the intended ones, approvers), ``results`` (measured against
the objectives; the RTO as clients saw it), ``deviations`` and ``lessons``, ``remediation``,
``retest`` (with ``--retests``: the earlier drill's open items and what this run found,
``record_retest.py``).

Deviations are read per attempt (a stage that failed in attempt 1 and passed on the resume
stays a deviation of attempt 1), in attempt order, then the drill's own: each intended
participant who took part in no attempt. Each deviation ``D<n>`` has its remediation item
``R<n>``, the same on every rendering of the same evidence, with a content ``key``; a resume
appends its attempt's deviations before the drill's own, whose ids may therefore move, which
is why decisions follow the key. Approvals (``approval.granted``, ``approval.rejected``,
``approval.timed_out`` journalled by a drill waiting for a second person) are listed under
``people.approvers``; a rejection or a time-out is a deviation.

Remediation decisions (``maip-dr remediation set``, ``remediation.py``) live in the drill's
``remediation.jsonl``, never in a sealed record: the record an attempt writes applies the
decisions made so far, and later ones are applied at view time (``remediation.current_record``:
``remediation list``, ``history``). The RTO as clients saw it is the game day's synthetic
client (``drill/client_view.py``: ``client_seen_rto`` in ``summary.json``); "not measured"
without one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from maip_drlib.evidence.journal import (
    JOURNAL_NAME,
    EvidenceError,
    attempt_dirs,
    scan_journal,
    utc_now_iso,
)
from maip_drlib.evidence.record_people import PEOPLE_KIND, Participant, participation
from maip_drlib.evidence.record_retest import retest_section
from maip_drlib.evidence.redact import Redactor, default_redactor
from maip_drlib.evidence.redacted_json import redacted, write_json
from maip_drlib.evidence.remediation import apply_decisions, read_decisions

RECORD_JSON = "dr-test-record.json"
RECORD_MD = "dr-test-record.md"
RECORD_FILES = (RECORD_MD, RECORD_JSON)
FORMAT = "maip-dr-test-record/1"
STORES = ("dynamodb", "rds", "msk")
_PHASES = ("failover", "failback")
APPROVAL_KINDS = {"approval.granted": "granted", "approval.rejected": "rejected",
                  "approval.timed_out": "timed out"}
APPROVAL_DEVIATIONS = {"approval.rejected": "approval_rejected",
                       "approval.timed_out": "approval_timed_out"}
OVERRIDES = {"readiness.accepted": "readiness failures accepted by the operator",
             "lease.broken": "drill lease taken over from another holder",
             "evidence.unsigned": "evidence unsigned (no HMAC key)",
             "evidence.late_seal": "an earlier attempt sealed late"}
CLIENT_RTO_NOT_MEASURED = ("no synthetic client requested the public endpoint "
                           "through the outage (a game day runs one from just before the "
                           "outage; a no-go, a single stage or an older drill has none)")


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _journal(path: Path) -> list[dict[str, Any]]:
    try:
        return scan_journal(path / JOURNAL_NAME).records
    except EvidenceError:
        return []


def _results(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for file in sorted(path.glob("results-*.json")):
        if file.name.endswith(".decisions.json"):
            continue
        loaded = _json(file)
        rows += [r for r in loaded if isinstance(r, dict)] if isinstance(loaded, list) else []
    return rows


def _label(r: dict[str, Any]) -> str:
    stage = f" {r['stage']}" if r.get("stage") else ""
    return f"{r.get('phase')}{stage}: {r.get('scenario')}"


class _Attempt:
    """One attempt's evidence, read once."""

    def __init__(self, number: int, path: Path) -> None:
        self.number, self.path = number, path
        self.records = _journal(path)
        self.results = _results(path)
        self.summary = _json(path / "summary.json")
        self.rpo = (_json(path / "rpo.json") or {}).get("rpo")
        self.manifest = _json(path / "manifest.json")

    def kind(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("kind") == kind]

    def line(self, exit_code: int | None) -> dict[str, Any]:
        start = (self.kind("drill.start") or self.records[:1] or [{}])[0]
        end = self.kind("drill.end")
        interrupted = self.kind("drill.interrupted")
        return {"attempt": self.number, "started_at": start.get("at"),
                "resume_from": start.get("resume_from"),
                "ended_at": end[-1].get("at") if end else None,
                "exit_code": end[-1].get("exit_code") if end else exit_code,
                "interrupted": bool(interrupted) or bool(self.kind("drill.start") and not end
                                                 and exit_code is None),
                "sealed": isinstance(self.manifest, dict),
                "sealed_late": bool(isinstance(self.manifest, dict)
                                    and self.manifest.get("late"))}


def _override_detail(kind: str, record: dict[str, Any]) -> str:
    if kind == "lease.broken":
        return f"{record.get('reason')} (by {record.get('broken_by')})"
    if kind == "evidence.late_seal":
        check = "; ".join(map(str, record.get("journal_check") or ["unchecked"]))
        return f"attempt {record.get('sealed_attempt')}, its journal: {check}"
    if kind == "readiness.accepted":
        failed = record.get("failed") or []
        return (f"{record.get('reason')} (by {record.get('operator')}; {len(failed)} failed "
                "checks)")
    return str(record.get("reason") or "")


def _deviations(attempt: _Attempt) -> list[dict[str, Any]]:
    """Failed checks, RTO overruns, skipped mutating stages, overrides, interruptions and
    missed RPO targets of one attempt, in drill order."""
    n = attempt.number
    found: list[dict[str, Any]] = []

    def add(kind: str, key: str, what: str, source: str) -> None:
        found.append({"attempt": n, "kind": kind, "key": f"attempt-{n}:{kind}:{key}",
                      "what": what, "source": f"attempt-{n}/{source}"})

    for r in attempt.results:
        where = f"results-{r.get('phase')}.json"
        if r.get("outcome") == "failed":
            add("failed_check", _label(r), f"{_label(r)} failed: {r.get('message') or ''}"
                .strip(), where)
        elif r.get("outcome") == "skipped" and r.get("destructive"):
            add("skipped_stage", _label(r), f"{_label(r)} skipped: {r.get('message') or ''}"
                .strip(), where)
        if r.get("rto_ok") is False:
            add("rto_overrun", _label(r), f"{_label(r)} took {r.get('simulated_minutes')} min "
                f"against a budget of {r.get('rto_budget_minutes')} min", where)
    summary = attempt.summary if isinstance(attempt.summary, dict) else {}
    for phase, figure in (summary.get("rto_end_to_end") or {}).items():
        if isinstance(figure, dict) and figure.get("ok") is False:
            add("rto_overrun", f"end-to-end {phase}", f"end-to-end {phase} RTO "
                f"{figure.get('simulated_minutes')} min against a budget of "
                f"{figure.get('budget_minutes')} min", "summary.json")
    for row in summary.get("rpo") or []:
        if isinstance(row, dict) and row.get("ok") is False:
            add("rpo_missed", str(row.get("store")), f"RPO of {row.get('store')} "
                f"{row.get('rpo_s')} s against a target of {row.get('target_s')} s "
                f"({row.get('lost')} canaries lost)", "summary.json")
    for record in attempt.records:
        kind = str(record.get("kind"))
        where = f"{JOURNAL_NAME} seq {record.get('seq')}"
        if kind in OVERRIDES:
            detail = _override_detail(kind, record)
            add("override", f"{kind}:{record.get('seq')}", f"{OVERRIDES[kind]}"
                + (f": {detail}" if detail else ""), where)
        elif kind == "drill.interrupted":
            add("interrupted", str(record.get("seq")), f"attempt interrupted by "
                f"{record.get('signal')} in the {record.get('at_phase') or 'first'} phase",
                where)
        elif kind == "lease.lost":
            add("interrupted", str(record.get("seq")), f"drill lease lost before the "
                f"{record.get('before_phase')} phase: {record.get('reason')}", where)
        elif kind in APPROVAL_DEVIATIONS:
            stage = f"{record.get('phase')}:{record.get('stage')}"
            add(APPROVAL_DEVIATIONS[kind], f"{stage}:{record.get('seq')}",
                f"approval of {stage} ({record.get('stage_name') or 'stage'}) "
                + ("rejected by " f"{record.get('approver_arn')}: {record.get('reason')}"
                   if kind == "approval.rejected" else "timed out: nobody approved in time"),
                where)
    return found


def _approvers(attempts: list[_Attempt]) -> list[dict[str, Any]]:
    """Every approval decision journalled over all attempts, in order."""
    rows = []
    for a in attempts:
        for r in a.records:
            if r.get("kind") in APPROVAL_KINDS:
                rows.append({"attempt": a.number, "decision": APPROVAL_KINDS[r["kind"]],
                             **{k: r.get(k) for k in ("phase", "stage", "stage_name",
                                                      "approver_arn", "operator_arn",
                                                      "decided_at", "reason",
                                                      "request_id")},
                             "at": r.get("at")})
    return rows


def _approval_line(approvers: list[dict[str, Any]]) -> str:
    if not approvers:
        return "none recorded"
    counts: dict[str, int] = {}
    for row in approvers:
        counts[row["decision"]] = counts.get(row["decision"], 0) + 1
    return ", ".join(f"{n} {word}" for word, n in counts.items())


def _missing_deviations(missing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The drill's own deviations: each intended participant who took part in no attempt."""
    return [{"attempt": None, "kind": "missing_participant",
             "key": f"drill:missing_participant:{' '.join(str(p.get('name')).split()).casefold()}",
             "what": f"intended participant {p.get('name')} <{p.get('role')}> did not take "
                     f"part", "source": "[record] participants against --participant"}
            for p in missing]


def _objectives(results: list[dict[str, Any]], summary: dict[str, Any],
                rpo: list[dict[str, Any]]) -> dict[str, Any]:
    per_stage = [{"phase": r.get("phase"), "stage": r.get("stage"),
                  "scenario": r.get("scenario"), "budget_minutes": r.get("rto_budget_minutes")}
                 for r in results if r.get("rto_budget_minutes") is not None]
    figures = summary.get("rto_end_to_end") or {}
    end_to_end = {phase: figures[phase].get("budget_minutes") for phase in _PHASES
                  if isinstance(figures.get(phase), dict)}
    targets = [{"store": row.get("store"), "target_s": row.get("target_s")} for row in rpo]
    return {"rto_per_stage_minutes": per_stage, "rto_end_to_end_minutes": end_to_end,
            "rpo_target_per_store_s": targets,
            "source": "the Gherkin feature files: the budgets and targets the stages read"}


def build_record(drill_dir: Path, *, intended: tuple[Participant, ...] = (),
                 exit_code: int | None = None, current: int | None = None) -> dict[str, Any]:
    """The record of the drill in ``drill_dir`` (plain data, not yet redacted).

    ``current``: the attempt writing the record (its ``drill.end`` is not journalled yet;
    ``exit_code`` is its exit code)."""
    attempts = [_Attempt(n, p) for n, p in attempt_dirs(drill_dir).items()]
    summaries = [a.summary for a in attempts if isinstance(a.summary, dict)]
    summary: dict[str, Any] = summaries[-1] if summaries else {}
    results = summary.get("stages") or [r for a in attempts for r in a.results]
    rpo = summary.get("rpo") or next((a.rpo for a in reversed(attempts) if a.rpo), []) or []
    first = next((a for a in attempts if a.kind("drill.start")), None)
    start = first.kind("drill.start")[0] if first else {}
    plans = [(a.number, r) for a in attempts for r in a.kind("drill.plan")]
    target = summary.get("target") or {"name": start.get("target"),
                                       "kind": start.get("target_kind")}
    deviations = [d for a in attempts for d in _deviations(a)]
    present: dict[str, dict[str, Any]] = {}
    lessons: list[dict[str, Any]] = []
    for a in attempts:
        for r in a.kind(PEOPLE_KIND):
            for person in r.get("participants") or []:
                entry = present.setdefault(" ".join(str(person.get("name")).split()).casefold(),
                                           {**person, "attempts": []})
                if a.number not in entry["attempts"]:
                    entry["attempts"].append(a.number)
            lessons += [{"attempt": a.number, "text": text} for text in r.get("notes") or []]
    simulated = bool(summary.get("simulated", start.get("simulated", False)))
    figures = summary.get("rto_end_to_end") or {}
    people = participation(list(present.values()), intended)
    deviations += _missing_deviations(people["missing"])
    for index, deviation in enumerate(deviations, 1):
        deviation["id"] = f"D{index}"
    approvers = _approvers(attempts)
    record = {
        "format": FORMAT,
        "drill_id": drill_dir.name,
        "generated_at": utc_now_iso(),
        "generated_by_attempt": current,
        "simulated": simulated,
        "time_scale": summary.get("time_scale", start.get("time_scale")),
        "verdict": summary.get("verdict", "unknown"),
        "verdict_reasons": summary.get("reasons", []),
        "attempts": [a.line(exit_code if a.number == current else None) for a in attempts],
        "plan": {
            "scope": {"target": {"name": target.get("name"), "kind": target.get("kind")},
                      "regions": target.get("regions") or [],
                      "stores": [row.get("store") for row in rpo] or list(STORES)},
            "scenario": (plans[0][1].get("scenario") if plans else
                         {"kind": "not recorded", "reason": None}),
            "objectives": _objectives(results, summary, rpo),
            "dry_run": ({"attempt": plans[0][0], "recorded_at": plans[0][1].get("at"),
                         "status": plans[0][1].get("status"),
                         "error": plans[0][1].get("error"),
                         "calls": plans[0][1].get("calls") or [],
                         "notes": plans[0][1].get("notes") or []} if plans else
                        {"status": "not recorded", "calls": []}),
        },
        "people": {"operator": summary.get("operator", "unknown"),
                   "participants": list(present.values()), **people,
                   "approvers": approvers, "approval": _approval_line(approvers)},
        "results": {
            "stages": [{"phase": r.get("phase"), "stage": r.get("stage"),
                        "scenario": r.get("scenario"), "outcome": r.get("outcome"),
                        "measured_minutes": r.get("simulated_minutes"),
                        "real_s": r.get("duration_s"),
                        "budget_minutes": r.get("rto_budget_minutes"),
                        "rto_ok": r.get("rto_ok")} for r in results if r.get("stage")],
            "rto_end_to_end": {phase: figures[phase] for phase in _PHASES
                               if isinstance(figures.get(phase), dict)},
            "rpo": [{k: row.get(k) for k in ("store", "status", "rpo_s", "target_s", "lost",
                                             "interval_s", "ok", "note")} for row in rpo],
            "client_seen_rto": summary.get("client_seen_rto") or {
                "status": "not measured", "why": CLIENT_RTO_NOT_MEASURED},
        },
        "deviations": deviations,
        "lessons": lessons,
        "remediation": [{"id": f"R{d['id'][1:]}", "deviation": d["id"], "key": d["key"],
                         "title": d["what"], "status": "open", "owner": None, "due": None,
                         "accepted_risk": None, "retested_by": None} for d in deviations],
        "retest": retest_section([r for a in attempts for r in a.records], results, rpo,
                                 figures, deviations) or {"of": None, "items": [],
                                                          "closed": []},
        "evidence": summary.get("evidence") or {},
    }
    return apply_decisions(record, read_decisions(drill_dir)[0])


def write_record(attempt_dir: Path, *, intended: tuple[Participant, ...] = (),
                 exit_code: int | None = None, redactor: Redactor | None = None
                 ) -> tuple[Path, Path]:
    """Write ``dr-test-record.md`` and ``.json`` of the whole drill into ``attempt_dir``
    (before its seal), both through the one redactor; return (md, json)."""
    from maip_drlib.evidence.dr_test_record_md import render

    redactor = redactor or default_redactor()
    number = int(attempt_dir.name.split("-", 1)[1])
    data = redacted(build_record(attempt_dir.parent, intended=intended, exit_code=exit_code,
                                 current=number), redactor)
    json_path = write_json(attempt_dir / RECORD_JSON, data, redactor, indent=2,
                           sort_keys=True, ensure_ascii=False, newline=True)
    md_path = attempt_dir / RECORD_MD
    md_path.write_text(redactor.text(render(data)) + "\n", encoding="utf-8")
    return md_path, json_path


def record_path(drill_dir: Path, name: str = RECORD_JSON) -> Path | None:
    """The newest attempt's record (the one covering the whole drill), None if none."""
    for _number, path in sorted(attempt_dirs(drill_dir).items(), reverse=True):
        if (path / name).is_file():
            return path / name
    return None


def write_drill_copy(drill_dir: Path) -> list[Path]:
    """Copy the newest sealed record to ``reports/<drill id>/`` (after the seal): the drill
    level's ``dr-test-record.md``/``.json``, byte for byte; ``verify`` checks the copy against
    the sealed one (``check_drill_copy``)."""
    written = []
    for name in RECORD_FILES:
        source = record_path(drill_dir, name)
        if source is not None:
            (drill_dir / name).write_bytes(source.read_bytes())
            written.append(drill_dir / name)
    return written


def check_drill_copy(drill_dir: Path, name: str) -> list[str]:
    """Problems of a drill-level copy of the record (empty when it is byte for byte the one
    sealed in the newest attempt that holds one)."""
    source = record_path(drill_dir, name)
    if source is None:
        return [f"{name}: no attempt holds a {name} to compare it with"]
    if (drill_dir / name).read_bytes() != source.read_bytes():
        return [f"{name}: differs from {source.parent.name}/{name}, the record sealed in the "
                f"attempt (edited after the drill?)"]
    return []
