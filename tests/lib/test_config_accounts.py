"""Config keys of regions and accounts: KMS key per region, the services' database user, and
a live region's role to assume (issue 14 items 3, 4, 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from maip_drlib.config_loader import describe_config, load_config
from maip_drlib.errors import ConfigError

pytestmark = pytest.mark.unit

ROLE = "arn:aws:iam::111122223333:role/maip-dr"
DR_ROLE = "arn:aws:iam::444455556666:role/ops/maip-dr"


def live(primary: str = "", secondary: str = "", database: str = "") -> str:
    text = ("[targets.p]\nkind = 'live'\n"
            f"[targets.p.regions.us-east-1]\n{primary}\n"
            f"[targets.p.regions.us-west-2]\n{secondary}\n")
    if database:
        text += f"[targets.p.database]\n{database}\n"
    return text


def load(tmp_path: Path, text: str):
    path = tmp_path / "maip-dr.toml"
    path.write_text(text)
    return load_config(path)


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_role_per_region_and_external_id(tmp_path: Path):
    config = load(tmp_path, live(f"role_arn = '{ROLE}'\nexternal_id = 'maip-42'",
                                 f"profile = 'dr'\nrole_arn = '{DR_ROLE}'"))
    target = config.target("p")
    assert target.primary.role_arn == ROLE and target.primary.external_id == "maip-42"
    # The DR account differs from the primary's: nothing assumes one account for both.
    assert target.secondary.role_arn == DR_ROLE and target.secondary.external_id is None
    assert target.secondary.profile == "dr"
    text = describe_config(config)
    assert f"then role {ROLE} (with external id)" in text and "maip-42" not in text


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::1234:role/x", "arn:aws:iam::111122223333:user/x", "maip-dr",
    "arn:aws:sts::111122223333:assumed-role/x/y", "arn:aws:iam::111122223333:role/" + "x" * 65,
])
def test_role_arn_shape(tmp_path: Path, arn: str):
    message = error_of(tmp_path, live(f"role_arn = '{arn}'"))
    assert "targets.p.regions.us-east-1.role_arn" in message and "IAM role ARN" in message


def test_external_id_only_with_role(tmp_path: Path):
    message = error_of(tmp_path, live("", "external_id = 'abc'"))
    assert "targets.p.regions.us-west-2.external_id" in message and "role_arn" in message


def test_external_id_characters(tmp_path: Path):
    message = error_of(tmp_path, live(f"role_arn = '{ROLE}'\nexternal_id = 'a b'"))
    assert "targets.p.regions.us-east-1.external_id" in message


def test_role_only_for_live(tmp_path: Path):
    text = ("[targets.s]\nkind = 'sim'\ncontrol_url = 'http://127.0.0.1:1'\n"
            f"[targets.s.regions.us-east-1]\nendpoint_url = 'http://127.0.0.1:2'\n"
            f"role_arn = '{ROLE}'\n"
            "[targets.s.regions.us-west-2]\nendpoint_url = 'http://127.0.0.1:2'\n")
    assert "targets.s.regions.us-east-1.role_arn" in error_of(tmp_path, text)


@pytest.mark.parametrize("key_id", [
    "alias/maip-rds", "1234abcd-12ab-34cd-56ef-1234567890ab",
    "mrk-1234abcd12ab34cd56ef1234567890ab",
    "arn:aws:kms:us-west-2:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:us-west-2:444455556666:alias/maip-rds",
])
def test_kms_key_id_accepted(tmp_path: Path, key_id: str):
    config = load(tmp_path, f"[topology.secondary]\nkms_key_id = '{key_id}'\n")
    assert config.topology.secondary.kms_key_id == key_id
    assert config.topology.primary.kms_key_id is None
    assert f"kms_key_id={key_id}" in describe_config(config)


@pytest.mark.parametrize("key_id, why", [
    ("maip-rds", "expected a KMS key id"),
    ("arn:aws:kms:us-east-1:444455556666:alias/maip-rds", "expected a key in us-west-2"),
])
def test_kms_key_id_refused(tmp_path: Path, key_id: str, why: str):
    message = error_of(tmp_path, f"[topology.secondary]\nkms_key_id = '{key_id}'\n")
    assert "topology.secondary.kms_key_id" in message and why in message


def test_services_user(tmp_path: Path):
    config = load(tmp_path, live(database="iam_user = 'maip_dr'\nservices_user = 'maip_app'"))
    database = config.target("p").database
    assert database is not None and database.services_user == "maip_app"
    assert "services as maip_app" in str(database)
    message = error_of(tmp_path, live(database="iam_user = 'maip_dr'\nservices_user = 'a b'"))
    assert "targets.p.database.services_user" in message
