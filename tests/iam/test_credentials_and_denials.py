"""Missing, expired and rejected AWS credentials, and denied permissions, as the suite reports
them: one line naming the target, region and profile or IAM action, exit code 2.

The AWS answers come from a small loopback server that speaks STS's and DynamoDB's error
formats (never a real endpoint); the CLI cases use live targets whose credentials are missing,
so no request is ever sent (instance metadata is disabled in the environment).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from maip_drlib.config import RegionConnection
from maip_drlib.errors import CredentialsError, PermissionDenied
from maip_drlib.permissions import check_credentials, iam_action, is_mutating
from maip_drlib.regions import RegionHandle
from maip_drlib.write_gate import WriteGate

pytestmark = pytest.mark.sim

BIN_DIR = Path(sys.executable).parent

STS_ERROR = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
             "<Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
             "<RequestId>1</RequestId></ErrorResponse>")


class _Answers(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, str, str]] = {}
    seen: list[str] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        target = self.headers.get("X-Amz-Target") or body.split("Action=")[-1].split("&")[0]
        self.seen.append(target)
        status, content_type, payload = self.answers[target]
        data = payload.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture()
def aws_stub() -> Iterator[tuple[str, type[_Answers]]]:
    handler = type("Answers", (_Answers,), {"answers": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


@pytest.fixture()
def aws_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated AWS config: profile ``drill`` with a session token, no metadata lookups."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    credentials = tmp_path / "credentials"
    credentials.write_text("[drill]\naws_access_key_id = AKIAEXAMPLE\n"
                           "aws_secret_access_key = secret\naws_session_token = token\n")
    config = tmp_path / "config"
    config.write_text("[profile empty]\nregion = us-west-2\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def live_handle(profile: str | None, endpoint_url: str | None = None) -> RegionHandle:
    return RegionHandle(RegionConnection("us-west-2", "maip-prod-dr", profile=profile,
                                         endpoint_url=endpoint_url),
                        target_name="prod", simulated=False,
                        writes=WriteGate.consented(target="prod"))  # IAM decides, not the gate


def test_expired_session_token_is_one_line_naming_target_region_and_profile(
        aws_files: Path, aws_stub) -> None:
    url, handler = aws_stub
    handler.answers["GetCallerIdentity"] = (403, "text/xml", STS_ERROR.format(
        code="ExpiredToken", message="The security token included in the request is expired"))
    handle = live_handle("drill", url)
    with pytest.raises(CredentialsError) as caught:
        handle.client("sts").get_caller_identity()
    message = str(caught.value)
    assert caught.value.exit_code == 2 and "\n" not in message
    assert "target 'prod' in us-west-2 (profile 'drill')" in message
    assert "expired (ExpiredToken from sts:GetCallerIdentity)" in message
    assert handler.seen == ["GetCallerIdentity"]  # one call, no retry, nothing else


def test_credentials_preflight_names_the_first_region_whose_credentials_fail(
        aws_files: Path, aws_stub) -> None:
    url, handler = aws_stub
    handler.answers["GetCallerIdentity"] = (403, "text/xml", STS_ERROR.format(
        code="InvalidClientTokenId", message="The security token included is invalid"))
    with pytest.raises(CredentialsError, match=r"us-west-2 \(profile 'drill'\): rejected "
                       r"\(InvalidClientTokenId from sts:GetCallerIdentity\)"):
        check_credentials([live_handle("drill", url)])


@pytest.mark.parametrize("code", ["AccessDeniedException", "AccessDenied"])
def test_access_denied_names_region_service_and_action(aws_files: Path, aws_stub,
                                                        code: str) -> None:
    url, handler = aws_stub
    handler.answers["DynamoDB_20120810.PutItem"] = (
        400, "application/x-amz-json-1.0",
        json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}",
                    "message": "User is not authorized to perform: dynamodb:PutItem"}))
    handle = live_handle("drill", url)
    with pytest.raises(PermissionDenied) as caught:
        handle.client("dynamodb").put_item(TableName="t", Item={"k": {"S": "v"}})
    error = caught.value
    assert error.exit_code == 2 and error.action == "dynamodb:PutItem"
    assert str(error).startswith("permission denied: dynamodb:PutItem in us-west-2 "
                                 "(target 'prod', service dynamodb")
    assert "policies/iam-drill-operator.json" in str(error)
    assert isinstance(error, ClientError) and error.response["Error"]["Code"] == code


def test_unknown_profile_is_refused_before_any_call(aws_files: Path) -> None:
    with pytest.raises(CredentialsError, match=r"profile 'nope'\): missing: the profile"):
        live_handle("nope")


def test_no_credentials_at_all_is_refused_before_any_call(aws_files: Path, aws_stub) -> None:
    url, handler = aws_stub
    handle = live_handle("empty", url)
    client = handle.client("rds")  # building a client needs no credentials
    with pytest.raises(CredentialsError, match=r"profile 'empty'\): missing: none found"):
        client.describe_db_instances()
    assert handler.seen == []


def test_operation_classification_and_action_names() -> None:
    assert iam_action("elbv2", "DescribeTargetHealth") == \
        "elasticloadbalancing:DescribeTargetHealth"
    assert iam_action("service-quotas", "GetServiceQuota") == "servicequotas:GetServiceQuota"
    assert not is_mutating("sts", "GetCallerIdentity")
    assert not is_mutating("dynamodb", "Query")
    for operation in ("PutItem", "UpdateItem", "DeleteItem", "PromoteReadReplica",
                      "ChangeResourceRecordSets", "UpdateNodegroupConfig", "PutMetricData"):
        assert is_mutating("any", operation)


KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
  - name: c
    cluster: {server: "https://127.0.0.1:1"}
users:
  - name: u
    user: {token: "not-a-secret"}
contexts:
  - name: maip-prod
    context: {cluster: c, user: u}
  - name: maip-prod-dr
    context: {cluster: c, user: u}
"""

LIVE_CONFIG = """
[targets.prod]
kind = "live"
[targets.prod.regions.us-east-1]
profile = "{primary}"
kube_context = "maip-prod"
kubeconfig = "{kubeconfig}"
[targets.prod.regions.us-west-2]
profile = "{secondary}"
kube_context = "maip-prod-dr"
kubeconfig = "{kubeconfig}"
"""


@pytest.mark.cli
@pytest.mark.parametrize(("secondary", "expected"), [
    ("missing-profile", "(profile 'missing-profile'): missing: the profile is not in"),
    ("empty", "(profile 'empty'): missing: none found"),
])
def test_cli_plan_with_missing_credentials_exits_2_with_one_line(
        aws_files: Path, secondary: str, expected: str) -> None:
    kubeconfig = aws_files / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)  # port 1 on loopback: nothing listens there
    config = aws_files / "live.toml"
    config.write_text(LIVE_CONFIG.format(primary="empty", secondary=secondary,
                                         kubeconfig=kubeconfig))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIP_", "KUBECONFIG"))}
    env["HOME"] = str(aws_files)
    done = subprocess.run([str(BIN_DIR / "maip-dr"), "--config", str(config), "plan"],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("maip-dr: AWS credentials of target 'prod' in ")
    assert expected in lines[0]
    assert "mutating calls" not in done.stdout
