"""What the single-file report shows on its home page, before any test: the overview.

- Global attachments (the Allure results format's ``<uuid>-globals.json``, written here into
  a results folder that ``maip_drlib.evidence.html_report`` hands to ``allure generate``
  beside the attempts'; Allure 3's awesome report lists them, in this order, under "Global
  Attachments" on the home page): "RTO and RPO" (per stage RTO against its budget, the RTO
  end to end of failover and failback, the RPO per store, from the newest attempt's
  ``summary.json``), "DR test record" (the drill's ``dr-test-record.md``, else the newest
  attempt's) and "drill timeline" (``timeline.png``). The two texts are Markdown with their
  tables aligned, shown as plain text (``TEXT_TYPE``: Allure's Markdown preview is an iframe
  it cannot size from ``file://``); they download as ``.md``.
- Report variables: the headline figures (verdict, RTO end to end, RPO per store, simulated
  or live), as JSON in ``MAIP_DR_ALLURE_VARIABLES`` for ``allurerc.mjs``; Allure 3 shows them
  at the top of the home page.

Everything passes the redactor again on its way in. Not supported: a drill with no
``summary.json`` gets no RTO/RPO table (an interrupted attempt), one with no record no
record; figures of several attempts are not merged (the newest attempt's summary covers the
drill: it is written from every attempt's results).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from maip_drlib.cells import number
from maip_drlib.evidence.redact import Redactor, default_redactor

VARIABLES_ENV = "MAIP_DR_ALLURE_VARIABLES"
RTO_RPO_NAME = "RTO and RPO"
RECORD_NAME = "DR test record"
TIMELINE_NAME = "drill timeline"
# Markdown shown as text: Allure 3 previews text/markdown in an iframe that it cannot size
# from file:// (an opaque origin), which cut the record to its first 150 pixels.
TEXT_TYPE = "text/plain"
RECORD_FILE = "dr-test-record.md"


def _attempts(drill_dir: Path) -> list[Path]:
    found = [p for p in drill_dir.glob("attempt-*") if p.name[8:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[8:]))


def _record_text(drill_dir: Path) -> str | None:
    """The DR test record as it reads now: the sealed record with the remediation decisions
    taken since (``remediation.jsonl``) applied; the sealed Markdown when there are none."""
    from maip_drlib.errors import ConfigError
    from maip_drlib.evidence.dr_test_record_md import render
    from maip_drlib.evidence.remediation import DECISIONS_NAME, current_record

    if (drill_dir / DECISIONS_NAME).is_file():
        try:
            return render(current_record(drill_dir))
        except ConfigError:
            pass  # no readable sealed record: the Markdown below, if any
    record = drill_dir / RECORD_FILE
    record = record if record.is_file() else newest_file(drill_dir, RECORD_FILE)
    return record.read_text(encoding="utf-8") if record is not None else None


def newest_file(drill_dir: Path, name: str) -> Path | None:
    """``name`` in the newest attempt that has it, or None."""
    for attempt in reversed(_attempts(drill_dir)):
        if (attempt / name).is_file():
            return attempt / name
    return None


def _verdict(ok: Any, complete: Any = True) -> str:
    if complete is False:
        return "incomplete"
    return "not judged" if ok is None else ("met" if ok else "OVER")


def _rpo_verdict(row: dict[str, Any]) -> str:
    if row.get("status") != "measured":
        return str(row.get("status") or "not measured")
    return "no target" if row.get("ok") is None else ("met" if row["ok"] else "OVER")


def rto_rpo_markdown(summary: dict[str, Any]) -> str:
    """The RTO/RPO tables of one summary.json: per stage, end to end, per store."""
    unit = "min"
    lines = []
    if summary.get("simulated"):
        lines += ["> **SIMULATED RUN**: figures from a simulation of the platform (time_scale "
                  f"{summary.get('time_scale')} real s per simulated minute), not from "
                  "production; minutes are simulated minutes.", ""]
    lines += [f"# RTO and RPO: drill {summary.get('drill_id')}: {summary.get('verdict')}", "",
              "## RTO per stage", "",
              f"| stage | outcome | measured {unit} | budget {unit} | RTO | scenario |",
              "|---|---|---:|---:|---|---|"]
    for stage in summary.get("stages", []):
        if stage.get("phase") not in ("failover", "failback"):
            continue
        judged = _verdict(stage.get("rto_ok")) if stage.get("outcome") == "passed" else "-"
        lines.append(f"| {stage.get('phase')} {stage.get('stage')} | {stage.get('outcome')} | "
                     f"{number(stage.get('simulated_minutes'), '.2f')} | "
                     f"{number(stage.get('rto_budget_minutes'))} | {judged} | "
                     f"{stage.get('scenario')} |")
    lines += ["", "## RTO end to end", "",
              f"| phase | measured {unit} | budget {unit} | RTO | from | to |",
              "|---|---:|---:|---|---|---|"]
    end_to_end = summary.get("rto_end_to_end") or {}
    for phase in sorted(end_to_end, key=lambda p: (p != "failover", p)):  # failover first
        row = end_to_end[phase]
        lines.append(f"| {phase} | {number(row.get('simulated_minutes'), '.2f')} | "
                     f"{number(row.get('budget_minutes'))} | "
                     f"{_verdict(row.get('ok'), row.get('complete'))} | "
                     f"{row.get('from', '-')} | {row.get('to', '-')} |")
    lines += ["", "## RPO per store", "",
              "| store | measured s | target s | canaries lost | RPO |",
              "|---|---:|---:|---:|---|"]
    for row in summary.get("rpo", []):
        lines.append(f"| {row.get('store')} | {number(row.get('rpo_s'), '.3f')} | "
                     f"{number(row.get('target_s'))} | {number(row.get('lost'))} | "
                     f"{_rpo_verdict(row)} |")
    return "\n".join(lines) + "\n"


def headline(summary: dict[str, Any]) -> dict[str, str]:
    """The few figures shown at the top of the report (Allure 3 report variables)."""
    out = {"verdict": str(summary.get("verdict")),
           "evidence": ("SIMULATED run (simulated minutes)" if summary.get("simulated")
                        else "live run")}
    end_to_end = summary.get("rto_end_to_end") or {}
    for phase in sorted(end_to_end, key=lambda p: (p != "failover", p)):  # failover first
        row = end_to_end[phase]
        out[f"RTO {phase}"] = (  # the key column shows about 14 characters
            f"{number(row.get('simulated_minutes'), '.1f')} of "
            f"{number(row.get('budget_minutes'))} min end to end: "
            f"{_verdict(row.get('ok'), row.get('complete'))}")
    for row in summary.get("rpo", []):
        figure = (f"{number(row.get('rpo_s'), '.3g')} of {number(row.get('target_s'))} s: "
                  if row.get("status") == "measured" else "")
        out[f"RPO {row.get('store')}"] = figure + _rpo_verdict(row)
    return out


def align_tables(markdown: str) -> str:
    """Markdown with every pipe table's columns padded to one width (still Markdown), so
    that it reads as a table in a fixed-width font too."""
    lines = markdown.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        if not lines[index].lstrip().startswith("|"):
            out.append(lines[index])
            index += 1
            continue
        block = []
        while index < len(lines) and lines[index].lstrip().startswith("|"):
            block.append([c.strip() for c in lines[index].strip().strip("|").split("|")])
            index += 1
        width = max(len(row) for row in block)
        ruled = len(block) > 1 and all(_rule(cell) for cell in block[1])
        rule = block[1] if ruled else []
        texts = [row for number_, row in enumerate(block) if not (ruled and number_ == 1)]
        sizes = [max(max((len(r[i]) for r in texts if i < len(r)), default=0), 3)
                 for i in range(width)]
        right = [i < len(rule) and rule[i].endswith(":") and not rule[i].startswith(":")
                 for i in range(width)]
        for number_, row in enumerate(block):
            if ruled and number_ == 1:
                cells = [_ruled(row[i] if i < len(row) else "-", sizes[i])
                         for i in range(width)]
            else:
                cells = [(row[i].rjust(sizes[i]) if right[i] else row[i].ljust(sizes[i]))
                         if i < len(row) else " " * sizes[i] for i in range(width)]
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + ("\n" if markdown.endswith("\n") else "")


def _rule(cell: str) -> bool:
    return bool(cell) and set(cell) <= set("-:")


def _ruled(cell: str, size: int) -> str:
    return ("-" * (size - 1) + ":") if cell.endswith(":") else "-" * size


def _attachment(folder: Path, name: str, content: bytes, ext: str,
                content_type: str) -> dict[str, str]:
    source = f"{uuid.uuid4()}-attachment{ext}"
    (folder / source).write_bytes(content)
    return {"name": name, "source": source, "type": content_type}


def write_overview(drill_dir: Path, folder: Path,
                   redactor: Redactor | None = None) -> dict[str, str]:
    """Write the overview of ``drill_dir`` into the results folder ``folder`` (a
    ``<uuid>-globals.json`` and its attachment files); return the headline variables (empty
    without a summary)."""
    redactor = redactor or default_redactor()
    drill_dir, folder = Path(drill_dir), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    variables: dict[str, str] = {}
    attachments: list[dict[str, str]] = []
    summary_path = newest_file(drill_dir, "summary.json")
    if summary_path is not None:
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            summary = None
        if isinstance(summary, dict):
            text = align_tables(redactor.text(rto_rpo_markdown(summary)))
            attachments.append(_attachment(folder, RTO_RPO_NAME, text.encode(), ".md",
                                           TEXT_TYPE))
            variables = {k: redactor.text(v) for k, v in headline(summary).items()}
    record_text = _record_text(drill_dir)
    if record_text is not None:
        text = align_tables(redactor.text(record_text))
        attachments.append(_attachment(folder, RECORD_NAME, text.encode(), ".md", TEXT_TYPE))
    timeline = newest_file(drill_dir, "timeline.png")
    if timeline is not None:
        attachments.append(_attachment(folder, TIMELINE_NAME, timeline.read_bytes(), ".png",
                                       "image/png"))
    if attachments:
        now = int(time.time() * 1000)
        globals_ = {"attachments": [dict(a, timestamp=now) for a in attachments], "errors": []}
        (folder / f"{uuid.uuid4()}-globals.json").write_text(json.dumps(globals_, indent=2),
                                                              encoding="utf-8")
    return variables
