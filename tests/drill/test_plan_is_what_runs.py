"""The plan is what runs: the dry-run plan a game day journals before its first mutating call
(``drill.plan``) against the mutating calls it then made (the journal's ``call`` records), on
the session's shared embedded game day; and ``plan_check.compare`` itself on small journals."""

from __future__ import annotations

import json

import pytest
from shared_gameday import SharedGameDay

from maip_drlib.drill.failback_names import final_snapshot_name
from maip_drlib.drill.plan_check import compare
from maip_drlib.evidence.journal import scan_journal


@pytest.mark.gameday
def test_the_game_day_made_exactly_the_calls_its_plan_listed(
        embedded_gameday: SharedGameDay) -> None:
    assert embedded_gameday.returncode == 0, embedded_gameday.output
    records = scan_journal(embedded_gameday.attempt / "journal.jsonl").records
    plan = next(r for r in records if r["kind"] == "drill.plan")
    assert plan["status"] == "recorded", plan
    first_call = next(r["seq"] for r in records if r["kind"] == "call")
    assert plan["seq"] < first_call  # planned before the first mutating call
    stages = {c["stage"] for c in plan["calls"]}
    assert {"failover 2", "failover 4", "failback 2", "failback 4"} <= stages, stages
    result = compare(plan["calls"], records)
    assert result.same, ("planned, not made:\n" + "\n".join(map(str, result.not_made))
                         + "\nmade, not planned:\n" + "\n".join(map(str, result.not_planned)))


def _intent(stage: str, service: str, operation: str, region: str, resource: str,
            **parameters: object) -> dict:
    return {"kind": "call", "event": "intent", "stage": stage, "service": service,
            "operation": operation, "region": region, "resource": resource,
            "parameters": {k: v if isinstance(v, str | int) else json.dumps(v, sort_keys=True)
                           for k, v in parameters.items()}}


PLAN = [
    {"stage": "failback 4", "service": "kubernetes", "region": "us-east-1",
     "operation": "patch_namespaced_deployment_scale",
     "parameters": {"namespace": "ns", "name": "api", "replicas": 0}},
    {"stage": "failback 4", "service": "rds", "region": "us-west-2",
     "operation": "delete_db_instance",
     "parameters": {"DBInstanceIdentifier": "db", "SkipFinalSnapshot": False,
                    "FinalDBSnapshotIdentifier": "db-failback-d1"}},
    {"stage": "failover 3", "service": "route53", "region": "us-east-1",
     "operation": "change_resource_record_sets", "condition": "clients still land in east",
     "parameters": {"HostedZoneId": "Z1", "ChangeBatch": {"Changes": [
         {"Action": "UPSERT", "ResourceRecordSet": {"SetIdentifier": "primary"}}]}}},
    {"stage": "failover 2", "service": "postgresql", "region": "us-west-2",
     "operation": "insert", "parameters": {"table": "t"}},
]
MADE = [
    _intent("failback 4", "kubernetes", "patch deployments/scale", "us-east-1",
            "apis/apps/v1/namespaces/ns/deployments/api/scale", body={"spec": {"replicas": 0}}),
    _intent("failback 4", "rds", "DeleteDBInstance", "us-west-2", "DBInstanceIdentifier=db",
            DBInstanceIdentifier="db", SkipFinalSnapshot=False,
            FinalDBSnapshotIdentifier="db-failback-d1"),
]


@pytest.mark.unit
def test_compare_matches_a_plan_and_its_calls() -> None:
    assert compare(PLAN, MADE).same
    route = _intent("failover 3", "route53", "ChangeResourceRecordSets", "us-east-1",
                    "HostedZoneId=Z1", HostedZoneId="Z1", ChangeBatch={"Changes": [
                        {"Action": "UPSERT", "ResourceRecordSet": {"SetIdentifier": "primary"}}]})
    assert compare(PLAN, [*MADE, route]).same  # a conditional call, made


@pytest.mark.unit
def test_compare_names_what_differs() -> None:
    renamed = [MADE[0], {**MADE[1], "parameters": {**MADE[1]["parameters"],
                                                    "FinalDBSnapshotIdentifier": "db-x"}}]
    result = compare(PLAN, renamed)
    assert [k.operation for k in result.not_made] == ["delete_db_instance"]
    assert ("FinalDBSnapshotIdentifier", "db-x") in result.not_planned[0].identifiers
    other_region = [{**MADE[0], "region": "us-west-2"}, MADE[1]]
    result = compare(PLAN, other_region)
    assert [k.region for k in result.not_made] == ["us-east-1"]
    assert [k.region for k in result.not_planned] == ["us-west-2"]
    assert not compare(PLAN, MADE[:1]).same  # a planned call not made


@pytest.mark.unit
def test_the_final_snapshot_is_named_by_the_drill() -> None:
    assert final_snapshot_name("db-replica", "gameday-20261206T132912Z") == (
        "db-replica-failback-gameday-20261206t132912z")
    assert final_snapshot_name("db", "a..b__c-") == "db-failback-a-b-c"
    assert final_snapshot_name("db", None).startswith("db-failback-20")
    assert len(final_snapshot_name("d" * 250, "x" * 80)) <= 255
