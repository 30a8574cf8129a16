"""The DR test record of a real game day (the session's shared one): written into the attempt
and sealed in its manifest, it names every failover and failback stage with its measured RTO
against its budget, the RTO end to end, the RPO per store, the scenario and the dry-run plan
journalled before the first mutating call, the participants against the intended ones (Bo
missing) and the lesson given with ``--note``; the sealed record is copied beside the
attempts."""

from __future__ import annotations

import json

import pytest
from shared_gameday import SharedGameDay

from maip_drlib.evidence.dr_test_record import RECORD_JSON, RECORD_MD

pytestmark = [pytest.mark.gameday]

STAGES = {("failover", n) for n in range(1, 6)} | {("failback", n) for n in range(1, 5)}


def test_the_shared_game_days_record_shows_every_stage_and_store(
        embedded_gameday: SharedGameDay) -> None:
    assert embedded_gameday.returncode == 0, embedded_gameday.output
    attempt = embedded_gameday.attempt
    data = json.loads((attempt / RECORD_JSON).read_text())
    manifest = json.loads((attempt / "manifest.json").read_text())
    assert {RECORD_JSON, RECORD_MD} <= {f["path"] for f in manifest["files"]}
    stages = {(s["phase"], s["stage"]): s for s in data["results"]["stages"]}
    assert set(stages) >= STAGES, sorted(stages)
    for key in STAGES:
        assert stages[key]["measured_minutes"] is not None, key
        assert stages[key]["budget_minutes"] is not None, key
        assert stages[key]["rto_ok"] is True, key
    assert set(data["results"]["rto_end_to_end"]) == {"failover", "failback"}
    rpo = {row["store"]: row for row in data["results"]["rpo"]}
    assert set(rpo) == {"dynamodb", "rds", "msk"}
    assert rpo["dynamodb"]["rpo_s"] is not None and rpo["dynamodb"]["target_s"] is not None
    assert data["plan"]["scenario"]["kind"] == "injected"
    assert data["plan"]["dry_run"]["status"] == "recorded"
    assert any(c["operation"] == "promote_read_replica"
               for c in data["plan"]["dry_run"]["calls"])
    assert data["simulated"] is True and data["verdict"] == "PASS"
    people = data["people"]
    assert [p["name"] for p in people["participants"]] == ["Ana"], people
    assert [p["name"] for p in people["missing"]] == ["Bo"], people
    assert [lesson["text"] for lesson in data["lessons"]] == ["shared record"], data["lessons"]
    drill = attempt.parent  # the sealed record, copied beside the attempts
    assert (drill / RECORD_MD).read_bytes() == (attempt / RECORD_MD).read_bytes()
    md = (attempt / RECORD_MD).read_text()
    assert md.startswith("> **SIMULATED RUN**")
    for phase, number in sorted(STAGES):
        assert f"| {phase} {number} | " in md, (phase, number)
    for store in ("dynamodb", "rds", "msk"):
        assert f"| {store} | " in md
