"""Load and validate the TOML configuration once, at the edge (DESIGN.md section 3).

``load_config(path)`` returns a frozen ``Config``; ``load_config(None)`` and ``default_config()``
return the runbook's topology and no targets (the caller adds the embedded target at run time).
``describe_config(config)`` renders the resolved configuration for ``maip-dr config check``.

Schema (every table rejects unknown keys)::

    default_target = "prod"                      # optional; must name a target
    [topology]                                   # optional; overrides Topology fields
    namespace = "maip-services"                  # a namespace name; never default, kube-*
    failover_scaling = { min_size = 4, max_size = 20, desired_size = 8 }  # each <= 1000
    failover_replicas = 4                        # 1 to 1000
    lease_table = "maip-dr-drill-lease"          # drill lease, in the DR region (docs/lease.md)
    lease_ttl_s = 60                             # 15 to 3600 seconds
    [topology.primary]                           # RegionTopology fields (region is fixed)
    kms_key_id = "alias/maip-rds"                # optional; key id, key ARN, alias/NAME or
                                                 # alias ARN (an ARN names this region)
    [topology.secondary]
    [targets.<name>]                             # name: letters, digits, _ and -
    kind = "embedded" | "sim" | "live"
    public_endpoint_url = "https://api.maip.example.com"   # sim, live; sim: a name, or a
                                                           # loopback address
    control_url = "http://127.0.0.1:PORT"                  # sim only, required, loopback
    ca_bundle = "ca.pem"                                   # sim, live; relative to the file
    time_scale = 0.1                                       # embedded, sim; > 0
    dns_nameservers = ["127.0.0.1:5353"]                   # sim, live; optional; ADDRESS[:PORT]
                                                           # (port 53), sim: loopback only
    require_approval = true                                # live only, optional (default
                                                           # false): a second identity
                                                           # approves each mutating stage
                                                           # (docs/approval.md)
    [targets.<name>.regions.us-east-1]                     # and us-west-2
    profile = "maip-prod"                                  # live only
    role_arn = "arn:aws:iam::123456789012:role/maip-dr"    # live only, optional: assumed
                                                           # through this region's STS
    external_id = "..."                                    # live only, with role_arn
    endpoint_url = "http://127.0.0.1:PORT"                 # sim: required and loopback
    kube_context = "maip-prod"                             # default: the topology's
    kubeconfig = "kubeconfig.yaml"                         # relative to the file; sim:
                                                           # required, loopback only
    [targets.<name>.database]                  # sim, live; optional (docs/data-plane.md)
    dbname = "postgres"                        # default "postgres"
    sslmode = "verify-full"                    # libpq sslmode; live: verify-full only
                                               # (the default); sim default: disable
    sslrootcert = "rds-global-bundle.pem"      # optional CA bundle, relative to the file
    connect_timeout_s = 5                      # > 0 seconds (whole seconds, rounded up)
    statement_timeout_s = 10                   # > 0 seconds, every statement
    services_user = "maip_app"                 # optional: the services' database user
    iam_user = "maip_dr"                       # RDS IAM authentication, or else:
    [targets.<name>.database.secret_ids]       # Secrets Manager secret id per region (both)
    us-east-1 = "maip/prod/db-credentials"
    us-west-2 = "maip/prod/db-credentials"
    [targets.<name>.kafka]                     # sim, live; optional (docs/rpo.md): MSK
    auth = "iam"                               # "iam" (live default; needs tls) or "none"
    tls = true                                 # live default true; sim default false
    ca_file = "ca.pem"                         # optional CA bundle, relative to the file
    timeout_s = 10                             # > 0 seconds, each Kafka request
    [targets.<name>.kafka.bootstrap]           # optional; default: GetBootstrapBrokers
    us-east-1 = "b-1.example:9098,b-2.example:9098"   # sim: loopback only
    [record]                                   # optional (docs/compliance.md)
    participants = ["Ana Silva <incident commander>"]  # intended participants of a drill
    [features]                                 # optional (docs/own-checks.md)
    paths = ["checks"]                         # folders of a team's own .feature files,
                                               # relative to the file; each must exist and
                                               # hold a .feature file

A target without a ``database`` table has no data-plane access: the database checks (writer
or standby, real lag, accepts writes, RDS RPO, data continuity) report "not configured",
never pass. ``iam_user`` and ``secret_ids`` exclude each other; one of them is required.

``dns_nameservers`` names the resolvers the endpoint checks ask for the public name, in order
(docs/simulated-dns.md): each an IP address with an optional port, stored as ``ADDRESS:PORT``.
Without it a ``sim`` target asks its control server and a ``live`` target the system resolver.
A ``sim`` target's resolvers must be loopback (``maip-dr sim up --data-plane --config-out``
writes its DNS server's address). Not supported: resolvers given as host names, DNS over
TLS/HTTPS.

Every error is one ``ConfigError`` line: file, dotted key, what was expected. A
``kubeconfig`` named here must be a readable YAML kubeconfig holding the region's
``kube_context`` (``kubeconfig_check``); for a live target the default ``~/.kube/config`` is
read only when used.

A ``sim`` target reaches loopback only (DESIGN.md 4a): its control and endpoint URLs and DNS
resolvers are loopback, its public endpoint is a name the simulation answers (or a loopback
address), and each region names a ``kubeconfig`` (never a fallback to ``~/.kube/config``)
whose context has loopback cluster servers and a user with no ``exec`` plugin and no
``auth-provider`` (``kubeconfig_check.loopback_problem``; ``maip_drlib.regions`` checks again
when it builds the client).

Bad input is refused before it is parsed deeply: a file over 1 MiB, TOML nested deeper than
100 levels (arrays and inline tables counted on the text before ``tomllib``, which recurses per
level; tables from dotted keys right after parsing, without recursion); NaN or infinity under
any key, known or not. Bounds: ``namespace`` a Kubernetes namespace name other than
``default`` and ``kube-*`` (the drill scales every deployment in it), ``failover_replicas``
and every node group size at most 1000, ``lease_ttl_s`` from 15 s to 1 h (``maip_drlib.config``
holds the figures).

Not supported: environment-variable interpolation (the library never reads the environment),
regions other than us-east-1 and us-west-2, includes of other files, and ``embedded`` targets
with endpoints (an embedded target in a file only means "start the embedded simulation").
"""

