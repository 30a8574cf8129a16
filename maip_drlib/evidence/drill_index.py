"""The drill index: ``reports/<drill id>/index.json`` and ``index.sig``, written with the key.

Every seal made with the HMAC key rewrites the index of its drill: the attempts sealed so far,
each with its final digest (SHA-256 of its ``manifest.json``), when it was sealed and whether
the seal was late. ``index.sig`` holds HMAC-SHA256(key, ``index:<SHA-256 of index.json>``).
Since only the key remakes it, an attempt deleted (the last one included) or added after its
seal is a problem for ``verify``, which no manifest could show alone.

The index grows from its previous version only when that version verifies with the key;
otherwise (edited, or written with another key) it is rebuilt from the sealed attempts on disk
and says so (``rebuilt``), which ``verify`` reports as a problem. Without a key no index is
written: an unkeyed list would prove nothing.

Not supported: detecting an index rolled back to an earlier version that the key did sign,
together with the attempts sealed after it (compare the final digest with the one kept
outside the folder: ``maip-dr verify --expect-digest``); two processes sealing attempts of one
drill at the same time (the drill lease prevents it).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from maip_drlib.evidence.journal import attempt_dirs, utc_now_iso
from maip_drlib.evidence.keys import mac, mac_ok

INDEX_NAME = "index.json"
INDEX_SIGNATURE = "index.sig"
INDEX_FILES = frozenset({INDEX_NAME, INDEX_SIGNATURE})
FORMAT = "maip-dr-index/1"
PURPOSE = "index"
PREFIX = 12


def _sealed_entry(attempt_dir: Path) -> dict[str, Any] | None:
    manifest = attempt_dir / "manifest.json"
    if not manifest.is_file():
        return None
    data = manifest.read_bytes()
    try:
        loaded = json.loads(data)
    except ValueError:
        loaded = {}
    loaded = loaded if isinstance(loaded, dict) else {}
    return {"attempt": int(attempt_dir.name.split("-", 1)[1]),
            "digest": hashlib.sha256(data).hexdigest(), "sealed_at": loaded.get("sealed_at"),
            "late": bool(loaded.get("late"))}


def read_index(drill_dir: Path, key: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """The index and None when it verifies with ``key``; (None, why) otherwise (also when
    there is none: why is then "missing")."""
    path, sig_path = drill_dir / INDEX_NAME, drill_dir / INDEX_SIGNATURE
    if not path.is_file():
        return None, "missing"
    data = path.read_bytes()
    if not sig_path.is_file():
        return None, f"{INDEX_SIGNATURE} missing"
    found = sig_path.read_text(encoding="ascii", errors="replace")
    found = found[:-1] if found.endswith("\n") else found  # exactly as written, nothing else
    if not mac_ok(key, PURPOSE, hashlib.sha256(data).hexdigest(), found):
        return None, (f"{INDEX_SIGNATURE} does not match {INDEX_NAME} with this key (wrong key, "
                      f"or the index was rewritten)")
    try:
        index = json.loads(data)
    except ValueError:
        return None, f"{INDEX_NAME} is not valid JSON"
    if not isinstance(index, dict) or not isinstance(index.get("attempts"), list):
        return None, f"{INDEX_NAME} has no 'attempts' list"
    return index, None


def update_index(drill_dir: Path, key: bytes) -> Path:
    """Add every sealed attempt on disk that the (verified) index lacks and sign the result;
    without a verified previous index, list every sealed attempt and say it was rebuilt."""
    previous, why = read_index(drill_dir, key)
    entries: dict[int, dict[str, Any]] = {}
    rebuilt = None
    if previous is not None:
        entries = {int(e["attempt"]): e for e in previous["attempts"]
                   if isinstance(e, dict) and isinstance(e.get("attempt"), int)}
        rebuilt = previous.get("rebuilt")
    elif why != "missing":
        rebuilt = f"the previous index did not verify ({why}); rebuilt from the sealed attempts"
    newest = max(entries, default=0)
    for number, path in attempt_dirs(drill_dir).items():
        if number in entries or (previous is not None and number <= newest):
            continue  # an attempt the signed index never listed stays unlisted: verify says so
        entry = _sealed_entry(path)
        if entry is not None:
            entries[number] = entry
    index = {"format": FORMAT, "drill_id": drill_dir.name, "updated_at": utc_now_iso(),
             "attempts": [entries[n] for n in sorted(entries)], "rebuilt": rebuilt}
    data = (json.dumps(index, indent=2, sort_keys=True) + "\n").encode()
    signature = mac(key, PURPOSE, hashlib.sha256(data).hexdigest())
    _write(drill_dir / INDEX_NAME, data)
    _write(drill_dir / INDEX_SIGNATURE, (signature + "\n").encode("ascii"))
    return drill_dir / INDEX_NAME


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".writing")
    tmp.write_bytes(data)
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def check_index(drill_dir: Path, key: bytes, digests: dict[int, str | None]) -> list[str]:
    """Problems of the drill's attempts against its signed index (empty when they match):
    ``digests`` maps each attempt folder found to its manifest digest (None: not sealed)."""
    index, why = read_index(drill_dir, key)
    if index is None:
        return [f"{INDEX_NAME}: {why} (a drill sealed with the key keeps a signed index of its "
                f"attempts)"]
    problems: list[str] = []
    if index.get("drill_id") != drill_dir.name:
        problems.append(f"{INDEX_NAME}: names drill {index.get('drill_id')!r}, not "
                        f"{drill_dir.name!r}")
    if index.get("rebuilt"):
        problems.append(f"{INDEX_NAME}: {index['rebuilt']}")
    listed = {int(e["attempt"]): e for e in index["attempts"]
              if isinstance(e, dict) and isinstance(e.get("attempt"), int)}
    for number, entry in sorted(listed.items()):
        if number not in digests:
            problems.append(f"attempt-{number}: missing: the signed drill index lists it "
                            f"(digest {str(entry.get('digest'))[:PREFIX]}): deleted?")
        elif digests[number] is not None and digests[number] != entry.get("digest"):
            problems.append(f"attempt-{number}/manifest.json: digest "
                            f"{str(digests[number])[:PREFIX]} is not the one in the signed "
                            f"drill index ({str(entry.get('digest'))[:PREFIX]})")
    for number, digest in sorted(digests.items()):
        if number not in listed and digest is not None:
            problems.append(f"attempt-{number}: not in the signed drill index (added after "
                            f"the drill's last seal?)")
    return problems
