"""Signalling a postmaster and the children it started, bounded, with no orphans left.

PostgreSQL's children put themselves in their own sessions, so a process-group signal does
not reach them: they are found through ``/proc`` (their parent is the postmaster) before the
postmaster is signalled. Servers a killed process left behind (adopted by init) are found the
same way and stopped by the next fleet (``reap_orphans``). Not supported: systems without
``/proc`` (Linux only), a parent killed while a server starts inside a subreaper other than
init (its servers are not recognised as orphans).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

_PROC = Path("/proc")


def children_of(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (a snapshot)."""
    found: list[int] = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may contain spaces and parentheses).
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[-1].split()
    return bool(fields) and fields[0] != "Z"


def _wait_gone(pids: list[int], deadline: float) -> list[int]:
    remaining = [pid for pid in pids if alive(pid)]
    while remaining and time.monotonic() < deadline:
        time.sleep(0.02)
        remaining = [pid for pid in remaining if alive(pid)]
    return remaining


def stop_postmaster(process: subprocess.Popen[bytes], sig: signal.Signals,
                    *, timeout_s: float) -> bool:
    """Send ``sig`` to the postmaster and wait for it and its children to exit.

    Past ``timeout_s`` (or for SIGKILL at once) every survivor gets SIGKILL. Returns True
    when the requested signal alone sufficed. Always reaps the postmaster.
    """
    children = children_of(process.pid) if process.poll() is None else []
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        if sig == signal.SIGKILL:
            for child in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
    deadline = time.monotonic() + timeout_s
    clean = True
    try:
        process.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        clean = False
        children = sorted(set(children) | set(children_of(process.pid)))
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        process.wait(5.0)
    survivors = _wait_gone(children, max(deadline, time.monotonic() + 1.0))
    for pid in survivors:
        clean = False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _wait_gone(survivors, time.monotonic() + 5.0)
    return clean


def _orphan_root(pid: int, uid: int, prefix: str) -> Path | None:
    """The fleet directory of ``pid`` if it is an orphaned postmaster of a fleet, else None."""
    entry = _PROC / str(pid)
    try:
        stat = (entry / "stat").read_text()
        status = (entry / "status").read_text()
        argv = (entry / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    uids = next((line.split()[1:2] for line in status.splitlines() if line.startswith("Uid:")),
                [])
    if len(fields) < 2 or fields[1] != "1" or uids != [str(uid)]:
        return None
    if not argv or not argv[0].endswith(b"/postgres") or b"-D" not in argv[:-1]:
        return None
    data_dir = Path(argv[argv.index(b"-D") + 1].decode(errors="replace"))
    root = data_dir.parent.parent
    if data_dir.parent.name != "data" or not root.name.startswith(prefix):
        return None
    return root


def reap_orphans(uid: int, prefix: str, *, timeout_s: float = 10.0) -> list[Path]:
    """Stop postmasters a dead fleet left behind and remove their fleet directories.

    An orphan: a ``postgres`` run by ``uid``, adopted by init (its parent died without
    closing its fleet: a SIGKILLed test run), whose data directory is ``<root>/data/<name>``
    with ``root`` named ``<prefix>...``. Servers of live fleets are never touched.
    Returns the directories removed.
    """
    roots: dict[Path, list[int]] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and (root := _orphan_root(int(entry.name), uid, prefix)):
            roots.setdefault(root, []).append(int(entry.name))
    deadline = time.monotonic() + timeout_s
    for pids in roots.values():
        for pid in pids:
            children = children_of(pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)
            survivors = _wait_gone([pid, *children], deadline)
            for survivor in survivors:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(survivor, signal.SIGKILL)
    for root in roots:
        shutil.rmtree(root, ignore_errors=True)
    return sorted(roots)