from __future__ import annotations

import ipaddress
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from maip_drlib.config import (
    KAFKA_AUTHS,
    LEASE_TTL_MAX_S,
    LEASE_TTL_MIN_S,
    LIVE_SSL_MODES,
    MAX_NODEGROUP_SIZE,
    MAX_REPLICAS,
    PRIMARY_REGION,
    RESERVED_NAMESPACE_PREFIX,
    RESERVED_NAMESPACES,
    SECONDARY_REGION,
    SIMULATED_KAFKA,
    SSL_MODES,
    SUPPORTED_REGIONS,
    TARGET_KINDS,
    Config,
    DatabaseAccess,
    KafkaAccess,
    RegionConnection,
    RegionTopology,
    ScalingConfig,
    Target,
    Topology,
    simulation_topology,
)
from maip_drlib.errors import ConfigError
from maip_drlib.kubeconfig_check import check_context
from maip_drlib.loopback import is_loopback_host

_TARGET_NAME = re.compile(r"^[A-Za-z0-9_-]+\Z")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")  # RFC 1123 label
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
    "health_path",
    "lease_table",
)
_TARGET_KEYS_BY_KIND: dict[str, frozenset[str]] = {
    "embedded": frozenset({"kind", "time_scale"}),
    "sim": frozenset(
        {"kind", "public_endpoint_url", "control_url", "ca_bundle", "time_scale", "regions",
         "database", "dns_nameservers", "kafka"}
    ),
    "live": frozenset({"kind", "public_endpoint_url", "ca_bundle", "regions", "database",
                       "dns_nameservers", "require_approval", "kafka"}),
}
_KAFKA_KEYS = frozenset({"auth", "tls", "ca_file", "bootstrap", "timeout_s"})
_DATABASE_KEYS = frozenset({"dbname", "sslmode", "sslrootcert", "connect_timeout_s",
                            "statement_timeout_s", "iam_user", "secret_ids", "services_user"})
