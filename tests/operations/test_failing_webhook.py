"""A webhook that fails never fails a drill: ``drill/operations.py`` reports it and goes on.

In-process and fast (the full game day with a working webhook is
``test_gameday_operations_e2e.py``): the completion and stage-failed notices of a finished
attempt go to a loopback receiver that answers HTTP 500, or to a closed port. Each call
returns normally, the terminal line says "NOT delivered" with the reason and without the URL,
and the sealed attempt is left as it was (the after-seal steps write nothing into it).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from notify.webhook_receiver import serve

from maip_drlib.config import Topology, embedded_target
from maip_drlib.drill.operations import Operations, after_gameday, on_stage_failed
from maip_drlib.evidence.redact import Redactor
from maip_drlib.evidence.summary_files import write_summary
from maip_drlib.notify import WebhookSettings

pytestmark = pytest.mark.sim

SECRET = "ops-secret-hook-51a2c7"
PATH = f"/services/T0SIM/B0SIM/{SECRET}"
FAILED = {"phase": "failover", "stage": 3, "scenario": "Clients reach the DR ALB",
          "outcome": "failed", "error_kind": "check", "duration_s": 4.0,
          "simulated_minutes": 20.0, "rto_budget_minutes": 5, "rto_ok": False,
          "message": "DNS answer still us-east-1"}


def fast(url: str) -> WebhookSettings:
    return WebhookSettings(url, connect_timeout_s=0.5, read_timeout_s=0.5, attempts=2,
                           backoff_s=0.05, backoff_max_s=0.1, deadline_s=3.0)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def attempt(tmp_path: Path) -> Path:
    folder = tmp_path / "gameday-20260101T000000Z" / "attempt-1"
    folder.mkdir(parents=True)
    write_summary(folder, results=[FAILED], rpo=[], target={"name": "embedded",
                                                           "kind": "embedded"},
                  operator="op@host", simulated=True, time_scale=0.2,
                  drill_id="gameday-20260101T000000Z", rto_end_to_end={})
    return folder


@pytest.mark.parametrize(("answer", "reason"), [
    (500, "webhook answered HTTP 500"),
    ("closed", "webhook did not answer"),
])
def test_a_failing_webhook_is_reported_and_fails_nothing(attempt: Path, answer: object,
                                                         reason: str) -> None:
    topology = Topology()
    target = embedded_target(topology)
    lines: list[str] = []
    before = snapshot(attempt)
    with serve() as receiver:
        receiver.answers = [500]
        url = receiver.url(PATH) if answer == 500 else f"http://127.0.0.1:{closed_port()}{PATH}"
        ops = Operations(webhook=fast(url))
        failed = on_stage_failed(ops, FAILED, drill_id="gameday-20260101T000000Z",
                                 target=target, evidence=attempt, redactor=Redactor(),
                                 echo=lines.append)
        after_gameday(ops, attempt, target=target, topology=topology, digest="ab" * 32,
                      primary_down=False, redactor=Redactor(), echo=lines.append)
        received = list(receiver.requests)
    assert failed is not None and not failed.delivered and failed.attempts == 2
    assert len(lines) == 2
    assert lines[0].startswith("maip-dr: notification (stage-failed) NOT delivered")
    assert lines[1].startswith("maip-dr: notification (completion) NOT delivered")
    assert all(reason in line for line in lines), lines
    assert all(SECRET not in line for line in lines)
    assert snapshot(attempt) == before
    if answer == 500:  # the receiver saw both messages, each tried twice
        assert [r["json"]["text"].split(":")[0] for r in received] == [
            "DR drill gameday-20260101T000000Z"] * 4
