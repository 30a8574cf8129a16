"""The ``[topology]`` table and its ``primary`` / ``secondary`` region tables.

Each key overrides one field of ``config.Topology`` / ``config.RegionTopology`` (the runbook's
names by default); a region table's ``region`` is fixed. Not supported: regions other than
us-east-1 and us-west-2, or adding fields the dataclasses do not have.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from maip_drlib.config import (
    LEASE_TTL_MAX_S,
    LEASE_TTL_MIN_S,
    MAX_NODEGROUP_SIZE,
    MAX_REPLICAS,
    RegionTopology,
    ScalingConfig,
    Topology,
)
from maip_drlib.config_file.reader import ConfigReader

_SCALING_KEYS = ("min_size", "max_size", "desired_size")
_REGION_TOPOLOGY_STRINGS = (
    "kube_context",
    "aws_profile",
    "eks_cluster",
    "nodegroup",
    "rds_instance",
    "msk_cluster",
    "alb_name",
)
_TOPOLOGY_STRINGS = (
    "failback_replica",
    "dynamodb_table",
    "replicator_name_contains",
    "hosted_zone",
    "record_name",
    "canary_table",
    "canary_topic",
    "business_topic",
    "consumer_group",
    "health_path",
    "lease_table",
)
_KAFKA_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}\Z")  # Kafka's legal topic names
# KMS key identifiers (KMS API reference, "KeyId"): a key id (or multi-Region mrk- id), a key
# ARN, alias/NAME or an alias ARN.
_KMS_KEY = r"(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
_KMS_ALIAS = r"alias/[A-Za-z0-9/_-]{1,250}"
_KMS_KEY_ID = re.compile(rf"^({_KMS_KEY}|{_KMS_ALIAS})\Z")
_KMS_ARN = re.compile(rf"^arn:aws(-cn|-us-gov)?:kms:([a-z0-9-]+):\d{{12}}:(key/{_KMS_KEY}|"
                      rf"{_KMS_ALIAS})\Z")


class TopologyReader(ConfigReader):
    """``[topology]``: the names and figures of the platform the drill acts on."""

    def scaling(self, value: Any, key: str) -> ScalingConfig:
        table = self.table(value, key)
        self.only_keys(table, set(_SCALING_KEYS), key)
        for name in _SCALING_KEYS:
            if name not in table:
                raise self.fail(f"{key}.{name}", "missing required key (an integer >= 0)")
        scaling = ScalingConfig(
            **{name: self.integer(table[name], f"{key}.{name}", minimum=0,
                                  maximum=MAX_NODEGROUP_SIZE, why=" (nodes)")
               for name in _SCALING_KEYS}
        )
        for problem in scaling.problems():
            raise self.fail(key, problem)
        return scaling

    def region_topology(self, base: RegionTopology, value: Any, key: str) -> RegionTopology:
        table = self.table(value, key)
        allowed = {"region", "standby_scaling", "kms_key_id", *_REGION_TOPOLOGY_STRINGS}
        self.only_keys(table, allowed, key)
        changes: dict[str, Any] = {}
        if "region" in table:
            region = self.string(table["region"], f"{key}.region")
            if region != base.region:
                raise self.fail(f"{key}.region", f"expected {base.region!r} (fixed), got "
                                f"{region!r}")
        for name in _REGION_TOPOLOGY_STRINGS:
            if name in table:
                changes[name] = self.string(table[name], f"{key}.{name}")
        if "standby_scaling" in table:
            changes["standby_scaling"] = self.scaling(table["standby_scaling"],
                                                      f"{key}.standby_scaling")
        if "kms_key_id" in table:
            changes["kms_key_id"] = self.kms_key_id(table["kms_key_id"], f"{key}.kms_key_id",
                                                    base.region)
        return replace(base, **changes)

    def kms_key_id(self, value: Any, key: str, region: str) -> str:
        text = self.string(value, key)
        arn = _KMS_ARN.match(text)
        if arn is None and not _KMS_KEY_ID.match(text):
            raise self.fail(key, "expected a KMS key id, key ARN, alias/NAME or alias ARN, "
                            f"got {text!r}")
        if arn is not None and arn.group(2) != region:
            raise self.fail(key, f"expected a key in {region} (the region this table "
                            f"describes), got an ARN in {arn.group(2)}")
        return text

    def topology(self, table: Mapping[str, Any]) -> Topology:
        key = "topology"
        allowed = {"primary", "secondary", "failover_scaling", "failover_replicas",
                   "lease_ttl_s", "namespace", *_TOPOLOGY_STRINGS}
        self.only_keys(table, allowed, key)
        base = Topology()
        changes: dict[str, Any] = {}
        for side in ("primary", "secondary"):
            if side in table:
                changes[side] = self.region_topology(getattr(base, side), table[side],
                                                     f"{key}.{side}")
        for name in _TOPOLOGY_STRINGS:
            if name in table:
                changes[name] = self.string(table[name], f"{key}.{name}")
        if "namespace" in table:
            changes["namespace"] = self.namespace(table["namespace"], f"{key}.namespace")
        if "failover_scaling" in table:
            changes["failover_scaling"] = self.scaling(table["failover_scaling"],
                                                       f"{key}.failover_scaling")
        if "failover_replicas" in table:
            changes["failover_replicas"] = self.integer(
                table["failover_replicas"], f"{key}.failover_replicas", minimum=1,
                maximum=MAX_REPLICAS, why=" (replicas per deployment)"
            )
        if "lease_ttl_s" in table:
            changes["lease_ttl_s"] = self.bounded_number(
                table["lease_ttl_s"], f"{key}.lease_ttl_s", LEASE_TTL_MIN_S, LEASE_TTL_MAX_S,
                "the drill lease renews within it; a crashed holder blocks at most that long")
        if "business_topic" in changes and not _KAFKA_TOPIC.fullmatch(changes["business_topic"]):
            raise self.fail(f"{key}.business_topic", "expected a Kafka topic name (1 to 249 "
                            "letters, digits, '.', '_' or '-')")
        if "health_path" in changes and not changes["health_path"].startswith("/"):
            raise self.fail(f"{key}.health_path", "expected a path starting with '/'")
        if "hosted_zone" in changes and not changes["hosted_zone"].endswith("."):
            changes["hosted_zone"] += "."
        return replace(base, **changes)
