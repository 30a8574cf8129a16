"""The attempt journal: hash chain, appends across processes, torn lines, SIGKILL."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from maip_drlib.evidence.journal import (
    GENESIS,
    JOURNAL_NAME,
    EvidenceError,
    Journal,
    read_journal,
    record_hash,
    verify_chain,
)
from maip_drlib.evidence.redact import MARK, Redactor

pytestmark = pytest.mark.sim

DRILL = "gameday-20240101T000000Z"
SECRET = "dummy-db-password-123"
AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def attempt_dir(tmp_path: Path, number: int) -> Path:
    path = tmp_path / DRILL / f"attempt-{number}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_journal(tmp_path: Path, number: int = 1) -> Journal:
    return Journal.open(attempt_dir(tmp_path, number), drill_id=DRILL, attempt=number,
                        redactor=Redactor([SECRET]))


def test_records_are_chained_and_carry_the_envelope(tmp_path: Path) -> None:
    with open_journal(tmp_path) as journal:
        first = journal.record("drill.start", operator="alice@host", target="embedded")
        journal.record("stage.start", stage="failover 2")
        last = journal.record("stage.end", stage="failover 2", outcome="passed", seconds=1.5)
    records = read_journal(tmp_path / DRILL / "attempt-1" / JOURNAL_NAME)
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[0] == first and records[-1] == last
    assert first["prev"] == GENESIS
    assert records[1]["prev"] == records[0]["hash"]
    for record in records:
        assert record["drill_id"] == DRILL and record["attempt"] == 1
        assert AT.match(record["at"]), record["at"]
        assert record["hash"] == record_hash(record)
    assert verify_chain(records, GENESIS) == []


def test_fields_are_redacted_before_writing(tmp_path: Path) -> None:
    with open_journal(tmp_path) as journal:
        record = journal.record("action", detail=f"psql password={SECRET}",
                                headers={"Authorization": "Bearer abcdefghijklmnop"},
                                path=Path("/x"), items={3, 1})
    data = (tmp_path / DRILL / "attempt-1" / JOURNAL_NAME).read_bytes()
    assert SECRET.encode() not in data and b"abcdefghijklmnop" not in data
    assert record["headers"] == {"Authorization": MARK}
    assert record["path"] == "/x" and record["items"] == [1, 3]


def test_reopening_appends_and_continues_the_chain(tmp_path: Path) -> None:
    """Several pytest processes of one attempt, one after another."""
    with open_journal(tmp_path) as journal:
        journal.record("phase.start", phase="readiness")
    with open_journal(tmp_path) as journal:
        journal.record("phase.start", phase="failover")
        journal.record("phase.end", phase="failover")
    records = read_journal(tmp_path / DRILL / "attempt-1" / JOURNAL_NAME)
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert verify_chain(records, GENESIS) == []


def test_first_record_of_next_attempt_links_to_previous_attempt(tmp_path: Path) -> None:
    with open_journal(tmp_path, 1) as journal:
        journal.record("drill.start")
        last = journal.record("fault", detail="interrupted")
    with open_journal(tmp_path, 2) as journal:
        first = journal.record("drill.start", resumed=True)
    assert first["seq"] == 1 and first["prev"] == last["hash"]
    records = read_journal(tmp_path / DRILL / "attempt-2" / JOURNAL_NAME)
    assert verify_chain(records, last["hash"]) == []
    problems = verify_chain(records, GENESIS, label="attempt-2/journal.jsonl")
    assert problems == [f"attempt-2/journal.jsonl: record seq 1: chain broken: prev "
                        f"{last['hash'][:12]} is not the hash of the previous attempt's last "
                        f"record ({GENESIS[:12]})"]


def test_attempt_without_journal_is_skipped_by_the_link(tmp_path: Path) -> None:
    with open_journal(tmp_path, 1) as journal:
        last = journal.record("drill.start")
    attempt_dir(tmp_path, 2)  # a run that died before writing anything
    with open_journal(tmp_path, 3) as journal:
        assert journal.record("drill.start")["prev"] == last["hash"]


def test_torn_last_line_is_cut_and_recorded(tmp_path: Path) -> None:
    with open_journal(tmp_path) as journal:
        journal.record("drill.start")
        good = journal.record("step.start", step="promote")
    path = tmp_path / DRILL / "attempt-1" / JOURNAL_NAME
    torn = b'{"at":"2024-01-01T00:00:00.000Z","attempt":1,"detail":"' + SECRET.encode()
    with path.open("ab") as handle:
        handle.write(torn)
    with pytest.raises(EvidenceError, match="line 3: torn last line"):
        read_journal(path)
    with open_journal(tmp_path) as journal:
        after = journal.record("step.end", step="promote")
    records = read_journal(path)
    recovered = records[2]
    assert recovered["kind"] == "journal.recovered"
    assert recovered["prev"] == good["hash"] and recovered["seq"] == 3
    assert recovered["dropped_bytes"] == len(torn)
    assert recovered["dropped_sha256"] == hashlib.sha256(torn).hexdigest()
    assert recovered["resumed_after_seq"] == 2
    assert SECRET not in recovered["dropped_preview"]
    assert after["seq"] == 4
    assert verify_chain(records, GENESIS) == []


def test_last_record_without_its_newline_is_kept(tmp_path: Path) -> None:
    with open_journal(tmp_path) as journal:
        journal.record("drill.start")
        last = journal.record("stage.start")
    path = tmp_path / DRILL / "attempt-1" / JOURNAL_NAME
    path.write_bytes(path.read_bytes()[:-1])
    with open_journal(tmp_path) as journal:
        journal.record("stage.end")
    records = read_journal(path)
    assert [r["kind"] for r in records] == ["drill.start", "stage.start", "stage.end"]
    assert records[2]["prev"] == last["hash"]


def test_torn_previous_attempt_is_named_by_the_next_attempt(tmp_path: Path) -> None:
    with open_journal(tmp_path, 1) as journal:
        last = journal.record("drill.start")
    with (tmp_path / DRILL / "attempt-1" / JOURNAL_NAME).open("ab") as handle:
        handle.write(b'{"seq":2,"at')
    with open_journal(tmp_path, 2) as journal:
        journal.record("drill.start")
    records = read_journal(tmp_path / DRILL / "attempt-2" / JOURNAL_NAME)
    assert records[0]["kind"] == "journal.recovered"
    assert records[0]["file"] == "attempt-1/journal.jsonl"
    assert records[0]["prev"] == last["hash"]
    assert verify_chain(records, last["hash"]) == []


def test_corruption_before_the_last_line_refuses_to_open(tmp_path: Path) -> None:
    with open_journal(tmp_path) as journal:
        journal.record("drill.start")
        journal.record("stage.start")
    path = tmp_path / DRILL / "attempt-1" / JOURNAL_NAME
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join([b"garbage", *lines[1:]]))
    with pytest.raises(EvidenceError, match=r"journal.jsonl: line 1: not a journal record"):
        open_journal(tmp_path)


def test_edited_record_breaks_the_chain(tmp_path: Path) -> None:
    with open_journal(tmp_path) as journal:
        for stage in range(1, 4):
            journal.record("stage.end", stage=stage, outcome="failed")
    records = read_journal(tmp_path / DRILL / "attempt-1" / JOURNAL_NAME)
    records[1]["outcome"] = "passed"
    assert verify_chain(records, GENESIS)[0].startswith("journal: record seq 2: hash does not")
    records[1]["hash"] = record_hash(records[1])
    assert verify_chain(records, GENESIS) == [
        f"journal: record seq 3: chain broken: prev {records[2]['prev'][:12]} is not the hash "
        f"of record seq 2 ({records[1]['hash'][:12]})"]


def test_two_open_writers_interleave_on_one_chain(tmp_path: Path) -> None:
    """``maip-dr`` and a pytest run by hand, both holding the journal open."""
    with open_journal(tmp_path) as parent, open_journal(tmp_path) as child:
        parent.record("drill.start")
        child.record("stage.start")
        child.record("stage.end")
        last = parent.record("drill.end")
    records = read_journal(tmp_path / DRILL / "attempt-1" / JOURNAL_NAME)
    assert [r["kind"] for r in records] == ["drill.start", "stage.start", "stage.end",
                                            "drill.end"]
    assert last["seq"] == 4
    assert verify_chain(records, GENESIS) == []


CONCURRENT_WRITER = """
import sys
from pathlib import Path
from maip_drlib.evidence.journal import Journal
from maip_drlib.evidence.redact import Redactor
with Journal.open(Path(sys.argv[1]), drill_id=sys.argv[2], attempt=1,
                  redactor=Redactor()) as journal:
    for i in range(30):
        journal.record("canary", writer=sys.argv[3], index=i)
