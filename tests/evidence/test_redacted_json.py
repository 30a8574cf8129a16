"""Evidence JSON is redacted before it is serialised (``evidence.redacted_json``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from maip_drlib.evidence.redact import MARK, Redactor
from maip_drlib.evidence.redacted_json import dumps, redacted, write_json

pytestmark = pytest.mark.unit

SECRET = 'p@ss:wörd "quoted" \\ dummy'


def test_escaped_and_non_ascii_secrets_masked_in_every_serialisation() -> None:
    redactor = Redactor([SECRET])
    data = {"detail": f"login {SECRET} refused", "items": [SECRET, (SECRET, 1)]}
    for options in ({}, {"ensure_ascii": False}, {"indent": 2, "sort_keys": True}):
        text = dumps(data, redactor, **options)
        assert SECRET not in text and json.dumps(SECRET)[1:-1] not in text
        assert json.dumps(SECRET, ensure_ascii=False)[1:-1] not in text
        assert json.loads(text) == {"detail": f"login {MARK} refused",
                                    "items": [MARK, [MARK, 1]]}


def test_non_json_values_become_strings_then_are_redacted() -> None:
    when = datetime(2026, 12, 6, tzinfo=UTC)
    out = redacted({"at": when, "path": Path("/srv/reports"), "token": 7,
                    "url": "postgresql://maip:p@ss:wörd@db/maip"}, Redactor())
    assert out == {"at": str(when), "path": "/srv/reports", "token": MARK,
                   "url": f"postgresql://maip:{MARK}@db/maip"}


def test_ordinary_evidence_is_written_unchanged(tmp_path: Path) -> None:
    digest = "sha256:" + "ab" * 32
    data = [{"drill_id": "gameday-20261206T083840Z", "final_digest": digest, "ok": True,
             "operator": "arn:aws:sts::123456789012:assumed-role/maip-dr/alice", "lost": 0,
             "rpo_s": 0.5, "note": None}]
    path = write_json(tmp_path / "results-rpo.json", data, Redactor(["dummy-secret-1"]),
                      indent=2, newline=True, atomic=True)
    assert json.loads(path.read_text(encoding="utf-8")) == data
    assert path.read_text(encoding="utf-8").endswith("}\n]\n")
    assert [p.name for p in tmp_path.iterdir()] == ["results-rpo.json"]  # no temporary left
