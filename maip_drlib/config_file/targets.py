"""``[targets.<name>]``: one target's kind, endpoints, resolvers and per-region connections.

A sim target reaches loopback only (its URLs, resolvers and kubeconfig servers); a live target
names a profile or the default chain, optionally a role to assume. The data-plane tables are
read by ``data_plane``. Not supported: regions other than us-east-1 and us-west-2, endpoints on
an embedded target.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from maip_drlib.config import (
    PRIMARY_REGION,
    SECONDARY_REGION,
    SUPPORTED_REGIONS,
    TARGET_KINDS,
    RegionConnection,
    RegionTopology,
    Target,
    Topology,
)
from maip_drlib.config_file.data_plane import DataPlaneReader
from maip_drlib.config_file.reader import is_ip_address, type_name
from maip_drlib.errors import ConfigError
from maip_drlib.kubeconfig_check import check_context
from maip_drlib.loopback import is_loopback_host

_TARGET_KEYS_BY_KIND: dict[str, frozenset[str]] = {
    "embedded": frozenset({"kind", "time_scale"}),
    "sim": frozenset(
        {"kind", "public_endpoint_url", "control_url", "ca_bundle", "time_scale", "regions",
         "database", "dns_nameservers", "kafka"}
    ),
    "live": frozenset({"kind", "public_endpoint_url", "ca_bundle", "regions", "database",
                       "dns_nameservers", "require_approval", "kafka"}),
}
_REGION_KEYS_BY_KIND: dict[str, frozenset[str]] = {
    "sim": frozenset({"endpoint_url", "kube_context", "kubeconfig"}),
    "live": frozenset({"profile", "endpoint_url", "kube_context", "kubeconfig", "role_arn",
                       "external_id"}),
}
# IAM role ARN (IAM user guide, "IAM identifiers"; name at most 64, path at most 512).
_ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/([\x21-\x7e]{0,511}/)?"
                       r"[\w+=,.@-]{1,64}\Z")
# sts:ExternalId: 2 to 1224 of these characters (STS API reference, AssumeRole).
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}\Z")


class TargetReader(DataPlaneReader):
    """One ``[targets.<name>]`` table and its ``regions``."""

    def target(self, name: str, table: Mapping[str, Any], key: str,
               topology: Topology) -> Target:
        if "kind" not in table:
            raise self.fail(f"{key}.kind", f"missing required key (one of: "
                            f"{', '.join(TARGET_KINDS)})")
        kind = self.string(table["kind"], f"{key}.kind")
        if kind not in TARGET_KINDS:
            raise self.fail(f"{key}.kind", f"expected one of {', '.join(TARGET_KINDS)}, "
                            f"got {kind!r}")
        why = {
            "embedded": " for an embedded target (it only means: start the embedded "
                        "simulation; it has no endpoints)",
            "sim": " for a sim target",
            "live": " for a live target",
        }[kind]
        self.only_keys(table, _TARGET_KEYS_BY_KIND[kind], key, why)

        extra: dict[str, Any] = {}
        if "public_endpoint_url" in table:
            extra["public_endpoint_url"] = self.public_url(kind, table["public_endpoint_url"],
                                                           f"{key}.public_endpoint_url")
        if "ca_bundle" in table:
            extra["ca_bundle"] = self.path(table["ca_bundle"], f"{key}.ca_bundle")
        if "time_scale" in table:
            extra["time_scale"] = self.positive_number(table["time_scale"],
                                                       f"{key}.time_scale")
        if kind == "sim":
            if "control_url" not in table:
                raise self.fail(f"{key}.control_url",
                                "missing required key (the sim's loopback control URL)")
            extra["control_url"] = self.url(table["control_url"], f"{key}.control_url",
                                            loopback=True)

        if "database" in table:
            extra["database"] = self.database(kind, table["database"], f"{key}.database")
        if "kafka" in table:
            extra["kafka"] = self.kafka(kind, table["kafka"], f"{key}.kafka")
        if "dns_nameservers" in table:
            extra["dns_nameservers"] = self.nameservers(kind, table["dns_nameservers"],
                                                        f"{key}.dns_nameservers")
        if "require_approval" in table:  # live only (_TARGET_KEYS_BY_KIND)
            if not isinstance(table["require_approval"], bool):
                raise self.fail(f"{key}.require_approval", "expected true or false, got "
                                f"{type_name(table['require_approval'])}")
            extra["require_approval"] = table["require_approval"]

        if kind == "embedded":
            primary = RegionConnection(region=PRIMARY_REGION,
                                       kube_context=topology.primary.kube_context)
            secondary = RegionConnection(region=SECONDARY_REGION,
                                         kube_context=topology.secondary.kube_context)
        else:
            primary, secondary = self.connections(kind, table, key, topology)
        return Target(name=name, kind=kind, primary=primary,  # type: ignore[arg-type]
                      secondary=secondary, **extra)

    def public_url(self, kind: str, value: Any, key: str) -> str:
        """A sim target's public URL is a name its simulation answers (control server or
        loopback DNS); given as an IP address, that address must be loopback."""
        text = self.url(value, key)
        host = urlsplit(text).hostname or ""
        if kind == "sim" and is_ip_address(host) and not is_loopback_host(host):
            raise self.fail(key, f"expected a name the simulation resolves or a loopback "
                            f"address for a sim target, got host {host!r}")
        return text

    def nameservers(self, kind: str, value: Any, key: str) -> tuple[str, ...]:
        """A non-empty array of ``ADDRESS[:PORT]`` -> ``("ADDRESS:PORT", ...)``."""
        from maip_drlib.dns_answers import parse_nameserver  # dnspython: only when used

        if not isinstance(value, list):
            raise self.fail(key, f"expected an array of ADDRESS[:PORT] strings, got "
                            f"{type_name(value)}")
        if not value:
            raise self.fail(key, "expected at least one ADDRESS[:PORT] (omit the key for the "
                            "default resolver)")
        found: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(key, f"item {index + 1}: expected an ADDRESS[:PORT] string, "
                                f"got {type_name(item)}")
            try:
                nameserver = parse_nameserver(item)
            except ConfigError:
                raise self.fail(key, f"item {index + 1}: expected an IP address with an "
                                f"optional port (127.0.0.1:5353, 10.0.0.2, [::1]:53), got "
                                f"{item!r}") from None
            if kind == "sim" and not is_loopback_host(nameserver.address):
                raise self.fail(key, f"item {index + 1}: expected a loopback resolver "
                                f"(127.0.0.0/8 or ::1) for a sim target, got {item!r}")
            text = str(nameserver)
            if text in found:
                raise self.fail(key, f"item {index + 1}: {text} is listed twice")
            found.append(text)
        return tuple(found)

    def role_arn(self, value: Any, key: str) -> str:
        text = self.string(value, key)
        if not _ROLE_ARN.match(text):
            raise self.fail(key, "expected an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME, "
                            f"12-digit account), got {text!r}")
        return text

    def connections(self, kind: str, table: Mapping[str, Any], key: str,
                    topology: Topology) -> tuple[RegionConnection, RegionConnection]:
        regions_key = f"{key}.regions"
        if "regions" not in table:
            raise self.fail(regions_key, f"missing required table (a {kind} target names "
                            f"both {PRIMARY_REGION} and {SECONDARY_REGION})")
        regions = self.table(table["regions"], regions_key)
        for region in regions:
            if region not in SUPPORTED_REGIONS:
                raise self.fail(f"{regions_key}.{region}", "unknown region (expected "
                                f"{PRIMARY_REGION} or {SECONDARY_REGION})")
        built = []
        for region_topology in (topology.primary, topology.secondary):
            region = region_topology.region
            region_key = f"{regions_key}.{region}"
            if region not in regions:
                raise self.fail(region_key, f"missing required table (a {kind} target names "
                                f"both {PRIMARY_REGION} and {SECONDARY_REGION})")
            built.append(self.connection(kind, regions[region], region_key, region_topology))
        return built[0], built[1]

    def connection(self, kind: str, value: Any, key: str,
                   region_topology: RegionTopology) -> RegionConnection:
        table = self.table(value, key)
        self.only_keys(table, _REGION_KEYS_BY_KIND[kind], key, f" for a {kind} target")
        values: dict[str, Any] = {}
        if "profile" in table:
            values["profile"] = self.string(table["profile"], f"{key}.profile")
        if "role_arn" in table:
            values["role_arn"] = self.role_arn(table["role_arn"], f"{key}.role_arn")
        if "external_id" in table:
            if "role_arn" not in table:
                raise self.fail(f"{key}.external_id", "only with role_arn (the external id is "
                                "passed when the role is assumed)")
            external_id = self.string(table["external_id"], f"{key}.external_id")
            if not _EXTERNAL_ID.match(external_id):
                raise self.fail(f"{key}.external_id", "expected 2 to 1224 letters, digits or "
                                "+=,.@:/-_ (STS AssumeRole ExternalId)")
            values["external_id"] = external_id
        if "endpoint_url" in table:
            values["endpoint_url"] = self.url(table["endpoint_url"], f"{key}.endpoint_url",
                                              loopback=kind == "sim")
        elif kind == "sim":
            raise self.fail(f"{key}.endpoint_url", "missing required key (a sim target must "
                            "never reach real AWS: give the simulation's loopback URL)")
        if "kubeconfig" in table:
            values["kubeconfig"] = self.path(table["kubeconfig"], f"{key}.kubeconfig")
        elif kind == "sim":
            raise self.fail(f"{key}.kubeconfig", "missing required key (a sim target never "
                            "falls back to ~/.kube/config: give the simulation's kubeconfig, "
                            "as 'maip-dr sim up --config-out' writes)")
        kube_context = region_topology.kube_context
        if "kube_context" in table:
            kube_context = self.string(table["kube_context"], f"{key}.kube_context")
        if "kubeconfig" in values:
            check_context(values["kubeconfig"], kube_context, source=self.source,
                          file_key=f"{key}.kubeconfig", context_key=f"{key}.kube_context",
                          loopback_only=kind == "sim")
        return RegionConnection(region=region_topology.region, kube_context=kube_context,
                                **values)
