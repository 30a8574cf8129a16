"""Every kind of secret the suite can meet, through every way it prints or writes: none survives.

Two families: secrets the process was given (the shared game day's environment, learned by
``edge_secrets``) and secrets nobody told the redactor about (a kubeconfig's token and client
key, a DSN's password with ``@``, ``:`` and non-ASCII letters, URL-encoded JSON, a truncated
PEM key...), caught by its patterns. The outputs: the terminal's text and ``--json`` document,
log records, the evidence JSON files (``results-*.json``, ``*.decisions.json``, any file
``redacted_json`` writes) and the one-line errors of a malformed kubeconfig. The whole-drill
version is tests/evidence/test_no_secret_in_a_game_day.py (the shared game day)."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from shared_gameday import SECRETS

from maip_drlib.cli.output import Output
from maip_drlib.drill.context import DecisionLog
from maip_drlib.errors import ConfigError
from maip_drlib.evidence import redact
from maip_drlib.evidence.edge_secrets import redactor_from_environment
from maip_drlib.evidence.log_redaction import install
from maip_drlib.evidence.redact import Redactor
from maip_drlib.evidence.redacted_json import dumps, write_json
from maip_drlib.kubeconfig_check import check_context
from maip_drlib.pytest_dr.operator import write_decisions
from maip_drlib.pytest_dr.stages import StageResult, StageTracker

pytestmark = pytest.mark.unit

PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAdummyClientKeyForTheOutputTest0123456\n"
       "-----END RSA PRIVATE KEY-----\n")
CLIENT_KEY_DATA = base64.b64encode(PEM.encode()).decode()
KUBE_TOKEN = "dummyKubeconfigBearerToken0123456789"
DSN_PASSWORD = "p@ss:wörd-Ünïcode-dummy"
# Secrets nobody gave the redactor, each with the fragments that must not survive.
UNKNOWN = {
    "kubeconfig": (f"users:\n- name: maip\n  user:\n    token: {KUBE_TOKEN}\n"
                   f"    client-key-data: {CLIENT_KEY_DATA}\n", [KUBE_TOKEN, CLIENT_KEY_DATA[:24]]),
    "dsn": (f"postgresql://maip:{DSN_PASSWORD}@db.example.test:5432/maip",
            ["p@ss", "wörd", "Ünïcode", "w%C3%B6rd"]),
    "url-encoded json": ("payload=" + quote('{"db_password": "Sup3rS3cretDummy"}', safe=""),
                         ["Sup3rS3cretDummy"]),
    "truncated pem": ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQdummyTruncated",
                      ["MIIEvQIBADANBgkqhkiG9w0BAQdummyTruncated"]),
    "aws keys": ("AccessKeyId=AKIAIOSFODNN7EXAMPLE aws_secret_access_key="
                 "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY aws_session_token=FwoGZXIvYXdzdummy0",
                 ["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "FwoGZXIvYXdzdummy0"]),
    "eks token": ("Authorization: Bearer k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_dummy",
                  ["aHR0cHM6Ly9zdHM"]),
    "webhooks": ("https://hooks.slack.com/services/T0DUMMY/B0DUMMY/dummySlack01 "
                 "https://contoso.webhook.office.com/webhookb2/dummy@x/IncomingWebhook/dummyT "
                 "https://ci.example.test/hooks/dummyGenericHook01?token=dummyQueryTok01",
                 ["dummySlack01", "IncomingWebhook/dummyT", "dummyGenericHook01",
                  "dummyQueryTok01"]),
}


def forms(secret: str) -> set[str]:
    raw = secret.encode()
    encoded = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return ({secret, quote(secret, safe=""), quote_plus(secret),
             json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
            | encoded | {e.rstrip("=") for e in encoded})


def needles() -> dict[str, set[str]]:
    found = {name: forms(value) for name, value in SECRETS.items()}
    found.update({name: set(fragments) for name, (_, fragments) in UNKNOWN.items()})
    return found


def leaks(text: str) -> list[tuple[str, str]]:
    return [(name, n) for name, ns in needles().items() for n in ns if n in text]


def every_secret() -> dict[str, str]:
    """Each secret in the spellings the suite meets: plain, inside JSON, URL-encoded."""
    known = {f"env {name}": value for name, value in SECRETS.items()}
    known.update({f"in words {name}": f"given {value} here" for name, value in SECRETS.items()})
    known.update({f"url-encoded {name}": quote(value, safe="") for name, value in SECRETS.items()})
    known.update({f"unknown {name}": text for name, (text, _) in UNKNOWN.items()})
    return known


@pytest.fixture
def redactor(monkeypatch: pytest.MonkeyPatch) -> Iterator[Redactor]:
    """The process-wide redactor, fresh, learning the shared game day's environment."""
    monkeypatch.setattr(redact, "_DEFAULT", Redactor())
    yield redactor_from_environment({**SECRETS, "HOME": "/home/op", "LANG": "C.UTF-8"})


def test_the_environment_gives_the_redactor_every_secret(redactor: Redactor) -> None:
    for name, value in SECRETS.items():
        assert value not in redactor.text(f"x {value} y"), name


