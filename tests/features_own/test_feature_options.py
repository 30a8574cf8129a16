"""A team's own feature folders: ``--features``/``--dr-features`` and ``[features] paths``
parse, resolve and refuse bad input in one line naming the option or key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from maip_drlib.cli import cli
from maip_drlib.config_loader import load_config
from maip_drlib.errors import ConfigError
from maip_drlib.feature_dirs import check_feature_folder, merge_folders

pytestmark = pytest.mark.unit

CHECK = "@readiness\nFeature: F\n  Scenario: S\n    Then the DR load balancer is active\n"


def _folder(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, text in (files if files is not None else {"a.feature": CHECK}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return path


def test_a_folder_with_a_feature_file_is_accepted_resolved(tmp_path: Path) -> None:
    _folder(tmp_path / "team" / "nested", {"deep/x.feature": CHECK})
    found = check_feature_folder("team", "--features", base_dir=tmp_path)
    assert found == (tmp_path / "team").resolve()


@pytest.mark.parametrize(("make", "expected"), [
    (lambda p: None, "not found"),
    (lambda p: p.write_text("x"), "is not a folder"),
    (lambda p: _folder(p, {"README.md": "x"}), "no .feature file"),
])
def test_a_bad_folder_is_one_line_naming_the_option(tmp_path: Path, make, expected) -> None:
    make(tmp_path / "team")
    with pytest.raises(ConfigError) as raised:
        check_feature_folder(tmp_path / "team", "--features")
    assert str(raised.value).startswith("--features: ")
    assert expected in str(raised.value) and "\n" not in str(raised.value)


def test_folders_are_merged_once_in_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert merge_folders([a, b], [tmp_path / "x" / ".." / "a"]) == (a.resolve(), b.resolve())


def test_config_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    _folder(tmp_path / "conf" / "checks")
    _folder(tmp_path / "other")
    config = tmp_path / "conf" / "c.toml"
    config.write_text(f'[features]\npaths = ["checks", "{tmp_path / "other"}", "checks"]\n')
    loaded = load_config(config)
    assert loaded.feature_paths == ((tmp_path / "conf" / "checks").resolve(),
                                    (tmp_path / "other").resolve())
    assert load_config(None).feature_paths == ()


@pytest.mark.parametrize(("body", "key", "expected"), [
    ('[features]\npaths = ["missing"]\n', "features.paths[0]", "not found"),
    ('[features]\npaths = ["empty"]\n', "features.paths[0]", "no .feature file"),
    ('[features]\npaths = "checks"\n', "features.paths", "expected a list"),
    ('[features]\npaths = [1]\n', "features.paths[0]", "expected a string"),
    ('[features]\nfolders = ["checks"]\n', "features.folders", "unknown key"),
    ('features = "checks"\n', "features", "expected a table"),
])
def test_a_bad_features_section_is_one_line_naming_the_key(tmp_path: Path, body: str, key: str,
                                                           expected: str) -> None:
    _folder(tmp_path / "checks")
    _folder(tmp_path / "empty", {})
    config = tmp_path / "c.toml"
    config.write_text(body)
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    assert str(raised.value).startswith(f"{config}: {key}: "), str(raised.value)
    assert expected in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize("command", [["readiness"], ["gameday"], ["stage", "failover", "1"]])
def test_the_cli_refuses_a_bad_features_folder_before_anything_starts(
        tmp_path: Path, command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--features", str(tmp_path / "nope")])
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == f"--features: folder {(tmp_path / 'nope').resolve()} " \
                                    "not found"


def test_the_commands_document_the_option() -> None:
    for name in ("readiness", "gameday", "stage"):
        result = CliRunner().invoke(cli, [name, "--help"], terminal_width=200)
        assert "--features DIR" in result.output, name
