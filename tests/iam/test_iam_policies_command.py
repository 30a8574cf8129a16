"""``maip-dr iam policies``: the policies and RBAC of the user's own topology, offline.

The command prints (or writes with ``--out``) the documents ``render_policies`` makes for the
config's topology; the placeholders left are named on stderr; a bad option is one line,
exit 2; it makes no AWS call unless ``--account-from-aws`` (the config's live target names
profiles that do not exist, which any call would trip over). A planned drill on the
embedded simulation with a custom topology makes only calls its rendered policy allows, on
the resources it names.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from maip_cli_helpers import run_maip_dr

from maip_drlib.config_loader import load_config
from maip_drlib.iam_policies import POLICY_FILES, RBAC_FILE, load_operations, render_policies
from maip_drlib.iam_scope import PolicyScope
from maip_drlib.permissions import OPERATOR_POLICY, iam_action

CONFIG = Path(__file__).with_name("custom_topology.toml")
SIM_ACCOUNT = "123456789012"  # moto's account: the simulation's ARNs

pytestmark = [pytest.mark.sim, pytest.mark.cli]


def test_prints_the_policies_of_the_configs_topology_and_names_the_placeholders(
        tmp_path: Path) -> None:
    done = run_maip_dr(["iam", "policies", "--config", str(CONFIG)], tmp_path)
    assert done.returncode == 0, done.stderr
    headers = re.findall(r"^==> (.+) <==$", done.stdout, flags=re.MULTILINE)
    assert headers == [*POLICY_FILES.values(), RBAC_FILE]
    assert "arn:aws:rds:us-west-2:ACCOUNT_ID:db:pay-db-replica" in done.stdout
    assert "maip-prod-postgres" not in done.stdout and "maip-services" not in done.stdout
    assert "namespace: payments-prod" in done.stdout
    assert done.stderr.strip() == ("maip-dr: placeholders left in the ARNs: ACCOUNT_ID, "
                                   "EVIDENCE_BUCKET (replace them, or give --account-id / "
                                   "--s3-bucket)")


def test_writes_the_files_with_the_account_and_options_given(tmp_path: Path) -> None:
    out = tmp_path / "iam"
    done = run_maip_dr(["--config", str(CONFIG), "iam", "policies", "--out", str(out),
                        "--account-id", "111122223333", "--s3-bucket", "pay-evidence",
                        "--s3-prefix", "game-days", "--hosted-zone-id", "/hostedzone/Z0PAY1",
                        "--metrics-namespace", "PAY/DR"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # nothing left to fill
    assert sorted(p.name for p in out.iterdir()) == sorted([*POLICY_FILES.values(), RBAC_FILE])
    expected = render_policies(load_operations(), PolicyScope(
        topology=load_config(CONFIG).topology, account="111122223333",
        s3_bucket="pay-evidence", s3_prefix="game-days", hosted_zone_id="Z0PAY1",
        metrics_namespace="PAY/DR", database_secrets=(("us-east-1", "pay/db"),
                                                      ("us-west-2", "pay/db-dr"))))
    for name, text in expected.items():
        assert (out / name).read_text(encoding="utf-8") == text, name
    operator = (out / OPERATOR_POLICY).read_text(encoding="utf-8")
    assert "arn:aws:secretsmanager:us-west-2:111122223333:secret:pay/db-dr-??????" in operator
    assert "arn:aws:route53:::hostedzone/Z0PAY1" in operator
    assert "arn:aws:s3:::pay-evidence/game-days/*" in operator


def test_json_document(tmp_path: Path) -> None:
    done = run_maip_dr(["--config", str(CONFIG), "--json", "iam", "policies",
                        "--account-id", "111122223333"], tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["account"] == "111122223333" and document["target"] == "prod"
    assert document["placeholders"] == ["EVIDENCE_BUCKET"]
    assert set(document["files"]) == {*POLICY_FILES.values(), RBAC_FILE}
    assert document["files"][OPERATOR_POLICY]["Version"] == "2012-10-17"


@pytest.mark.parametrize(("args", "message"), [
    (["--account-id", "12"], "maip-dr: --account-id: expected 12 digits, got '12'"),
    (["--account-id", "111122223333", "--account-from-aws"],
     "maip-dr: --account-from-aws: give --account-id or --account-from-aws, not both"),
    (["--hosted-zone-id", "zone*"], "maip-dr: --hosted-zone-id: expected a hosted zone id "
                                    "such as Z0123456789ABC, got 'zone*'"),
    (["--s3-prefix", "a/*"], "maip-dr: --s3-prefix: wildcards or unexpected characters "
                             "would widen the grant"),
    (["--s3-bucket", "s3://b"], "maip-dr: --s3-bucket: S3 bucket 's3://b': give a bucket "
                                "name, not a URL or a path"),
])
def test_bad_options_are_one_line_exit_2(tmp_path: Path, args: list[str],
                                         message: str) -> None:
    done = run_maip_dr(["--config", str(CONFIG), "iam", "policies", *args], tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == message and done.stdout == ""


def test_account_from_aws_needs_a_target_and_a_wildcard_name_is_refused(
        tmp_path: Path) -> None:
    done = run_maip_dr(["iam", "policies", "--account-from-aws"], tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == ("maip-dr: --account-from-aws: --account-from-aws needs a "
                                   "sim or live target (--target NAME)")
    config = tmp_path / "wide.toml"
    config.write_text('[topology]\ncanary_table = "*"\n', encoding="utf-8")
    done = run_maip_dr(["--config", str(config), "iam", "policies"], tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"maip-dr: {config}: topology.canary_table: '*' cannot be "
                                   "scoped in a policy (wildcards and unexpected characters "
                                   "would widen the grant)")


# -- the planned calls of a custom topology against its rendered policy ------------------------


def _matches(pattern: str, value: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."),
                        value) is not None


def _allowed(policy: dict[str, Any], action: str, arn: str) -> bool:
    return any(action in s["Action"] and (s["Resource"] == "*" or any(
        _matches(p, arn) for p in s["Resource"])) for s in policy["Statement"])


def _needs(call: dict[str, Any]) -> list[tuple[str, str]]:
    """(IAM action, resource ARN) AWS authorizes for one planned call."""
    params, region = call["parameters"], call["region"]
    action = iam_action(call["service"], "".join(
        part.title() for part in call["operation"].split("_")).replace("Db", "DB"))
    if call["service"] == "rds":
        db = f"arn:aws:rds:{region}:{SIM_ACCOUNT}:db:{params['DBInstanceIdentifier']}"
        needs = [(action, db)]
        if "SourceDBInstanceIdentifier" in params:
            needs.append((action, params["SourceDBInstanceIdentifier"]))
        if "FinalDBSnapshotIdentifier" in params:
            snapshot = f"arn:aws:rds:{region}:{SIM_ACCOUNT}:snapshot:" \
                       f"{params['FinalDBSnapshotIdentifier']}"
            needs += [("rds:CreateDBSnapshot", db), ("rds:CreateDBSnapshot", snapshot),
                      ("rds:AddTagsToResource", snapshot)]
        return needs
    if call["service"] == "eks":
        return [(action, f"arn:aws:eks:{region}:{SIM_ACCOUNT}:nodegroup/"
                         f"{params['clusterName']}/{params['nodegroupName']}/0a1b2c")]
    if call["service"] == "route53":
        return [(action, f"arn:aws:route53:::hostedzone/{params['HostedZoneId']}")]
    if call["service"] == "dynamodb":  # failback 2's heartbeats in the canary table
        return [(action, f"arn:aws:dynamodb:{region}:{SIM_ACCOUNT}:table/{params['TableName']}")]
    raise AssertionError(f"no resource rule for a planned {call['service']} call: extend "
                         f"this test ({call})")


def test_every_planned_call_of_a_custom_topology_is_allowed_on_its_resources(
        tmp_path: Path) -> None:
    text = CONFIG.read_text(encoding="utf-8")
    config = tmp_path / "embedded.toml"
    config.write_text(text[:text.index("[targets.prod]")] + '[targets.embedded]\n'
                      'kind = "embedded"\n', encoding="utf-8")
    done = run_maip_dr(["--config", str(config), "--json", "plan"], tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    calls = json.loads(done.stdout)["calls"]
    rendered = render_policies(load_operations(), PolicyScope(
        topology=load_config(config).topology, account=SIM_ACCOUNT))
    operator = json.loads(rendered[OPERATOR_POLICY])
    kube = [call for call in calls if call["service"] == "kubernetes"]
    aws = [call for call in calls if call["service"] != "kubernetes"]
    assert {c["service"] for c in aws} == {"rds", "eks", "route53", "dynamodb"} and kube
    denied = [(call["stage"], action, arn) for call in aws for action, arn in _needs(call)
              if not _allowed(operator, action, arn)]
    assert not denied, denied
    for call in aws:
        if call["service"] == "route53":
            names = {change["ResourceRecordSet"]["Name"].rstrip(".").lower()
                     for change in call["parameters"]["ChangeBatch"]["Changes"]}
            assert names == {"api.pay.example.org"}  # the record the condition allows
    role = next(d for d in yaml.safe_load_all(rendered[RBAC_FILE]) if d
                and d["kind"] == "Role" and d["metadata"]["name"] == "maip-dr-drill-operator")
    assert role["metadata"]["namespace"] == "payments-prod"
    assert {c["parameters"]["namespace"] for c in kube} == {"payments-prod"}
    assert {"apiGroups": ["apps"], "resources": ["deployments/scale"],
            "verbs": ["patch"]} in role["rules"]