def test_text_output(redactor: Redactor) -> None:
    out, err = io.StringIO(), io.StringIO()
    output = Output(stdout=out, stderr=err, redact=redactor.text, color_choice="never")
    for name, text in every_secret().items():
        output.result(f"{name}: {text}")
        output.info(text)
        output.error(text)
        output.verdict(text)
    assert not leaks(out.getvalue() + err.getvalue())
    assert "given [REDACTED] here" in out.getvalue()


def test_json_output_redacts_the_data_before_serialising(redactor: Redactor) -> None:
    out = io.StringIO()
    output = Output(json=True, stdout=out, stderr=io.StringIO(), redact=redactor.text)
    document = {"secrets": every_secret(), "nested": [{"detail": list(every_secret().values())}],
                "count": 3, "ok": True, "none": None, "token": 42}
    output.document(document)
    text = out.getvalue()
    assert not leaks(text)
    parsed = json.loads(text)
    assert parsed["count"] == 3 and parsed["ok"] is True and parsed["none"] is None
    assert parsed["token"] == "[REDACTED]"
    # Escaped and non-ASCII spellings were what the old "redact the JSON text" missed.
    assert json.dumps(DSN_PASSWORD)[1:-1] not in text and "\\u00f6" not in text


def test_log_records(redactor: Redactor) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    log = logging.getLogger("maip.test.every-secret")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    undo = install(redactor)
    try:
        for name, text in every_secret().items():
            log.debug("%s: %s", name, text)
            log.warning("request %r", {"headers": {"Authorization": text}, "body": text})
    finally:
        undo()
        log.removeHandler(handler)
    assert stream.getvalue() and not leaks(stream.getvalue())


def test_evidence_json_files(redactor: Redactor, tmp_path: Path) -> None:
    del redactor  # the writers use the process-wide redactor, as in a drill
    results = tmp_path / "results-failover.json"
    tracker = StageTracker(time_scale=None)
    for index, (name, text) in enumerate(every_secret().items()):
        tracker.results[name] = StageResult(nodeid=f"t::{index}", scenario=name, phase="failover",
                                            stage=2, outcome="failed", message=text)
    tracker.write(results)
    decisions = DecisionLog()
    for text in every_secret().values():
        decisions.record("failover:2", f"refused: {text}", detail=text, nested={"x": [text]})
    written = [results, write_decisions(results, decisions),
               write_json(tmp_path / "canaries.json", {"failure": every_secret()}, indent=2)]
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert not leaks(text), path.name
        json.loads(text)
    assert [r["scenario"] for r in json.loads(results.read_text())] == list(every_secret())
    assert not leaks(dumps(every_secret(), ensure_ascii=True))


def test_malformed_kubeconfig_errors_echo_no_line(redactor: Redactor, tmp_path: Path) -> None:
    del redactor
    broken = {
        "tab before the token": f"users:\n- name: u\n  user:\n\ttoken: {KUBE_TOKEN}\n",
        "bad indent at the key": (f"users:\n- name: u\n  user:\n    token: {KUBE_TOKEN}\n"
                                  f"   client-key-data: {CLIENT_KEY_DATA}\n"),
        "unclosed flow": f"users: [ {{token: {KUBE_TOKEN} ]\n",
        "server with a password": (
            "contexts:\n- name: c\n  context: {cluster: k, user: u}\nclusters:\n- name: k\n"
            f"  cluster: {{server: 'https://maip:{DSN_PASSWORD}@10.0.0.1'}}\n"),
    }
    for name, text in broken.items():
        path = tmp_path / "kubeconfig"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            check_context(path, "c", source="maip-dr.toml", file_key="kubeconfig",
                          context_key="kube_context", loopback_only=True)
        message = str(caught.value)
        assert "\n" not in message and not leaks(message), (name, message)
        assert str(path) in message, (name, message)


def test_config_errors_quote_no_password(redactor: Redactor, tmp_path: Path) -> None:
    """A bad value the config check quotes passes the redactor (a URL may carry a password)."""
    del redactor
    from maip_drlib.config_loader import load_config

    config = tmp_path / "maip-dr.toml"
    config.write_text('[targets.x]\nkind = "live"\n'
                      f'public_endpoint_url = "https://maip:{DSN_PASSWORD}@[bad/health"\n',
                      encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    message = str(caught.value)
    assert "targets.x.public_endpoint_url" in message and "expected a URL" in message, message
    assert not leaks(message), message


def test_cli_error_lines_redact_the_message_not_the_key_names(redactor: Redactor) -> None:
    from maip_drlib.cli import _redacted_error
    from maip_drlib.errors import DRError

    plain = _redacted_error(redactor, DRError(f"connect failed: {UNKNOWN['dsn'][0]}"))
    assert not leaks(plain) and plain.startswith("connect failed: "), plain
    named = _redacted_error(redactor, ConfigError("the HMAC key must be at least 16 bytes",
                                                  key="MAIP_DR_HMAC_KEY"))
    assert named == "MAIP_DR_HMAC_KEY: the HMAC key must be at least 16 bytes"
    quoted = _redacted_error(redactor, ConfigError(f"got {UNKNOWN['dsn'][0]!r}",
                                                   source="maip-dr.toml", key="x.url"))
    assert quoted.startswith("maip-dr.toml: x.url: got ") and not leaks(quoted), quoted
