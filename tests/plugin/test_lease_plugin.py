"""The drill lease inside the pytest plugin (``maip_drlib.pytest_dr.lease_hooks``), on
synthetic stages against a bare moto server on 127.0.0.1 (SIMULATED DynamoDB of the DR region).

Direct pytest runs of mutating stages on a ``sim`` target hold the lease while the destructive
scenarios run (the scenario itself reads the item) and release it; another holder is exit 3
with nothing run; ``--dr-lease-holder`` only verifies; a lease lost between two destructive
scenarios stops the session before the second; read-only sessions take no lease.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import boto3
import pytest
import requests

from maip_drlib.drill.lease import HOLDER_ALIVE_PREFIX, DrillLease, Holder, lease_key

pytestmark = pytest.mark.sim

pytest_plugins = ["pytester"]

TABLE = "maip-dr-drill-lease"
KEY = lease_key("api.maip.example.com")

FEATURE = """
@failover
Feature: Synthetic failover
  @stage_1
  Scenario: First
    When stage 1 runs

  @destructive @stage_2
  Scenario: Second
    When stage 2 runs

  @destructive @stage_3
  Scenario: Third
    When stage 3 runs
"""

STEPS = """
import json, os
import boto3
from pytest_bdd import parsers, scenarios, when

scenarios("features")
TABLE, KEY = os.environ["LEASE_TABLE"], os.environ["LEASE_KEY"]

@when(parsers.parse("stage {n:d} runs"))
def run_stage(n):
    client = boto3.client("dynamodb", region_name="us-west-2",
                          endpoint_url=os.environ["LEASE_ENDPOINT"],
                          aws_access_key_id="x", aws_secret_access_key="x")
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": KEY}},
                           ConsistentRead=True).get("Item") or {}
    seen = {k: list(v.values())[0] for k, v in item.items() if k != "breaks"}
    with open("stages.jsonl", "a") as out:
        out.write(json.dumps({"stage": n, "lease": seen}) + "\\n")
    if n == int(os.environ.get("BREAK_IN_STAGE", "0")):
        from maip_drlib.drill.lease import DrillLease, Holder
        DrillLease(client=client, table=TABLE, region="us-west-2", key=KEY,
                   ttl_s=60, holder=Holder.this_process("breaker")).acquire(
            break_reason="holder alive: a test breaks it mid-session")
"""

CONFTEST = """
pytest_plugins = ["maip_drlib.pytest_dr.plugin", "maip_drlib.pytest_dr.fixtures",
                  "maip_drlib.pytest_dr.journal_hooks", "maip_drlib.pytest_dr.lease_hooks"]
"""

KUBECONFIG = """
apiVersion: v1
kind: Config
clusters:
- {name: primary, cluster: {server: "https://127.0.0.1:9"}}
- {name: dr, cluster: {server: "https://127.0.0.1:9"}}
users:
- {name: sim, user: {token: sim}}
contexts:
- {name: maip-prod, context: {cluster: primary, user: sim}}
- {name: maip-prod-dr, context: {cluster: dr, user: sim}}
current-context: maip-prod
"""


@pytest.fixture
def dynamodb(moto_endpoint: str) -> object:
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=5).raise_for_status()
    client = boto3.client("dynamodb", region_name="us-west-2", endpoint_url=moto_endpoint,
                          aws_access_key_id="x", aws_secret_access_key="x")
    client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    return client


@pytest.fixture
def project(pytester: pytest.Pytester, moto_endpoint: str,
            monkeypatch: pytest.MonkeyPatch) -> Path:
    """The synthetic project and its 'sim' target; returns the config file."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    monkeypatch.setenv("LEASE_ENDPOINT", moto_endpoint)
    monkeypatch.setenv("LEASE_TABLE", TABLE)
    monkeypatch.setenv("LEASE_KEY", KEY)
    (pytester.path / "features").mkdir()
    (pytester.path / "features" / "a_synthetic.feature").write_text(FEATURE)
    pytester.makepyfile(test_synthetic=STEPS)
    pytester.makeconftest(CONFTEST)
    (pytester.path / "kubeconfig.yaml").write_text(KUBECONFIG)
    config = pytester.path / "c.toml"
    config.write_text(textwrap.dedent(f"""
        [targets.sim]
        kind = "sim"
        control_url = "http://127.0.0.1:9"
        [targets.sim.regions.us-east-1]
        endpoint_url = "{moto_endpoint}"
        kube_context = "maip-prod"
        kubeconfig = "kubeconfig.yaml"
        [targets.sim.regions.us-west-2]
        endpoint_url = "{moto_endpoint}"
        kube_context = "maip-prod-dr"
        kubeconfig = "kubeconfig.yaml"
    """))
    return config


def _run(pytester: pytest.Pytester, config: Path, *args: str,
         execute: bool = True) -> pytest.RunResult:
    flags = ("--dr-execute", "--dr-confirm", "sim") if execute else ()
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--dr-config", str(config),
                                         "--dr-target", "sim", *flags, *args)


def _stages(pytester: pytest.Pytester) -> dict[int, dict]:
    path = pytester.path / "stages.jsonl"
    if not path.exists():
        return {}
    return {r["stage"]: r["lease"] for r in map(json.loads, path.read_text().splitlines())}


