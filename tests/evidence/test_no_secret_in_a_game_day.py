"""No secret given to a game day (AWS keys and session token, the HMAC key, database passwords
with "@", ":" and non-ASCII letters, EKS and kubeconfig tokens, a client key, Slack-like, Teams
and generic webhook URLs) appears in any file it writes (every file under reports/, whoever
wrote it: journal, results, decisions, canaries, RPO, summary, Allure, manifest, HTML) or in
what it prints, in plain, base64, URL-encoded or JSON-escaped form, nor any presigned signature
or EKS bearer token, with pytest logging at DEBUG (botocore's signed requests). The session's
shared game day (tests/shared_gameday.py) ran with these secrets in its environment. The same
secrets through --json, log records and each evidence writer one by one:
tests/evidence/test_every_secret_every_output.py."""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest
from shared_gameday import SECRETS, SharedGameDay

pytestmark = [pytest.mark.gameday, pytest.mark.cli]


def _forms(value: str) -> set[str]:
    raw = value.encode()
    return {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value),
            base64.b64encode(raw).decode(), base64.b64encode(raw).decode().rstrip("="),
            base64.urlsafe_b64encode(raw).decode().rstrip("="),
            json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}


def test_no_secret_in_anything_a_game_day_writes(embedded_gameday: SharedGameDay) -> None:
    """The session's shared game day ran with these secrets in its environment and pytest
    logging at DEBUG (botocore's signed requests)."""
    result = embedded_gameday
    assert result.returncode == 0, result.output
    written = [p for p in (result.workdir / "reports").rglob("*") if p.is_file()]
    assert len(written) > 20
    # The kinds of file that once skipped the redactor are among those searched.
    names = {p.name for p in written}
    for kind in ("results-failover.json", "results-failover.decisions.json", "canaries.json",
                 "rpo.json", "summary.json", "journal.jsonl"):
        assert kind in names, (kind, sorted(names))
    haystacks = {"stdout": result.stdout, "stderr": result.stderr}
    haystacks.update({str(p): p.read_bytes().decode("utf-8", "replace") for p in written})
    needles = set().union(*(_forms(v) for v in SECRETS.values()))
    needles |= {"X-Amz-Signature", "k8s-aws-v1."}
    leaks = [(name, needle) for name, text in haystacks.items() for needle in needles
             if needle in text]
    assert not leaks, leaks
