"""The evidence key guard of a game day (``check_evidence_key``) and the journalled
``--unsigned-evidence`` override, at unit level (the command line: tests/cli/
test_unsigned_evidence_cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maip_drlib.cli.drill_attempt import journal_unsigned_evidence
from maip_drlib.cli.drill_options import check_evidence_key
from maip_drlib.config import RegionConnection, Target
from maip_drlib.errors import ConfigError, GuardRefused
from maip_drlib.evidence.journal import JOURNAL_NAME, Journal
from maip_drlib.evidence.redact import Redactor

pytestmark = pytest.mark.unit

KEY = b"dummy-hmac-key-0123456789abcdef"
REASON = "no key store on this test bench yet"


def target(kind: str) -> Target:
    return Target(name="prod" if kind == "live" else kind, kind=kind,  # type: ignore[arg-type]
                  primary=RegionConnection(region="us-east-1", kube_context="maip-prod"),
                  secondary=RegionConnection(region="us-west-2", kube_context="maip-prod-dr"))


def test_live_without_a_key_is_refused_as_a_guard() -> None:
    with pytest.raises(GuardRefused) as refused:
        check_evidence_key(target("live"), None, None)
    assert refused.value.exit_code == 3
    assert str(refused.value) == (
        "a game day on live target 'prod' signs its evidence: give the HMAC key "
        "(MAIP_DR_HMAC_KEY or --hmac-key-file) or --unsigned-evidence REASON; nothing was called")


@pytest.mark.parametrize(("kind", "key", "reason"), [
    ("live", KEY, None), ("live", None, REASON), ("embedded", None, None), ("sim", None, None),
    ("sim", None, REASON)])
def test_what_passes(kind: str, key: bytes | None, reason: str | None) -> None:
    check_evidence_key(target(kind), key, reason)


def test_a_reason_beside_a_key_is_bad_input() -> None:
    with pytest.raises(ConfigError, match=r"^--unsigned-evidence: the evidence is signed"):
        check_evidence_key(target("live"), KEY, REASON)


def test_the_reason_is_journalled(tmp_path: Path) -> None:
    folder = tmp_path / "gameday-1" / "attempt-1"
    folder.mkdir(parents=True)
    with Journal.open(folder, drill_id="gameday-1", attempt=1, redactor=Redactor(),
                      key=None) as journal:
        journal_unsigned_evidence(journal, target("live"), REASON)
    (record,) = [json.loads(line) for line in (folder / JOURNAL_NAME).read_text().splitlines()]
    assert (record["kind"], record["reason"], record["target"], record["target_kind"],
            record["override"]) == ("evidence.unsigned", REASON, "prod", "live",
                                    "--unsigned-evidence")
