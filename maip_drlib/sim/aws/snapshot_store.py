"""The seeded simulation's snapshots on disk: a new process restores instead of seeding.

Files live in ``<user cache>/sim-snapshots`` (``maip_drlib.user_cache``), one per fingerprint:
the Python and moto versions, every source file of the installed ``maip_drlib`` package (any
change to the code makes a new snapshot) and the seeding's arguments. A snapshot is a pickle,
and reading a pickle runs what it says; so a file is read only from a folder that is the user's
own and private (mode 0700) and only when the user owns it and nobody else can write it.
Anything else, an unreadable or broken file included, is ignored and the start seeds as before.
Writes are atomic (a temporary file renamed); the newest few snapshots are kept, older ones
deleted.

``MAIP_DR_SIM_SNAPSHOTS=off`` turns the files off (snapshots then live in memory only, for
the process's own later starts). Not supported: Windows (no owner and mode checks), sharing
snapshots between users or machines.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from maip_drlib.user_cache import user_cache_dir

SNAPSHOTS_ENV = "MAIP_DR_SIM_SNAPSHOTS"
KEEP_NEWEST = 4
_SUFFIX = ".pickle"
_log = logging.getLogger(__name__)


def snapshot_dir(environ: Mapping[str, str]) -> Path | None:
    """Where snapshot files go, or None when ``MAIP_DR_SIM_SNAPSHOTS=off``."""
    if environ.get(SNAPSHOTS_ENV, "").strip().lower() in {"off", "0", "no", "false"}:
        return None
    return user_cache_dir(environ) / "sim-snapshots"


def fingerprint(arguments: str) -> str:
    """The snapshot's name for ``arguments`` (the seeding's, as text) under this code."""
    import moto

    import maip_drlib

    digest = hashlib.sha256()
    digest.update(f"{sys.version}\0moto {moto.__version__}\0{arguments}\0".encode())
    package = Path(maip_drlib.__file__).parent
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode() + b"\0")
        digest.update(source.read_bytes())
    return digest.hexdigest()[:32]


def load(folder: Path, name: str) -> bytes | None:
    """The snapshot ``name`` when it is safe to read (see the module's docstring), else None."""
    path = folder / f"{name}{_SUFFIX}"
    try:
        if not (_private(folder, directory=True) and _private(path, directory=False)):
            return None
        return path.read_bytes()
    except OSError:
        return None


def save(folder: Path, name: str, blob: bytes) -> None:
    """Write the snapshot atomically and prune old ones; a failure only costs the next start."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder, directory=True):
            _log.debug("simulation snapshots not written: %s is not private to this user",
                       folder)
            return
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".writing-", suffix=_SUFFIX)
        with os.fdopen(handle, "wb") as out:
            out.write(blob)
        os.replace(temporary, folder / f"{name}{_SUFFIX}")
        _prune(folder)
    except OSError as problem:
        _log.debug("simulation snapshot not written to %s: %s", folder, problem)


def discard(folder: Path, name: str) -> None:
    """Delete a snapshot that could not be restored (the next start writes a new one)."""
    with contextlib.suppress(OSError):
        (folder / f"{name}{_SUFFIX}").unlink()


def _private(path: Path, *, directory: bool) -> bool:
    info = path.lstat()
    kind_ok = stat.S_ISDIR(info.st_mode) if directory else stat.S_ISREG(info.st_mode)
    others = 0o077 if directory else 0o022
    return kind_ok and info.st_uid == os.getuid() and not info.st_mode & others


def _prune(folder: Path) -> None:
    snapshots = sorted((p for p in folder.glob(f"*{_SUFFIX}") if not p.name.startswith(".")),
                       key=lambda p: p.stat().st_mtime, reverse=True)
    for old in snapshots[KEEP_NEWEST:]:
        old.unlink(missing_ok=True)
