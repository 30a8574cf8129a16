"""The write gate: writes refused before any byte is sent without consent, reads untouched,
every allowed write journalled as intent and result (maip_drlib/write_gate.py)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from maip_drlib.config import RegionConnection, Target
from maip_drlib.errors import GuardRefused
from maip_drlib.regions import build_region_handles
from maip_drlib.write_gate import WriteGate, is_aws_write

pytestmark = pytest.mark.sim

NOTHING_LISTENS = "http://127.0.0.1:9"


def _target() -> Target:
    return Target(name="t", kind="live",
                  primary=RegionConnection("us-east-1", "maip-prod",
                                           endpoint_url=NOTHING_LISTENS),
                  secondary=RegionConnection("us-west-2", "maip-prod-dr",
                                             endpoint_url=NOTHING_LISTENS))


@pytest.fixture
def dummy_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("service", "operation", "write"), [
    ("rds", "DescribeDBInstances", False), ("rds", "PromoteReadReplica", True),
    ("rds", "DeleteDBInstance", True), ("route53", "ChangeResourceRecordSets", True),
    ("route53", "ListResourceRecordSets", False), ("dynamodb", "PutItem", True),
    ("dynamodb", "Query", False), ("dynamodb", "GetItem", False), ("eks", "DescribeUpdate", False),
    ("eks", "UpdateNodegroupConfig", True), ("cloudwatch", "PutMetricData", True),
    ("cloudwatch", "GetMetricStatistics", False), ("s3", "PutObject", True),
    ("sts", "GetCallerIdentity", False), ("sts", "AssumeRole", False),
])
def test_operations_are_classified_by_name(service: str, operation: str, write: bool) -> None:
    assert is_aws_write(service, operation) is write


def test_a_write_without_consent_is_refused_before_anything_is_sent(dummy_keys: None) -> None:
    gate = WriteGate.closed(target="t")
    handles = build_region_handles(_target(), writes=gate)
    rds = handles.secondary.client("rds")
    with pytest.raises(GuardRefused, match=r"PromoteReadReplica in us-west-2 on target 't' "
                                           r"\(DBInstanceIdentifier=maip-prod-postgres-replica\)"
                                           r".*--dr-execute.*--dr-confirm"):
        rds.promote_read_replica(DBInstanceIdentifier="maip-prod-postgres-replica")
    # A read passes the gate and goes to the (absent) server: the gate refused the write
    # before any connection, since the same client otherwise fails to connect.
    with pytest.raises(EndpointConnectionError):
        rds.describe_db_instances()


def test_allowed_writes_are_journalled_as_intent_and_result(dummy_keys: None) -> None:
    records: list[dict[str, Any]] = []
    gate = WriteGate.consented(target="t", listener=records.append)
    handles = build_region_handles(_target(), writes=gate)
    gate.enter("failover 2", may_write=True)
    rds = handles.secondary.client("rds")
    with Stubber(rds) as stub:
        stub.add_response("promote_read_replica", {"DBInstance": {}},
                          {"DBInstanceIdentifier": "maip-prod-postgres-replica"})
        stub.add_client_error("promote_read_replica", "InvalidDBInstanceState",
                              http_status_code=400)
        stub.add_response("describe_db_instances", {"DBInstances": []})
        rds.promote_read_replica(DBInstanceIdentifier="maip-prod-postgres-replica")
        with pytest.raises(rds.exceptions.ClientError):
            rds.promote_read_replica(DBInstanceIdentifier="maip-prod-postgres-replica")
        rds.describe_db_instances()
    assert [(r["event"], r.get("outcome")) for r in records] == [
        ("intent", None), ("result", "ok"), ("intent", None), ("result", "failed")]
    first = records[0]
    assert first["stage"] == "failover 2" and first["service"] == "rds"
    assert first["operation"] == "PromoteReadReplica" and first["region"] == "us-west-2"
    assert first["resource"] == "DBInstanceIdentifier=maip-prod-postgres-replica"
    assert first["parameters"] == {"DBInstanceIdentifier": "maip-prod-postgres-replica"}
    assert "InvalidDBInstanceState" in records[3]["error"]


def test_a_consented_gate_closes_for_read_only_code(dummy_keys: None) -> None:
    gate = WriteGate.consented(target="t")
    handles = build_region_handles(_target(), writes=gate)
    gate.enter("readiness", may_write=False, because="readiness never writes")
    with pytest.raises(GuardRefused, match=r"readiness: refusing dynamodb:PutItem.*readiness "
                                           r"never writes"):
        handles.primary.client("dynamodb").put_item(TableName="x", Item={"pk": {"S": "1"}})
    gate.enter("failover 4", may_write=True)
    assert gate.stage == "failover 4"


def test_a_gate_without_consent_never_opens() -> None:
    gate = WriteGate.closed()
    gate.enter("failover 2", may_write=True)
    with pytest.raises(GuardRefused, match="--dr-execute"):
        from maip_drlib.write_gate import CallRecord

        gate.check(CallRecord(stage="failover 2", service="rds", operation="PromoteReadReplica",
                              region="us-west-2", resource=None, parameters={}))


class _FakeRest:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> str:
        self.sent.append((method, url))
        return "response"


class _FakeApi:
    def __init__(self) -> None:
        self.rest_client = _FakeRest()


def test_kubernetes_writes_pass_the_gate_and_reads_do_not() -> None:
    api = _FakeApi()
    records: list[dict[str, Any]] = []
    gate = WriteGate.closed(listener=records.append)
    gate.attach_kube(api, region="us-west-2")
    base = "https://127.0.0.1:6443/apis/apps/v1/namespaces/maip-services/deployments"
    assert api.rest_client.request("GET", base) == "response"
    with pytest.raises(GuardRefused, match="kubernetes:patch deployments/scale in us-west-2"):
        api.rest_client.request("PATCH", f"{base}/api/scale", body={"spec": {"replicas": 0}})
    assert api.rest_client.sent == [("GET", base)]
    open_gate = WriteGate.consented(listener=records.append)
    api = _FakeApi()
    open_gate.attach_kube(api, region="us-west-2")
    open_gate.enter("failover 4", may_write=True)
    api.rest_client.request("PATCH", f"{base}/api/scale", body={"spec": {"replicas": 4}})
    assert [r["event"] for r in records] == ["intent", "result"]
    assert records[0]["operation"] == "patch deployments/scale"
    assert records[0]["stage"] == "failover 4"