# A PostgreSQL identifier as RDS accepts it for a database or user name.
_DB_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}\Z")
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
# KMS key identifiers (KMS API reference, "KeyId"): a key id (or multi-Region mrk- id), a key
# ARN, alias/NAME or an alias ARN.
_KMS_KEY = r"(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
_KMS_ALIAS = r"alias/[A-Za-z0-9/_-]{1,250}"
_KMS_KEY_ID = re.compile(rf"^({_KMS_KEY}|{_KMS_ALIAS})\Z")
_KMS_ARN = re.compile(rf"^arn:aws(-cn|-us-gov)?:kms:([a-z0-9-]+):\d{{12}}:(key/{_KMS_KEY}|"
                      rf"{_KMS_ALIAS})\Z")


def default_config() -> Config:
    """The runbook's topology and no targets (the embedded target is added at run time).

    Without a config file the only targets are simulated, so the topology names the
    simulation's KMS key (``config.simulation_topology``): the embedded game day creates its
    cross-region replicas of an encrypted writer, as production does."""
    return Config(topology=simulation_topology(), targets={}, source=None, default_target=None)


def load_config(path: Path | None) -> Config:
    """Read, validate and resolve a TOML config file; None means ``default_config()``."""
    if path is None:
        return default_config()
    source = str(path)
    try:
        with Path(path).open("rb") as handle:
            raw_bytes = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"cannot read config file: {error.strerror or error}",
                          source=source) from error
    if len(raw_bytes) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file is larger than 1 MiB ({MAX_CONFIG_BYTES} bytes): "
                          "refused before parsing", source=source)
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError("config file is not UTF-8 text", source=source) from error
    if _bracket_depth(text) > MAX_CONFIG_DEPTH:
        raise ConfigError(f"TOML nested deeper than {MAX_CONFIG_DEPTH} levels (arrays and "
                          "inline tables): refused before parsing", source=source)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"malformed TOML: {error}", source=source) from error
    except RecursionError as error:  # not reached below the depth bound; kept one line
        raise ConfigError("TOML nested too deeply to parse", source=source) from error
    loader = _Loader(source, Path(path).resolve().parent)
    loader.plain_values(document)
    return loader.config(document)


# -- raw input bounds: checked before (size, brackets) and right after parsing -------------------

MAX_CONFIG_BYTES = 1024 * 1024
MAX_CONFIG_DEPTH = 100  # nested tables and arrays below the document
_STRUCTURE = re.compile(r"[\[\]{}#\"']")


def _bracket_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings and comments: a lower bound of
    the parsed document's depth, found without recursion (tomllib recurses per level)."""
    depth = deepest = 0
    index, end = 0, len(text)
    while True:
        found = _STRUCTURE.search(text, index)
        if found is None:
            return deepest
        char, index = found.group(), found.start()
        if char == "#":
            newline = text.find("\n", index)
            index = end if newline < 0 else newline
        elif char in "\"'":
            index = _string_end(text, index)
        else:
            depth = depth + 1 if char in "[{" else max(0, depth - 1)
            deepest = max(deepest, depth)
            index += 1


def _string_end(text: str, start: int) -> int:
    """Where the TOML string opening at ``start`` ends (the end of text when unclosed)."""
    quote = text[start]
    delimiter = quote * 3 if text.startswith(quote * 3, start) else quote
    index = start + len(delimiter)
    while index < len(text):
        char = text[index]
        if char == "\\" and quote == '"':
            index += 2
        elif text.startswith(delimiter, index):
            return index + len(delimiter)
        elif char == "\n" and len(delimiter) == 1:
            return index  # malformed: tomllib reports it
        else:
            index += 1
    return len(text)


