"""The RTO as clients saw it (``drill/client_view.py``): the longest window without a healthy
answer from a list of answers, its bounds, the interval per target, the answers of a resumed
drill merged with what was not observed, and the client thread against a fake ``send`` (what it
records: status, address, healthy, the error's class; never a body or an error message)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from maip_drlib.config import RegionConnection, Target
from maip_drlib.drill.client_view import (
    FILE,
    Answer,
    SyntheticClient,
    client_seen_rto,
    drill_answers,
    interval_for,
    phase_at,
    phase_marks,
)
from maip_drlib.drill.results_table import client_seen_line
from maip_drlib.drill.synthetic import SyntheticResult

pytestmark = pytest.mark.unit


def _answers(pattern: str, *, start: float = 1000.0, step: float = 0.5) -> list[Answer]:
    """'g' healthy, 'b' no healthy answer, one every ``step`` seconds."""
    return [Answer(at=f"t{index}", epoch_s=start + index * step, address="127.0.0.1:1",
                   status=200 if c == "g" else None, healthy=c == "g",
                   error=None if c == "g" else "ConnectionError")
            for index, c in enumerate(pattern)]


def test_the_longest_window_without_a_healthy_answer_from_first_bad_to_first_good_again(
        ) -> None:
    marks = phase_marks({"readiness.start": 990.0, "outage": 1000.9, "failover.end": 1001.9,
                         "failback.start": 1002.2})
    assert marks == [(1000.9, "failover"), (1002.2, "failback")]
    figure = client_seen_rto(_answers("ggbbgbbbbbgg"), time_scale=0.5, interval_s=0.5,
                             marks=marks)
    assert figure["status"] == "measured"
    assert (figure["first_bad"], figure["first_good_again"]) == ("t5", "t10")
    assert figure["last_good_before"] == "t4"
    assert figure["wall_s"] == 2.5 and figure["minutes"] == 5.0  # 0.5 real s per sim minute
    assert figure["windows"] == 2 and figure["requests"] == 12 and figure["healthy"] == 5
    assert [(w["phase"], w["first_bad"], w["first_good_again"], w["wall_s"], w["minutes"])
            for w in figure["all_windows"]] == [("failover", "t2", "t4", 1.0, 2.0),
                                                ("failback", "t5", "t10", 2.5, 5.0)]
    assert {p: w["wall_s"] for p, w in figure["by_phase"].items()} == {"failover": 1.0,
                                                                       "failback": 2.5}
    assert phase_at(999.0, marks) == "before the outage"
    live = client_seen_rto(_answers("gbbg", step=5.0), time_scale=None)
    assert live["wall_s"] == 10.0 and live["minutes"] == pytest.approx(10 / 60, abs=1e-3)
    assert live["unit"] == "minutes"


def test_an_open_ended_window_is_a_lower_bound_and_no_bad_answer_is_zero() -> None:
    never = client_seen_rto(_answers("ggbbb"), time_scale=1.0)
    assert never["status"] == "measured (lower bound)" and never["first_good_again"] is None
    assert never["wall_s"] == 1.0
    assert "no healthy answer again before the drill ended" in never["bounds"]
    already = client_seen_rto(_answers("bbg"), time_scale=1.0)
    assert already["bounds"] == ["already without a healthy answer at the client's first "
                                 "request"]
    healthy = client_seen_rto(_answers("ggg"), time_scale=1.0)
    assert healthy["wall_s"] == 0.0 and healthy["why"] == "every answer was healthy"
    nothing = client_seen_rto([], time_scale=1.0)
    assert nothing["status"] == "not measured" and nothing["wall_s"] is None
    assert client_seen_line(nothing).startswith("RTO as clients saw it: not measured")
    line = client_seen_line(client_seen_rto(_answers("gbbg"), time_scale=0.5, interval_s=0.5))
    assert line == ("RTO as clients saw it: 2.00 sim min (1.00 s wall) without a healthy "
                    "answer, t1 to t3; 4 requests every 0.5 s")


def _target(kind: str, time_scale: float | None) -> Target:
    region = RegionConnection(region="us-east-1", kube_context="a")
    return Target(name="t", kind=kind, primary=region,  # type: ignore[arg-type]
                  secondary=RegionConnection(region="us-west-2", kube_context="b"),
                  time_scale=time_scale)


def test_the_interval_is_five_seconds_live_and_a_simulated_minute_within_bounds() -> None:
    assert interval_for(_target("live", None)) == 5.0
    assert interval_for(_target("embedded", 0.5)) == 0.5
    assert interval_for(_target("sim", 1.0)) == 1.0
    assert interval_for(_target("sim", 30.0)) == 1.0  # at most one real second
    assert interval_for(_target("sim", 0.01)) == 0.2  # at least 0.2 s on a 2-core runner


def test_a_resumed_drill_merges_the_attempts_and_says_what_was_not_observed(
        tmp_path: Path) -> None:
    drill = tmp_path / "drill-r"
    first = _answers("ggbb", start=1000.0)
    (drill / "attempt-1").mkdir(parents=True)
    (drill / "attempt-1" / FILE).write_text(json.dumps(
        {"answers": [a.__dict__ for a in first], "marks": [[1000.5, "failover"]]}))
    (drill / "attempt-2").mkdir()  # a single stage: no client
    (drill / "attempt-3").mkdir()
    merged, gaps, marks = drill_answers(drill, 3, _answers("bgg", start=1010.0),
                                        [(1010.2, "failback")])
    assert marks == [(1000.5, "failover"), (1010.2, "failback")]
    assert len(merged) == 7
    assert gaps[0].startswith("attempt 2: no client answers")
    assert gaps[1] == "from t3 to t0: between attempts (the drill resumed in attempt 3)"
    figure = client_seen_rto(merged, time_scale=1.0, not_observed=gaps, interval_s=0.5,
                             marks=marks)
    assert figure["all_windows"][0]["phase"] == "failover"  # attempt 1's own mark
    assert figure["wall_s"] == 9.5 and figure["not_observed"] == gaps  # t2 of 1 to t1 of 3
    assert figure["status"] == "measured (includes time not observed)"
    assert figure["bounds"] == ["includes 8.5 s with no request answered (not observed)"]


def test_the_client_records_status_address_and_the_errors_class_only() -> None:
    sent: list[tuple[str, str]] = []
    replies = iter([SyntheticResult("GET", "u", 200, "127.0.0.1:8443 (simulated)", 0.01),
                    SyntheticResult("GET", "u", None, None, 0.01,
                                    "ConnectionError: refused by https://secret.example"),
                    SyntheticResult("GET", "u", 503, "127.0.0.1:9443", 0.01)])
    third = threading.Event()

    def send(method: str, url: str, **_kwargs: object) -> SyntheticResult:
        sent.append((method, url))
        reply = next(replies, SyntheticResult("GET", "u", 200, "127.0.0.1:9443", 0.01))
        if len(sent) >= 3:
            third.set()
        return reply

    client = SyntheticClient("https://api.example/actuator/health", resolver=object(),  # type: ignore[arg-type]
                             interval_s=0.01, send=send)
    assert client.start()
    assert third.wait(10)
    answers = client.stop()
    assert {m for m, _ in sent} == {"GET"}
    assert [(a.status, a.healthy, a.error, a.address) for a in answers[:3]] == [
        (200, True, None, "127.0.0.1:8443"), (None, False, "ConnectionError", None),
        (503, False, None, "127.0.0.1:9443")]
    assert "secret.example" not in json.dumps([a.__dict__ for a in answers])
