"""The suite refuses, before any call, the Route 53 batches production refuses as a whole."""

from __future__ import annotations

import pytest

from maip_drlib.actions.route53 import alias_record, check_routing_conflicts
from maip_drlib.errors import ConfigError, GuardRefused
from maip_drlib.probes.route53 import parse_record_set

pytestmark = pytest.mark.unit

NAME = "api.maip.example.com"


def _alias(**routing: object) -> dict:
    return alias_record(NAME, "lb-1.us-east-1.elb.amazonaws.com", "Z35SXDOTRQ7X7K",
                        **routing)  # type: ignore[arg-type]


def test_weight_without_set_identifier_is_refused_locally() -> None:
    with pytest.raises(ConfigError, match="SetIdentifier"):
        check_routing_conflicts([], [{"Action": "UPSERT", "ResourceRecordSet": _alias(weight=5)}])


def test_a_second_primary_is_refused_locally() -> None:
    existing = [parse_record_set(_alias(set_identifier="p", failover="PRIMARY"))]
    second = {"Action": "CREATE",
              "ResourceRecordSet": _alias(set_identifier="p2", failover="PRIMARY")}
    with pytest.raises(GuardRefused, match="2 PRIMARY"):
        check_routing_conflicts(existing, [second])
    # replacing the PRIMARY in one batch is fine
    check_routing_conflicts(existing, [
        {"Action": "DELETE", "ResourceRecordSet": _alias(set_identifier="p", failover="PRIMARY")},
        second])
