"""The operating-system user the servers run as, and running PostgreSQL programs as that user.

``initdb`` and ``postgres`` refuse to run as root. As root, the servers run as a dedicated
system user (``maip-dr-pg``, created with ``useradd --system`` when absent: no home, no login
shell); otherwise as the current user. That user must be able to read the binaries: when it
cannot (a virtual environment under a home directory of mode 0700), they are mirrored into the
simulation's own directory (hard links when on the same file system, else copies).
Children get a minimal environment (no inherited ``PG*`` variables). Not supported: running as
a user other than root or the dedicated user, Windows.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maip_drlib.sim.postgres.binaries import PgBinaries
from maip_drlib.sim.postgres.errors import PostgresSimError

SERVER_USER = "maip-dr-pg"
_BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
_USERADD_TIMEOUT_S = 30.0
_PROBE_TIMEOUT_S = 10.0
_STDERR_TAIL = 2000


@dataclass(frozen=True)
class ServerUser:
    """Who the servers run as; ``switch`` is True when that is not the current user."""

    name: str
    uid: int
    gid: int

    @property
    def switch(self) -> bool:
        return self.uid != os.geteuid()

    def popen_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``subprocess`` that run a child as this user."""
        if not self.switch:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path: Path) -> None:
        """Give ``path`` to this user (a no-op when it is the current user)."""
        if self.switch:
            os.chown(path, self.uid, self.gid)


def server_user(*, create: bool = True, name: str = SERVER_USER) -> ServerUser:
    """The current user, or as root the dedicated user (created when absent and ``create``)."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return ServerUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        if not create:
            raise PostgresSimError(
                f"running as root: PostgreSQL needs the system user {name!r}, which is absent "
                f"(create it with: useradd --system --user-group --no-create-home "
                f"--shell /usr/sbin/nologin {name})"
            ) from None
        _useradd(name)
        entry = pwd.getpwnam(name)
    if entry.pw_uid == 0:
        raise PostgresSimError(f"system user {name!r} has uid 0; PostgreSQL refuses root")
    return ServerUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _useradd(name: str) -> None:
    command = ["useradd", "--system", "--user-group", "--no-create-home",
               "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name]
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=_USERADD_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PostgresSimError(f"could not create system user {name!r}: {error}") from error
    # Exit 9: another process created it meanwhile; that is as good.
    if result.returncode not in (0, 9):
        raise PostgresSimError(
            f"could not create system user {name!r} (useradd exit {result.returncode}): "
            f"{result.stderr.strip()[-_STDERR_TAIL:]}"
        )


def check_traversable(path: Path, user: ServerUser) -> None:
    """Raise unless ``user`` can reach ``path`` (every ancestor searchable by others)."""
    if not user.switch:
        return
    for directory in [path, *path.parents]:
        status = directory.stat()
        if status.st_uid != user.uid and not status.st_mode & 0o001:
            raise PostgresSimError(
                f"user {user.name!r} cannot reach {path}: {directory} is not searchable by "
                f"others; choose a parent directory it can traverse"
            )


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a PostgreSQL program: minimal, plus ``extra``."""
    return {**_BASE_ENV, **(extra or {})}


def run_tool(
    argv: Sequence[str | Path],
    user: ServerUser,
    *,
    timeout_s: float,
    cwd: Path,
    env_extra: Mapping[str, str] | None = None,
    what: str,
) -> str:
    """Run one program as ``user``, bounded; its stdout, or a ``PostgresSimError``.

    ``what`` names the action in errors. Secrets go in ``env_extra``, never in ``argv``;
    neither is ever part of an error message.
    """
    try:
        result = subprocess.run(
            [str(arg) for arg in argv], capture_output=True, text=True, timeout=timeout_s,
            check=False, cwd=cwd, env=child_env(env_extra), stdin=subprocess.DEVNULL,
            **user.popen_kwargs(),
        )
    except subprocess.TimeoutExpired as error:
        raise PostgresSimError(f"{what}: no answer within {timeout_s:g}s") from error
    except OSError as error:
        raise PostgresSimError(f"{what}: could not run {Path(argv[0]).name}: {error}") from error
    if result.returncode != 0:
        raise PostgresSimError(
            f"{what}: {Path(argv[0]).name} exit {result.returncode}: "
            f"{result.stderr.strip()[-_STDERR_TAIL:]}"
        )
    return result.stdout


def _can_run(binaries: PgBinaries, user: ServerUser, cwd: Path) -> bool:
    # postgres proves bin/ is reachable; pg_basebackup also loads libpq from its libraries.
    for tool in ("postgres", "pg_basebackup"):
        try:
            run_tool([binaries.tool(tool), "--version"], user, timeout_s=_PROBE_TIMEOUT_S,
                     cwd=cwd, what=f"{user.name} runs {tool}")
        except PostgresSimError:
            return False
    return True


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EACCES):
            raise
        shutil.copy2(source, destination)


def binaries_for(binaries: PgBinaries, user: ServerUser, mirror_root: Path) -> PgBinaries:
    """Binaries ``user`` can run: ``binaries`` itself, or a mirror under ``mirror_root``.

    ``mirror_root`` must not exist yet; its parents must be traversable by ``user``. The
    mirror is made of hard links (or copies across file systems) with the same modes.
    """
    if not user.switch or _can_run(binaries, user, mirror_root.parent):
        return binaries
    if binaries.tree_root is None:
        raise PostgresSimError(
            f"user {user.name!r} cannot run the PostgreSQL binaries in {binaries.bin_dir} "
            f"({binaries.origin}), and they cannot be mirrored; make them readable to it"
        )
    mirror_root.mkdir(mode=0o755)
    try:
        for part in binaries.tree_parts:
            source = binaries.tree_root / part
            target = mirror_root / part
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            shutil.copytree(source, target, symlinks=True, copy_function=_link_or_copy)
        for directory in [mirror_root, *mirror_root.rglob("*")]:
            if directory.is_dir() and not directory.is_symlink():
                directory.chmod(directory.stat().st_mode | 0o755)
        mirrored = binaries.relocated(mirror_root)
    except OSError as error:
        with contextlib.suppress(OSError):
            shutil.rmtree(mirror_root)
        raise PostgresSimError(f"could not mirror the PostgreSQL binaries: {error}") from error
    if not _can_run(mirrored, user, mirror_root.parent):
        raise PostgresSimError(
            f"user {user.name!r} cannot run the mirrored PostgreSQL binaries in {mirror_root}"
        )
    return mirrored
