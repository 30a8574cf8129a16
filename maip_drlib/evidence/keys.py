"""The evidence HMAC key inside one drill's processes, and the MACs made with it.

The key is read at the edge (``maip-dr gameday`` / ``stage``: ``--hmac-key-file`` or
``MAIP_DR_HMAC_KEY``, see ``manifest.load_key``). ``use_key`` makes it the key of this process's
journals (the drill's pytest session runs in this process) and puts it in the environment any
process started from it inherits (``MAIP_DR_HMAC_KEY``, which the redactor masks).
``process_key`` is what a journal opened without an explicit key uses: the key ``use_key``
set, else the one in this process's environment, else None (an unkeyed journal, as before
keys).

MACs are HMAC-SHA256 over a purpose label and a SHA-256 hex digest (``journal:<hash>`` for a
journal record, ``index:<digest>`` for the drill index), so that one kind can never stand in for
another; ``manifest.sig`` keeps its original form (the manifest digest alone).

Not supported: several keys in one process, keys given other than as raw bytes, keys kept in a
key manager (fetch it and pass it as a file or the variable).
"""

from __future__ import annotations

import hashlib
import hmac
import os

KEY_ENV = "MAIP_DR_HMAC_KEY"
MIN_KEY_BYTES = 16
_UNSET = object()
_installed: object = _UNSET


def use_key(key: bytes | None, *, children: bool = True) -> None:
    """Make ``key`` this process's journal key (None: unkeyed) and, with ``children``, put it
    in the environment processes started from this one inherit."""
    global _installed
    _installed = key
    if children and key is not None:
        os.environb[KEY_ENV.encode()] = key


def reset() -> None:
    """Forget what ``use_key`` set (tests)."""
    global _installed
    _installed = _UNSET


def process_key() -> bytes | None:
    """The key ``use_key`` set, else ``MAIP_DR_HMAC_KEY`` of this process's environment when
    it is long enough, else None."""
    if _installed is not _UNSET:
        return _installed  # type: ignore[return-value]
    value = os.environb.get(KEY_ENV.encode(), b"")
    return value if len(value) >= MIN_KEY_BYTES else None


def mac(key: bytes, purpose: str, digest: str) -> str:
    """HMAC-SHA256 of ``<purpose>:<digest>``, in hex."""
    return hmac.new(key, f"{purpose}:{digest}".encode("ascii"), hashlib.sha256).hexdigest()


def mac_ok(key: bytes, purpose: str, digest: str, found: object) -> bool:
    """Whether ``found`` is the MAC of ``digest`` for ``purpose`` (constant-time)."""
    return isinstance(found, str) and hmac.compare_digest(
        found.encode("ascii", "replace"), mac(key, purpose, digest).encode("ascii"))