"""


def test_concurrent_processes_keep_one_chain(tmp_path: Path) -> None:
    folder = attempt_dir(tmp_path, 1)
    writers = [subprocess.Popen([sys.executable, "-c", CONCURRENT_WRITER, str(folder), DRILL,
                                 str(n)]) for n in range(3)]
    assert [w.wait(timeout=60) for w in writers] == [0, 0, 0]
    records = read_journal(folder / JOURNAL_NAME)
    assert [r["seq"] for r in records] == list(range(1, 91))
    assert verify_chain(records, GENESIS) == []


def test_threads_share_one_chain(tmp_path: Path) -> None:
    with open_journal(tmp_path) as journal:
        def work(n: int) -> None:
            for i in range(25):
                journal.record("canary", writer=n, index=i)
        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    records = read_journal(tmp_path / DRILL / "attempt-1" / JOURNAL_NAME)
    assert [r["seq"] for r in records] == list(range(1, 201))
    assert verify_chain(records, GENESIS) == []


@pytest.mark.parametrize(("kind", "fields", "message"), [
    ("Stage Start", {}, "journal kind 'Stage Start'"),
    ("stage.start", {"seq": 9}, "journal field 'seq' is reserved"),
    ("stage.start", {"hash": "x"}, "journal field 'hash' is reserved"),
])
def test_bad_records_refused(tmp_path: Path, kind: str, fields: dict, message: str) -> None:
    with open_journal(tmp_path) as journal, pytest.raises(ValueError, match=re.escape(message)):
        journal.record(kind, **fields)


def test_folder_must_match_the_attempt(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="does not match attempt 2"):
        Journal.open(attempt_dir(tmp_path, 1), drill_id=DRILL, attempt=2, redactor=Redactor())
    with pytest.raises(EvidenceError, match="not in drill 'other'"):
        Journal.open(attempt_dir(tmp_path, 1), drill_id="other", attempt=1,
                     redactor=Redactor())


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from maip_drlib.evidence.journal import Journal
from maip_drlib.evidence.redact import Redactor
journal = Journal.open(Path(sys.argv[1]), drill_id=sys.argv[2], attempt=1, redactor=Redactor())
for i in range(5):
    journal.record("step.end", index=i)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_records_survive_sigkill_of_the_writer(tmp_path: Path) -> None:
    folder = attempt_dir(tmp_path, 1)
    result = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(folder), DRILL],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == -signal.SIGKILL, result.stderr
    records = read_journal(folder / JOURNAL_NAME)
    assert [r["index"] for r in records] == [0, 1, 2, 3, 4]
    assert verify_chain(records, GENESIS) == []
    with open_journal(tmp_path) as journal:  # a later process continues the chain
        assert journal.record("drill.end")["seq"] == 6
    assert json.loads((folder / JOURNAL_NAME).read_text().splitlines()[-1])["kind"] == "drill.end"