def _lease(client: object, drill: str, ttl_s: float = 60) -> DrillLease:
    return DrillLease(client=client, table=TABLE, region="us-west-2", key=KEY, ttl_s=ttl_s,
                      holder=Holder.this_process(drill))


def test_a_direct_run_holds_the_lease_while_destructive_stages_run_and_releases_it(
        pytester: pytest.Pytester, project: Path, dynamodb: object) -> None:
    result = _run(pytester, project)
    result.assert_outcomes(passed=3)
    assert "drill lease acquired: drill#api.maip.example.com" in result.stderr.str()
    stages = _stages(pytester)
    for stage in (2, 3):
        assert stages[stage]["state"] == "held"
        assert stages[stage]["drill_id"].startswith("pytest-")
    after = _lease(dynamodb, "reader").stored()
    assert after is not None and after["state"] == "released"
    assert after["holder_id"] == stages[2]["holder_id"]


def test_another_holder_refuses_the_session_before_any_scenario(
        pytester: pytest.Pytester, project: Path, dynamodb: object) -> None:
    other = _lease(dynamodb, "gameday-elsewhere")
    other.acquire()
    result = _run(pytester, project)
    assert result.ret == 3
    err = result.stderr.str()
    assert "another drill holds the lease" in err and "gameday-elsewhere" in err
    assert "no scenario ran" in err
    assert _stages(pytester) == {}  # not even the read-only stage 1
    assert other.current()["holder_id"] == other.holder.holder_id  # type: ignore[index]


def test_the_holder_maip_dr_passes_is_verified_and_never_acquired(
        pytester: pytest.Pytester, project: Path, dynamodb: object) -> None:
    held = _lease(dynamodb, "gameday-maip-dr")
    grant = held.acquire()
    result = _run(pytester, project, "--dr-lease-holder", grant.holder.holder_id)
    result.assert_outcomes(passed=3)
    assert "drill lease acquired" not in result.stderr.str()
    assert _stages(pytester)[2]["holder_id"] == grant.holder.holder_id
    assert held.current()["holder_id"] == grant.holder.holder_id  # still maip-dr's, held


@pytest.mark.parametrize("held_by_other", [True, False], ids=["another holder", "no lease"])
def test_a_wrong_or_missing_holder_is_exit_3(pytester: pytest.Pytester, project: Path,
                                             dynamodb: object, held_by_other: bool) -> None:
    if held_by_other:
        _lease(dynamodb, "gameday-other").acquire()
    result = _run(pytester, project, "--dr-lease-holder", "0123abcd")
    assert result.ret == 3
    err = result.stderr.str()
    assert "--dr-lease-holder" in err and "0123abcd" in err
    assert ("held by another drill" if held_by_other else "is not held") in err
    assert _stages(pytester) == {}


def test_a_lease_lost_mid_session_stops_before_the_next_destructive_stage(
        pytester: pytest.Pytester, project: Path, dynamodb: object,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREAK_IN_STAGE", "2")
    result = _run(pytester, project)
    assert result.ret == 3
    assert "held by another drill" in result.stderr.str()
    assert "not by this pytest session" in result.stderr.str()
    assert "stopped before" in result.stderr.str() and "test_third" in result.stderr.str()
    assert sorted(_stages(pytester)) == [1, 2]  # stage 3 never ran
    assert _lease(dynamodb, "reader").current()["drill_id"] == "breaker"  # type: ignore[index]


def test_break_lease_in_a_direct_run_is_refused_while_fresh_and_recorded(
        pytester: pytest.Pytester, project: Path, dynamodb: object) -> None:
    stuck = _lease(dynamodb, "gameday-stuck")
    stuck.acquire()
    refused = _run(pytester, project, "--dr-break-lease", "it looks dead")
    assert refused.ret == 3
    assert f'"{HOLDER_ALIVE_PREFIX} REASON"' in refused.stderr.str()
    assert _stages(pytester) == {}
    taken = _run(pytester, project, "--dr-break-lease", f"{HOLDER_ALIVE_PREFIX} handed over")
    taken.assert_outcomes(passed=3)
    assert "taken over from a previous holder" in taken.stderr.str()
    stored = _lease(dynamodb, "reader").stored()
    assert stored is not None and stored["state"] == "released"
    [entry] = stored["breaks"]
    assert entry["reason"] == f"{HOLDER_ALIVE_PREFIX} handed over"
    assert entry["previous_holder"]["drill_id"] == "gameday-stuck"


def test_read_only_sessions_take_no_lease(pytester: pytest.Pytester, project: Path,
                                          dynamodb: object) -> None:
    _run(pytester, project, execute=False).assert_outcomes(passed=1, skipped=2)
    _run(pytester, project, "-m", "not destructive").assert_outcomes(passed=1)
    assert _lease(dynamodb, "reader").stored() is None
    assert all(lease == {} for lease in _stages(pytester).values())


@pytest.mark.parametrize("args", [("--dr-lease-ttl", "5"), ("--dr-lease-ttl", "soon"),
                                  ("--dr-break-lease", " "),
                                  ("--dr-lease-holder", "x", "--dr-break-lease", "why")])
def test_bad_lease_options_are_exit_2(pytester: pytest.Pytester, project: Path,
                                      dynamodb: object, args: tuple[str, ...]) -> None:
    result = _run(pytester, project, *args)
    assert result.ret == 2
    assert args[0] in result.stderr.str() or args[2] in result.stderr.str()
    assert _stages(pytester) == {}