class _Loader:
    """Walks the parsed document once; every problem becomes one ConfigError."""

    def __init__(self, source: str, base_dir: Path):
        self.source = source
        self.base_dir = base_dir

    # -- primitives ---------------------------------------------------------------------------

    def plain_values(self, document: Mapping[str, Any]) -> None:
        """Refuse NaN and infinity anywhere (any key, known or not) and nesting deeper than
        ``MAX_CONFIG_DEPTH``; iterative, so no document can exhaust the stack."""
        pending: list[tuple[Any, str, int]] = [(document, "", 0)]
        while pending:
            value, key, depth = pending.pop()
            if isinstance(value, float) and not math.isfinite(value):
                raise self.fail(key, f"expected a finite number, got {value}")
            if isinstance(value, dict | list) and depth > MAX_CONFIG_DEPTH:
                top = key.split(".", 1)[0].split("[", 1)[0]
                raise self.fail(top, f"TOML nested deeper than {MAX_CONFIG_DEPTH} levels "
                                "(tables and arrays)")
            if isinstance(value, dict):
                pending += [(item, f"{key}.{name}" if key else name, depth + 1)
                            for name, item in value.items()]
            elif isinstance(value, list):
                pending += [(item, f"{key}[{index}]", depth + 1)
                            for index, item in enumerate(value)]

    def fail(self, key: str, message: str) -> ConfigError:
        """The error names the key; a value it quotes passes the redactor first (a URL may
        carry a password)."""
        from maip_drlib.evidence.redact import default_redactor

        return ConfigError(_printable(default_redactor().text(message)), source=self.source,
                           key=_printable(key))

    def table(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {_type_name(value)}")
        return value

    def only_keys(self, table: Mapping[str, Any], allowed: frozenset[str] | set[str] | tuple,
                  key: str, why: str = "") -> None:
        for name in table:
            if name not in allowed:
                where = f"{key}.{name}" if key else name
                known = ", ".join(sorted(allowed))
                raise self.fail(where, f"unknown key{why} (expected one of: {known})")

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {_type_name(value)}")
        if not value.strip():
            raise self.fail(key, "expected a non-empty string")
        return value

    def integer(self, value: Any, key: str, *, minimum: int, maximum: int | None = None,
                why: str = "") -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {_type_name(value)}")
        if value < minimum:
            raise self.fail(key, f"expected an integer >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.fail(key, f"expected an integer <= {maximum}{why}, got {value}")
        return value

    def positive_number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number > 0, got {_type_name(value)}")
        if not value > 0 or not math.isfinite(value):
            raise self.fail(key, f"expected a finite number > 0, got {value}")
        return float(value)

    def bounded_number(self, value: Any, key: str, low: float, high: float,
                       why: str) -> float:
        number = self.positive_number(value, key)
        if not low <= number <= high:
            raise self.fail(key, f"expected a number of seconds from {low:g} to {high:g} "
                            f"({why}), got {value}")
        return number

    def namespace(self, value: Any, key: str) -> str:
        text = self.string(value, key)
        if not _NAMESPACE.match(text):
            raise self.fail(key, "expected a Kubernetes namespace name (lower-case letters, "
                            f"digits and '-', at most 63), got {text!r}")
        if text.startswith(RESERVED_NAMESPACE_PREFIX) or text in RESERVED_NAMESPACES:
            raise self.fail(key, f"namespace {text!r} is refused: the drill scales every "
                            "deployment in it; name the services' own namespace (never "
                            "default or kube-*)")
        return text

    def url(self, value: Any, key: str, *, loopback: bool = False,
            schemes: tuple[str, ...] = ("http", "https")) -> str:
        text = self.string(value, key)
        try:
            parts = urlsplit(text)
            port_ok = parts.port is None or parts.port > 0
        except ValueError as error:
            raise self.fail(key, f"expected a URL, got {text!r} ({error})") from error
        if parts.scheme not in schemes or not parts.hostname or not port_ok:
            wanted = " or ".join(f"{scheme}://" for scheme in schemes)
            raise self.fail(key, f"expected a {wanted} URL with a host, got {text!r}")
        if loopback and not is_loopback_host(parts.hostname):
            raise self.fail(
                key,
                f"expected a loopback URL (127.0.0.0/8, ::1 or localhost), got host "
                f"{parts.hostname!r}",
            )
        return text

    def path(self, value: Any, key: str) -> Path:
        text = self.string(value, key)
        candidate = Path(text)
        try:
            candidate = candidate.expanduser()
            if not candidate.is_absolute():
                candidate = self.base_dir / candidate
            found = candidate.is_file()
        except (OSError, RuntimeError, ValueError) as error:  # name too long, unknown ~user
            raise self.fail(key, f"expected an existing file, got {text!r} ({error})") from error
        if not found:
            raise self.fail(key, f"expected an existing file, {candidate} not found")
        return candidate

    # -- document -----------------------------------------------------------------------------

    def config(self, document: Mapping[str, Any]) -> Config:
        self.only_keys(document, {"topology", "default_target", "targets", "features",
                                  "record"}, "")
        topology = Topology()
        if "topology" in document:
            topology = self.topology(self.table(document["topology"], "topology"))
        targets: dict[str, Target] = {}
        if "targets" in document:
            for name, raw in self.table(document["targets"], "targets").items():
                key = f"targets.{name}"
                if not _TARGET_NAME.match(name):
                    raise self.fail(key, "a target name is letters, digits, '_' and '-' "
                                    f"(it is typed in --target and --dr-confirm), got {name!r}")
                targets[name] = self.target(name, self.table(raw, key), key, topology)
        default_target = None
        if "default_target" in document:
            default_target = self.string(document["default_target"], "default_target")
            if default_target not in targets:
                known = ", ".join(sorted(targets)) or "none"
                raise self.fail(
                    "default_target", f"expected the name of a target (defined: {known}), "
                    f"got {default_target!r}"
                )
        feature_paths = self.features(document["features"]) if "features" in document else ()
        participants = self.record(document["record"]) if "record" in document else ()
        return Config(topology=topology, targets=targets, source=self.source,
                      default_target=default_target, feature_paths=feature_paths,
                      record_participants=participants)

    def record(self, value: Any) -> tuple[Any, ...]:
        """``[record] participants``: the intended participants of a drill, each
        "Name <role>" (``evidence/record_people.py``; the DR test record names who was
        missing)."""
        from maip_drlib.evidence.record_people import parse_participants

        table = self.table(value, "record")
        self.only_keys(table, {"participants"}, "record")
        people = table.get("participants", [])
        if not isinstance(people, list):
            raise self.fail("record.participants", f"expected a list of \"Name <role>\", got "
                            f"{_type_name(people)}")
        found = []
        for index, item in enumerate(people):
            key = f"record.participants[{index}]"
            try:
                found += parse_participants([self.string(item, key)], key)
            except ConfigError as error:
                raise self.fail(key, str(error).removeprefix(f"{key}: ")) from error
        return tuple(dict.fromkeys(found))

    def features(self, value: Any) -> tuple[Path, ...]:
        """``[features] paths``: folders of a team's own .feature files, relative to the
        config file's folder (``maip_drlib.feature_dirs``)."""
        from maip_drlib.feature_dirs import check_feature_folder, merge_folders

        table = self.table(value, "features")
        self.only_keys(table, {"paths"}, "features")
        paths = table.get("paths", [])
        if not isinstance(paths, list):
            raise self.fail("features.paths", f"expected a list of folders, got "
                            f"{_type_name(paths)}")
        folders = []
        for index, item in enumerate(paths):
            key = f"features.paths[{index}]"
            folders.append(check_feature_folder(self.string(item, key), _printable(key),
                                                base_dir=self.base_dir, source=self.source))
        return merge_folders(folders)

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
        if "health_path" in changes and not changes["health_path"].startswith("/"):
            raise self.fail(f"{key}.health_path", "expected a path starting with '/'")
        if "hosted_zone" in changes and not changes["hosted_zone"].endswith("."):
            changes["hosted_zone"] += "."
        return replace(base, **changes)

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
                                f"{_type_name(table['require_approval'])}")
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
        if kind == "sim" and _is_ip_address(host) and not is_loopback_host(host):
            raise self.fail(key, f"expected a name the simulation resolves or a loopback "
                            f"address for a sim target, got host {host!r}")
        return text

    def database(self, kind: str, value: Any, key: str) -> DatabaseAccess:
        table = self.table(value, key)
        self.only_keys(table, _DATABASE_KEYS, key)
        values: dict[str, Any] = {}
        if "dbname" in table:
            values["dbname"] = self.db_identifier(table["dbname"], f"{key}.dbname")
        allowed_modes = LIVE_SSL_MODES if kind == "live" else SSL_MODES
        values["sslmode"] = "verify-full" if kind == "live" else "disable"
        if "sslmode" in table:
            mode = self.string(table["sslmode"], f"{key}.sslmode")
            if mode not in allowed_modes:
                why = (" (a live target sends a password or IAM token: TLS with the "
                       "server's host name checked is required)"
                       if kind == "live" and mode in SSL_MODES else "")
                raise self.fail(f"{key}.sslmode", f"expected one of "
                                f"{', '.join(allowed_modes)}{why}, got {mode!r}")
            values["sslmode"] = mode
        if "sslrootcert" in table:
            values["sslrootcert"] = self.path(table["sslrootcert"], f"{key}.sslrootcert")
        for name in ("connect_timeout_s", "statement_timeout_s"):
            if name in table:
                values[name] = self.positive_number(table[name], f"{key}.{name}")
        has_iam, has_secrets = "iam_user" in table, "secret_ids" in table
        if has_iam and has_secrets:
            raise self.fail(f"{key}.iam_user", "expected either iam_user or secret_ids, "
                            "not both (one source of database credentials)")
        if not (has_iam or has_secrets):
            raise self.fail(f"{key}.secret_ids", "missing required key (database credentials: "
                            "secret_ids per region, or iam_user for RDS IAM authentication)")
        if "services_user" in table:
            values["services_user"] = self.db_identifier(table["services_user"],
                                                         f"{key}.services_user")
        if has_iam:
            values["iam_user"] = self.db_identifier(table["iam_user"], f"{key}.iam_user")
        else:
            values["secret_ids"] = self.secret_ids(table["secret_ids"], f"{key}.secret_ids")
        return DatabaseAccess(**values)

    def kafka(self, kind: str, value: Any, key: str) -> KafkaAccess:
        """[targets.<name>.kafka]: MSK canaries' and offsets' broker access (docs/rpo.md)."""
        table = self.table(value, key)
        self.only_keys(table, _KAFKA_KEYS, key)
        default = SIMULATED_KAFKA if kind == "sim" else KafkaAccess()
        auth = self.string(table.get("auth", default.auth), f"{key}.auth")
        if auth not in KAFKA_AUTHS:
            raise self.fail(f"{key}.auth", f"expected one of {', '.join(KAFKA_AUTHS)}, "
                            f"got {auth!r}")
        tls = table.get("tls", default.tls if "auth" not in table else auth == "iam")
        if not isinstance(tls, bool):
            raise self.fail(f"{key}.tls", f"expected true or false, got {_type_name(tls)}")
        if auth == "iam" and not tls:
            raise self.fail(f"{key}.tls", "expected true with auth = \"iam\" (MSK's IAM "
                            "listener is TLS only)")
        values: dict[str, Any] = {"auth": auth, "tls": tls}
        if "ca_file" in table:
            values["ca_file"] = self.path(table["ca_file"], f"{key}.ca_file")
        if "timeout_s" in table:
            values["timeout_s"] = self.positive_number(table["timeout_s"], f"{key}.timeout_s")
        if "bootstrap" in table:
            found = self.table(table["bootstrap"], f"{key}.bootstrap")
            self.only_keys(found, SUPPORTED_REGIONS, f"{key}.bootstrap")
            pairs = []
            for region in sorted(found):
                text = self.string(found[region], f"{key}.bootstrap.{region}")
                hosts = [part.strip() for part in text.split(",")]
                if not all(re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}", h) for h in hosts):
                    raise self.fail(f"{key}.bootstrap.{region}", "expected host:port[,host:port"
                                    f"...], got {_printable(text)!r}")
                if kind == "sim" and not all(
                        is_loopback_host(h.rsplit(":", 1)[0].strip("[]")) for h in hosts):
                    raise self.fail(f"{key}.bootstrap.{region}", "expected loopback brokers "
                                    "for a sim target")
                pairs.append((region, ",".join(hosts)))
            values["bootstrap"] = tuple(pairs)
        return KafkaAccess(**values)

    def nameservers(self, kind: str, value: Any, key: str) -> tuple[str, ...]:
        """A non-empty array of ``ADDRESS[:PORT]`` -> ``("ADDRESS:PORT", ...)``."""
        from maip_drlib.dns_answers import parse_nameserver  # dnspython: only when used

        if not isinstance(value, list):
            raise self.fail(key, f"expected an array of ADDRESS[:PORT] strings, got "
                            f"{_type_name(value)}")
        if not value:
            raise self.fail(key, "expected at least one ADDRESS[:PORT] (omit the key for the "
                            "default resolver)")
        found: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(key, f"item {index + 1}: expected an ADDRESS[:PORT] string, "
                                f"got {_type_name(item)}")
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

    def db_identifier(self, value: Any, key: str) -> str:
        text = self.string(value, key)
        if not _DB_IDENTIFIER.match(text):
            raise self.fail(key, "expected a PostgreSQL name (a letter or '_', then letters, "
                            f"digits, '_' or '$', at most 63), got {text!r}")
        return text

    def secret_ids(self, value: Any, key: str) -> tuple[tuple[str, str], ...]:
        table = self.table(value, key)
        for region in table:
            if region not in SUPPORTED_REGIONS:
                raise self.fail(f"{key}.{region}", "unknown region (expected "
                                f"{PRIMARY_REGION} or {SECONDARY_REGION})")
        found = []
        for region in (PRIMARY_REGION, SECONDARY_REGION):
            if region not in table:
                raise self.fail(f"{key}.{region}", "missing required key (the secret holding "
                                f"the database credentials used in {region})")
            found.append((region, self.string(table[region], f"{key}.{region}")))
        return tuple(found)

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


_NO_DATABASE = "not configured (the database checks report 'not configured')"
_NO_KAFKA = "not configured (MSK RPO and canary offsets read 'not measured')"
_DEFAULT_DNS = {"sim": "simulation control server (/dns/resolve)", "live": "system resolver"}


def _printable(text: str) -> str:
    """``text`` with control characters escaped, so an error stays one line."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean", int: "an integer", float: "a number", str: "a string",
        list: "an array", dict: "a table",
    }.get(type(value), type(value).__name__)


def describe_config(config: Config) -> str:
    """The resolved configuration as readable lines (no secrets: profiles are names only)."""
    topology = config.topology
    lines = [f"source: {config.source or '(defaults)'}", "topology:"]
    for side in (topology.primary, topology.secondary):
        scaling = side.standby_scaling
        lines.append(
            f"  {side.region}: kube_context={side.kube_context} aws_profile={side.aws_profile} "
            f"eks={side.eks_cluster}/{side.nodegroup} rds={side.rds_instance} "
            f"msk={side.msk_cluster} alb={side.alb_name} standby_scaling="
            f"{scaling.min_size}/{scaling.desired_size}/{scaling.max_size} "
            f"kms_key_id={side.kms_key_id or '-'}"
        )
    for item in fields(Topology):
        if item.name in ("primary", "secondary"):
            continue
        value = getattr(topology, item.name)
        if isinstance(value, ScalingConfig):
            value = f"{value.min_size}/{value.desired_size}/{value.max_size} (min/desired/max)"
        lines.append(f"  {item.name}: {value}")
    lines.append(f"default_target: {config.default_target or '-'}")
    if config.feature_paths:
        lines.append("features: " + ", ".join(str(path) for path in config.feature_paths))
    if not config.targets:
        lines.append("targets: none (the embedded simulation is used)")
    else:
        lines.append("targets:")
    for name, target in sorted(config.targets.items()):
        lines.append(f"  {name}: kind={target.kind} public_endpoint_url="
                     f"{target.public_endpoint_url}")
        for label in ("control_url", "ca_bundle", "time_scale"):
            value = getattr(target, label)
            if value is not None:
                lines.append(f"    {label}: {value}")
        if target.kind == "embedded":
            lines.append("    (endpoints are those of the embedded simulation, at run time)")
            continue
        lines.append(f"    database: {target.database or _NO_DATABASE}")
        lines.append(f"    kafka: {target.kafka_access or _NO_KAFKA}")
        lines.append("    dns: " + (", ".join(target.dns_nameservers) if target.dns_nameservers
                                    else _DEFAULT_DNS[target.kind]))
        for connection in target.connections:
            if target.kind == "live":
                profile = connection.profile or "(default chain)"
            else:
                profile = "(simulation dummy keys)"
            if connection.role_arn:
                profile += f" then role {connection.role_arn}" + (
                    " (with external id)" if connection.external_id else "")
            lines.append(
                f"    {connection.region}: profile={profile} "
                f"endpoint_url={connection.endpoint_url or '(AWS default)'} "
                f"kube_context={connection.kube_context} "
                f"kubeconfig={connection.kubeconfig or '(default)'}"
            )
    return "\n".join(lines)
