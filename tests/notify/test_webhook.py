"""Webhook notifications against a loopback receiver: delivery, retries, bounds, secrecy."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from maip_drlib.evidence.edge_secrets import redactor_from_environment
from maip_drlib.evidence.log_redaction import install
from maip_drlib.evidence.redact import Redactor
from maip_drlib.evidence.summary_files import write_summary
from maip_drlib.notify import (
    WebhookSettings,
    notify_completion,
    notify_stage_failure,
    post_webhook,
)
from maip_drlib.notify_messages import completion_payload, readiness_payload, stage_table

pytestmark = pytest.mark.sim

STAGES = [
    {"phase": "readiness", "stage": None, "scenario": "Both regions are ready",
     "outcome": "passed", "duration_s": 1.2},
    {"phase": "failover", "stage": 2, "scenario": "The DR replica becomes a standalone writer",
     "outcome": "passed", "duration_s": 1.52, "simulated_minutes": 3.0,
     "rto_budget_minutes": 10, "rto_ok": True, "destructive": True},
    {"phase": "failover", "stage": 3, "scenario": "Clients reach the DR ALB",
     "outcome": "failed", "error_kind": "check", "duration_s": 4.0,
     "simulated_minutes": 20.0, "rto_budget_minutes": 5, "rto_ok": False, "destructive": True,
     "message": "DNS answer still us-east-1; expected=maip-prod-dr-alb"},
]
RPO = [{"store": "dynamodb", "rpo_s": 0.4, "lost": 3, "interval_s": 0.1, "target_s": 60},
       {"store": "rds", "rpo_s": None, "status": "not measured"}]
DIGEST = "ab" * 32


def fast(url: str, **overrides: Any) -> WebhookSettings:
    values: dict[str, Any] = {"connect_timeout_s": 0.5, "read_timeout_s": 0.5, "attempts": 3,
                              "backoff_s": 0.05, "backoff_max_s": 0.1, "deadline_s": 5.0}
    values.update(overrides)
    return WebhookSettings(url, **values)


@pytest.fixture(scope="module")
def summary_doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("attempt-1")
    _, json_path = write_summary(
        folder, results=STAGES, rpo=RPO, target={"name": "embedded", "kind": "embedded"},
        operator="arn:aws:sts::123456789012:assumed-role/dr/op (op@host)", simulated=True,
        time_scale=0.2, drill_id="gameday-20260101T000000Z", rto_end_to_end={})
    return json.loads(Path(json_path).read_text())


def test_completion_is_delivered_once_with_the_summary(receiver, summary_doc):
    delivery = notify_completion(fast(receiver.url()), summary_doc, digest=DIGEST,
                                 report_location="s3://evidence/maip-dr/gameday-1/")
    assert delivery.delivered and delivery.attempts == 1 and delivery.status == 200
    assert len(receiver.requests) == 1
    sent = receiver.requests[0]
    assert sent["headers"]["Content-Type"] == "application/json"
    message = json.dumps(sent["json"])
    assert sent["json"]["text"].startswith("DR drill gameday-20260101T000000Z: FAIL (SIMULATED)")
    for expected in ("failover 3: Clients reach the DR ALB", "failed", "OVER",
                     "RTO end to end", "dynamodb: 0.400 s against 60 s target",
                     "rds: not measured", f"sha256:{DIGEST}", "s3://evidence/maip-dr/gameday-1/",
                     "simulated platform, not production"):
        assert expected in message, expected
    assert {block["type"] for block in sent["json"]["blocks"]} == {"header", "section"}


def test_a_500_is_retried_then_delivered(receiver, summary_doc):
    receiver.answers = [500, 503, 200]
    delivery = notify_completion(fast(receiver.url()), summary_doc)
    assert delivery.delivered
    assert delivery.attempts == 3 and len(receiver.requests) == 3


def test_a_webhook_that_always_fails_is_reported_not_raised(receiver, summary_doc):
    receiver.answers = [500]
    started = time.monotonic()
    delivery = notify_completion(fast(receiver.url(), attempts=4), summary_doc)
    assert not delivery.delivered
    assert delivery.attempts == 4 and len(receiver.requests) == 4
    assert delivery.status == 500 and "webhook answered HTTP 500" in (delivery.error or "")
    assert time.monotonic() - started < 3


def test_a_4xx_is_not_retried(receiver, summary_doc):
    receiver.answers = [404]
    delivery = notify_completion(fast(receiver.url()), summary_doc)
    assert not delivery.delivered and delivery.attempts == 1 and delivery.status == 404


def test_a_hanging_webhook_times_out_within_the_bounds(receiver, summary_doc):
    receiver.answers = [("hang", 30)]
    settings = fast(receiver.url(), read_timeout_s=0.3, attempts=2)
    started = time.monotonic()
    delivery = notify_completion(settings, summary_doc)
    elapsed = time.monotonic() - started
    assert not delivery.delivered and delivery.attempts == 2
    assert "timed out" in (delivery.error or "")
    assert elapsed < 2.5, elapsed  # 2 x 0.3 s reads + backoff


def test_the_deadline_stops_retries(receiver, summary_doc):
    receiver.answers = [500]
    settings = fast(receiver.url(), attempts=100, backoff_s=0.2, backoff_max_s=0.2,
                    deadline_s=0.5)
    started = time.monotonic()
    delivery = notify_completion(settings, summary_doc)
    assert not delivery.delivered and 2 <= delivery.attempts < 10
    assert time.monotonic() - started < 2


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_connection_is_reported(summary_doc):
    url = f"http://127.0.0.1:{_closed_port()}/hooks/secret-path-xyz123"
    delivery = notify_completion(fast(url, attempts=2), summary_doc)
    assert not delivery.delivered and delivery.attempts == 2
    assert "webhook did not answer" in (delivery.error or "")


def test_a_bad_url_is_reported_without_showing_it():
    delivery = post_webhook(WebhookSettings("ftp://example.invalid/secret-path-xyz123"),
                            {"text": "x"})
    assert not delivery.delivered and delivery.attempts == 0
    assert "secret-path-xyz123" not in delivery.describe()


@pytest.mark.parametrize("edge_log_redaction", [True, False])
def test_the_url_never_reaches_messages_or_logs(receiver, summary_doc, caplog, capsys,
                                                monkeypatch, edge_log_redaction):
    """With the edge's log redaction (as the CLI installs it, from MAIP_DR_WEBHOOK_URL) no
    record at all shows the URL, urllib3's DEBUG lines included; without it, this module's
    own records, messages and results still never show it."""
    secret_path = "/services/T0SIM/B0SIM/zz-secret-hook-4f1e9b"
    url = receiver.url(secret_path)
    caplog.set_level(logging.DEBUG)
    receiver.answers = [500, 200]
    if edge_log_redaction:
        monkeypatch.setenv("MAIP_DR_WEBHOOK_URL", url)
        redactor = redactor_from_environment(os.environ)
        monkeypatch.setattr(logging, "getLogRecordFactory", logging.getLogRecordFactory)
        undo = install(redactor)
    else:
        redactor, undo = Redactor(), None
    try:
        _deliver_and_check(receiver, summary_doc, caplog, capsys, url, secret_path, redactor,
                           edge_log_redaction)
    finally:
        if undo is not None:
            undo()


def _deliver_and_check(receiver, summary_doc, caplog, capsys, url, secret_path, redactor,
                       edge_log_redaction):
    ok = notify_completion(fast(url), summary_doc, redactor=redactor)
    receiver.answers = [500]
    failed = notify_stage_failure(fast(url, attempts=2), STAGES[2], drill_id="d1",
                                  target={"name": "embedded", "kind": "embedded"},
                                  simulated=True, redactor=redactor)
    refused = notify_completion(fast(f"http://127.0.0.1:{_closed_port()}{secret_path}",
                                     attempts=1), summary_doc, redactor=redactor)
    out = capsys.readouterr()
    logs = caplog.text if edge_log_redaction else "\n".join(
        r.getMessage() for r in caplog.records if r.name == "maip_drlib.notify")
    seen = "\n".join([logs, out.out, out.err, repr(fast(url)),
                      *(d.describe() + repr(d) for d in (ok, failed, refused))])
    assert ok.delivered and not failed.delivered and not refused.delivered
    assert "webhook attempt 1 failed" in caplog.text  # the logs were there to be read
    for secret in (url, secret_path, "zz-secret-hook-4f1e9b"):
        assert secret not in seen
    assert redactor.text(f"posting to {url}") == "posting to [REDACTED]"
    # and the payload never carries it either
    assert all("zz-secret-hook" not in json.dumps(r["json"]) for r in receiver.requests)


def test_stage_failure_message(receiver):
    delivery = notify_stage_failure(fast(receiver.url()), STAGES[2], drill_id="d1",
                                    target={"name": "prod", "kind": "live"}, simulated=False,
                                    report_location="reports/d1/attempt-1/")
    assert delivery.delivered and delivery.event == "stage-failed"
    body = json.dumps(receiver.requests[0]["json"])
    assert "DR drill d1: stage FAILED" in body and "SIMULATED" not in body
    assert "failover 3: Clients reach the DR ALB" in body and "DNS answer still" in body
    assert "reports/d1/attempt-1/" in body


def test_secrets_in_the_summary_are_masked_in_the_payload(summary_doc):
    doc = dict(summary_doc, operator="op with AKIAABCDEFGHIJKLMNOP")
    payload = completion_payload(doc)
    assert "AKIAABCDEFGHIJKLMNOP" not in json.dumps(payload)


def test_stage_table_is_bounded():
    many = [dict(STAGES[1], stage=n % 5 + 1) for n in range(45)]
    table = stage_table(many, max_rows=10)
    assert len(table.splitlines()) == 12 and "35 more stage(s)" in table
    assert stage_table([]) == "(no stage ran)"


def test_each_readiness_run_is_one_row_so_every_drill_stage_fits():
    def check(n: int, outcome: str = "passed", phase: str = "readiness") -> dict:
        return {"phase": phase, "stage": None, "scenario": f"check {n}", "outcome": outcome,
                "duration_s": 0.5}

    drill = [dict(STAGES[1], phase=phase, stage=n, outcome="passed")
             for phase, count in (("failover", 5), ("failback", 4)) for n in range(1, count + 1)]
    stages = ([check(n) for n in range(9)] + [check(9, "skipped")] + drill
              + [check(n, phase="readiness-after") for n in range(9)]
              + [check(9, "failed", "readiness-after")])
    table = stage_table(stages)
    lines = table.splitlines()
    assert len(lines) == 1 + 1 + 9 + 1 and "more stage" not in table  # head, 2 folded, 9
    assert re.match(r"readiness: 10 checks, 9 passed, 1 skipped +passed", lines[1])
    assert re.match(r"readiness-after: 10 checks, 1 failed, 9 passed +failed", lines[-1])
    assert all(any(line.startswith(f"{phase} {n}:") for line in lines)
               for phase, count in (("failover", 5), ("failback", 4)) for n in range(1, count + 1))


def test_readiness_message(receiver):
    results = [{"scenario": "RDS replica lag", "outcome": "failed",
                "message": "lag over threshold; region=us-west-2; observed=90s"},
               {"scenario": "EKS ACTIVE", "outcome": "passed"},
               {"scenario": "vCPU quota", "outcome": "skipped"}]
    payload = readiness_payload(results, target={"name": "prod", "kind": "live"},
                                simulated=False, exit_code=1)
    delivery = post_webhook(fast(receiver.url()), payload, event="readiness")
    assert delivery.delivered
    body = json.dumps(receiver.requests[0]["json"])
    assert "DR readiness of prod: FAIL" in body and "1 passed, 1 failed, 1 not checked" in body
    assert "RDS replica lag" in body and "observed=90s" in body
