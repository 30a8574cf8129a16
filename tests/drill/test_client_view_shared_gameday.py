"""The RTO as clients saw it, on a real game day (the session's shared one): the synthetic
client's answers are in the attempt (``client-view.json``, sealed), healthy before the outage,
a non-empty window without a healthy answer after it and healthy again after the failover;
the summary and the DR test record carry the measured figure beside the stage-by-stage RTO,
and the terminal shows its line."""

from __future__ import annotations

import json

import pytest
from shared_gameday import SharedGameDay

from maip_drlib.drill.client_view import FILE

pytestmark = [pytest.mark.gameday]


def test_clients_saw_a_window_without_a_healthy_answer_after_the_outage(
        embedded_gameday: SharedGameDay) -> None:
    assert embedded_gameday.returncode == 0, embedded_gameday.output
    attempt = embedded_gameday.attempt
    view = json.loads((attempt / FILE).read_text())
    manifest = json.loads((attempt / "manifest.json").read_text())
    assert FILE in {f["path"] for f in manifest["files"]}
    journal = [json.loads(line) for line in (attempt / "journal.jsonl").read_text().splitlines()]
    outage = next(r["at"] for r in journal if r.get("kind") == "fault"
                  and r.get("action") == "outage")
    answers = view["answers"]
    assert set(answers[0]) == {"at", "epoch_s", "address", "status", "healthy", "error",
                               "elapsed_s"}  # never a body or a header
    assert answers[0]["healthy"] and answers[0]["at"] < outage  # from before the outage
    figure = json.loads((attempt / "summary.json").read_text())["client_seen_rto"]
    assert figure["status"] == "measured", figure
    assert figure["wall_s"] > 0 and figure["minutes"] > 0
    assert outage <= figure["first_bad"] < figure["first_good_again"], (outage, figure)
    failover_end = next(r["at"] for r in journal if r.get("kind") == "phase.end"
                        and r.get("phase") == "failover")
    # the failover's window: after the outage, healthy again once DR serves (failover 5)
    failover = [w for w in figure["all_windows"] if outage <= w["first_bad"] < failover_end]
    assert failover and failover[0]["wall_s"] > 0, figure["all_windows"]
    assert {w["phase"] for w in failover} == {"failover"}
    assert figure["by_phase"]["failover"]["wall_s"] == max(w["wall_s"] for w in failover)
    restore = next(r["at"] for r in journal if r.get("kind") == "fault"
                   and r.get("action") == "restore")
    assert failover[-1]["first_good_again"] is not None
    assert failover[-1]["first_good_again"] <= restore, (failover, restore)  # DR served
    assert answers[-1]["healthy"]  # and at the end of the drill, after failback
    record = json.loads((attempt / "dr-test-record.json").read_text())
    assert record["results"]["client_seen_rto"] == figure
    md = (attempt / "dr-test-record.md").read_text()
    assert (f"- RTO as clients saw it: measured: {figure['minutes']:.2f} simulated minutes "
            f"({figure['wall_s']:.2f} s wall) without a healthy answer") in md
    assert "- Longest window per phase: " in md and " failover " in md
    assert "RTO as clients saw it: " in embedded_gameday.stdout + embedded_gameday.stderr
    summary_md = (attempt / "summary.md").read_text()
    assert "## RTO as clients saw it" in summary_md
    assert f"RTO as clients saw it: {figure['minutes']:.2f} sim min" in summary_md
