"""[targets.<name>.kafka] and topology.canary_topic: MSK canary access, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from maip_drlib.config import SIMULATED_KAFKA, KafkaAccess
from maip_drlib.config_loader import describe_config, load_config
from maip_drlib.errors import ConfigError

pytestmark = pytest.mark.unit

LIVE = """
[topology]
canary_topic = "dr-canaries"
[targets.prod]
kind = "live"
[targets.prod.regions.us-east-1]
profile = "a"
[targets.prod.regions.us-west-2]
profile = "b"
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "maip-dr.toml"
    path.write_text(text)
    return load_config(path)


def test_live_defaults_to_iam_over_tls_and_names_the_canary_topic(tmp_path: Path) -> None:
    config = _load(tmp_path, LIVE + "[targets.prod.kafka]\n")
    assert config.topology.canary_topic == "dr-canaries"
    access = config.targets["prod"].kafka
    assert access == KafkaAccess(auth="iam", tls=True)
    assert "kafka: auth=iam, tls=on" in describe_config(config)


def test_live_without_kafka_table_has_no_access(tmp_path: Path) -> None:
    target = _load(tmp_path, LIVE).targets["prod"]
    assert target.kafka_access is None
    assert "kafka: not configured" in describe_config(_load(tmp_path, LIVE))


def test_bootstrap_per_region_and_plaintext(tmp_path: Path) -> None:
    text = LIVE + ('[targets.prod.kafka]\nauth = "none"\ntimeout_s = 3\n'
                   '[targets.prod.kafka.bootstrap]\nus-east-1 = "127.0.0.1:9092, 127.0.0.1:9093"\n')
    access = _load(tmp_path, text).targets["prod"].kafka
    assert access is not None and (access.auth, access.tls) == ("none", False)
    assert access.bootstrap_for("us-east-1") == "127.0.0.1:9092,127.0.0.1:9093"
    assert access.bootstrap_for("us-west-2") is None and access.timeout_s == 3


@pytest.mark.parametrize(("table", "key"), [
    ('auth = "scram"', "targets.prod.kafka.auth"),
    ('auth = "iam"\ntls = false', "targets.prod.kafka.tls"),
    ("tls = 1", "targets.prod.kafka.tls"),
    ('token = "x"', "targets.prod.kafka"),
    ('[targets.prod.kafka.bootstrap]\neu-west-1 = "a:1"', "targets.prod.kafka.bootstrap"),
    ('[targets.prod.kafka.bootstrap]\nus-east-1 = "no port"',
     "targets.prod.kafka.bootstrap.us-east-1"),
])
def test_bad_kafka_keys_are_one_line_errors(tmp_path: Path, table: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, LIVE + "[targets.prod.kafka]\n" + table + "\n")
    assert key in str(caught.value) and "\n" not in str(caught.value)


def test_simulated_targets_default_to_the_simulated_brokers() -> None:
    from maip_drlib.config import Topology, embedded_target

    assert embedded_target(Topology()).kafka_access == SIMULATED_KAFKA
