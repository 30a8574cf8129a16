"""MSK canaries' Kafka access without brokers: listeners, IAM tokens, TLS, "not measured".

Where there is no broker (a simulation without its data plane answers made-up broker names),
no Kafka access (a live target without ``[targets.<name>.kafka]``), or no kafka-python, the
figure reads "not measured" with the reason, never a made-up figure.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.credentials import Credentials

from maip_drlib.config import KafkaAccess, Topology, embedded_target
from maip_drlib.drill import msk_canaries, rpo_check
from maip_drlib.rpo.kafka_client import KafkaEndpoint, KafkaNotMeasurable, access_of, kafka_module

pytestmark = pytest.mark.unit

ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/maip-prod-kafka/abc"


class _Kafka:
    def __init__(self, answer: dict[str, str]):
        self.answer = answer

    def list_clusters_v2(self, **_: Any) -> dict:
        return {"ClusterInfoList": [{"ClusterName": "maip-prod-kafka", "State": "ACTIVE",
                                     "ClusterArn": ARN}]}

    def get_bootstrap_brokers(self, ClusterArn: str) -> dict:
        assert ClusterArn == ARN
        return self.answer


class _Handle:
    region = "us-east-1"
    target_name = "t"
    connection = SimpleNamespace(profile=None)

    def __init__(self, answer: dict[str, str]):
        self.kafka = _Kafka(answer)
        self.session = SimpleNamespace(
            get_credentials=lambda: Credentials("AKIDEXAMPLE", "secret-key-example", "tok"))

    def client(self, service: str) -> Any:
        assert service == "kafka"
        return self.kafka


MADE_UP = {"BootstrapBrokerString": "b-1.maip-prod-kafka.x.c2.kafka.us-east-1.amazonaws.com:9092"}


def test_a_simulation_without_its_data_plane_has_no_broker() -> None:
    with pytest.raises(KafkaNotMeasurable, match="not measured: the simulation has no Kafka "
                       "broker behind maip-prod-kafka in us-east-1"):
        KafkaEndpoint.resolve(_Handle(MADE_UP), Topology(), KafkaAccess("none", False), True)


def test_a_simulated_broker_is_used_with_short_timeouts() -> None:
    endpoint = KafkaEndpoint.resolve(_Handle({"BootstrapBrokerString": "127.0.0.1:40001"}),
                                     Topology(), KafkaAccess("none", False), True)
    assert endpoint.bootstrap == "127.0.0.1:40001" and endpoint.timeout_s == 2.0
    options = endpoint.options(_Handle({}))
    assert "security_protocol" not in options and "sasl_mechanism" not in options


def test_iam_uses_the_iam_listener_tls_and_a_signed_token() -> None:
    pytest.importorskip("aws_msk_iam_sasl_signer")
    handle = _Handle({"BootstrapBrokerStringSaslIam": "b-1.example:9098,b-2.example:9098",
                      **MADE_UP})
    access = KafkaAccess("iam", True, ca_file=Path("ca.pem"))
    endpoint = KafkaEndpoint.resolve(handle, Topology(), access, False)
    assert endpoint.bootstrap == "b-1.example:9098,b-2.example:9098"
    options = endpoint.options(handle)
    assert options["security_protocol"] == "SASL_SSL" and options["ssl_check_hostname"]
    assert options["sasl_mechanism"] == "OAUTHBEARER" and options["ssl_cafile"] == "ca.pem"
    provider = options["sasl_oauth_token_provider"]
    token = provider.token()
    assert token not in repr(provider)
    url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).hostname == "kafka.us-east-1.amazonaws.com"
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")  # the handle's keys
    assert provider.token() == token  # reused until it nears expiry


def test_a_cluster_without_the_listener_is_not_measured() -> None:
    with pytest.raises(KafkaNotMeasurable, match="no BootstrapBrokerStringSaslIam listener"):
        KafkaEndpoint.resolve(_Handle(MADE_UP), Topology(), KafkaAccess(), False)


def test_configured_brokers_replace_get_bootstrap_brokers() -> None:
    access = KafkaAccess("none", True, bootstrap=(("us-east-1", "broker.example:9094"),))
    endpoint = KafkaEndpoint.resolve(_Handle({}), Topology(), access, False)
    assert endpoint.bootstrap == "broker.example:9094"
    assert endpoint.options(_Handle({}))["security_protocol"] == "SSL"


def test_a_live_target_without_kafka_access_is_not_measured() -> None:
    from dataclasses import replace

    live = replace(embedded_target(Topology(), name="prod"), kind="live")
    with pytest.raises(KafkaNotMeasurable, match=r"target 'prod' has no Kafka access "
                       r"configured \(\[targets.prod.kafka\]\)"):
        access_of(live)


def test_without_kafka_python_it_is_not_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kafka", None)
    with pytest.raises(KafkaNotMeasurable, match="kafka-python is not installed"):
        kafka_module()


def test_the_game_days_reason_reaches_the_rpo_report(tmp_path: Path) -> None:
    attempt = tmp_path / "attempt-1"
    attempt.mkdir()
    (attempt / msk_canaries.MSK_CANARIES_FILE).write_text(json.dumps(
        {"store": "msk", "drill_id": "d", "not_measured": "target 'prod' has no Kafka access"}))
    with pytest.raises(msk_canaries.MskNotMeasured, match="not measured: target 'prod'"):
        msk_canaries.load_msk_canaries(attempt)
    (attempt / "rpo.json").write_text(json.dumps({"rpo": [
        {"store": "dynamodb", "status": "measured", "rpo_s": 0.2, "lost": 2}]}))
    rpo_check.record_not_measured(attempt, "msk", "not measured: target 'prod' has no Kafka "
                                  "access", 5.0)
    rows = {r["store"]: r for r in json.loads((attempt / "rpo.json").read_text())["rpo"]}
    assert rows["dynamodb"]["rpo_s"] == 0.2  # kept beside it
    assert rows["msk"]["status"] == "not measured" and rows["msk"]["rpo_s"] is None
    assert rows["msk"]["note"] == "target 'prod' has no Kafka access"


def test_the_msk_window_is_sized_from_the_simulated_msk_lag() -> None:
    control = SimpleNamespace(status=lambda: {"faults": {"lag_seconds": {"msk": 5.0,
                                                                         "dynamodb": 0.5}}})
    target = embedded_target(Topology())
    plan = msk_canaries.plan_for(target, control, None)
    assert plan.warmup_s == 11.0 and plan.interval_s == 0.1  # 2 x lag + 1 s: some arrive
    assert msk_canaries.plan_for(target, control, 3.0).warmup_s == 3.0  # --canary-window
    assert msk_canaries.plan_for(target, None, None).warmup_s == 2.0
