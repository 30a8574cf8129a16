"""The simulation's snapshot files: read only when private to the user, written atomically,
pruned, and turned off by MAIP_DR_SIM_SNAPSHOTS=off."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from maip_drlib.sim.aws import snapshot_store

pytestmark = pytest.mark.unit


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "maip-dr" / "sim-snapshots"


def test_a_saved_snapshot_is_read_back_from_a_private_folder(folder: Path) -> None:
    snapshot_store.save(folder, "abc", b"state")
    assert snapshot_store.load(folder, "abc") == b"state"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "abc.pickle").stat().st_mode & 0o077 == 0
    assert [p.name for p in folder.iterdir()] == ["abc.pickle"]  # no temporary file left


def test_a_file_others_can_write_is_never_read(folder: Path) -> None:
    snapshot_store.save(folder, "abc", b"state")
    (folder / "abc.pickle").chmod(0o666)
    assert snapshot_store.load(folder, "abc") is None


def test_a_folder_others_can_enter_is_never_read_nor_written(folder: Path) -> None:
    snapshot_store.save(folder, "abc", b"state")
    folder.chmod(0o755)
    assert snapshot_store.load(folder, "abc") is None
    snapshot_store.save(folder, "def", b"other")
    assert not (folder / "def.pickle").exists()


def test_a_link_is_never_followed(folder: Path, tmp_path: Path) -> None:
    snapshot_store.save(folder, "abc", b"state")
    elsewhere = tmp_path / "elsewhere.pickle"
    elsewhere.write_bytes(b"planted")
    elsewhere.chmod(0o600)
    os.symlink(elsewhere, folder / "def.pickle")
    assert snapshot_store.load(folder, "def") is None


def test_the_newest_snapshots_are_kept(folder: Path) -> None:
    for index in range(snapshot_store.KEEP_NEWEST + 2):
        snapshot_store.save(folder, f"s{index}", b"x")
        os.utime(folder / f"s{index}.pickle", (1000 + index, 1000 + index))
    snapshot_store.save(folder, "last", b"x")
    kept = sorted(p.stem for p in folder.glob("*.pickle"))
    assert len(kept) == snapshot_store.KEEP_NEWEST and "last" in kept and "s0" not in kept


def test_missing_and_discarded_snapshots_read_as_none(folder: Path) -> None:
    assert snapshot_store.load(folder, "never") is None
    snapshot_store.save(folder, "abc", b"state")
    snapshot_store.discard(folder, "abc")
    assert snapshot_store.load(folder, "abc") is None


def test_the_folder_follows_the_cache_and_can_be_turned_off(tmp_path: Path) -> None:
    environ = {"XDG_CACHE_HOME": str(tmp_path)}
    assert snapshot_store.snapshot_dir(environ) == tmp_path / "maip-dr" / "sim-snapshots"
    assert snapshot_store.snapshot_dir({**environ, snapshot_store.SNAPSHOTS_ENV: "off"}) is None


def test_the_name_changes_with_the_seeding_arguments() -> None:
    one = snapshot_store.fingerprint("(Topology(a), 1)")
    assert one == snapshot_store.fingerprint("(Topology(a), 1)")
    assert one != snapshot_store.fingerprint("(Topology(a), 2)")
