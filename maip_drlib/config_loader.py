"""Load and validate the TOML configuration once, at the edge (DESIGN.md section 3).

``load_config(path)`` returns a frozen ``Config``; ``load_config(None)`` and ``default_config()``
return the runbook's topology and no targets (the caller adds the embedded target at run time).
``describe_config(config)`` renders the resolved configuration for ``maip-dr config check``.
This module reads the file and the top-level keys; each table has its reader in
``maip_drlib.config_file`` (bounds, reader, topology, targets, data_plane, describe).

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

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maip_drlib.config import Config, Target, Topology, simulation_topology
from maip_drlib.config_file.bounds import MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, bracket_depth
from maip_drlib.config_file.describe import describe_config
from maip_drlib.config_file.reader import printable, type_name
from maip_drlib.config_file.targets import TargetReader
from maip_drlib.config_file.topology import TopologyReader
from maip_drlib.errors import ConfigError

__all__ = ["MAX_CONFIG_BYTES", "MAX_CONFIG_DEPTH", "default_config", "describe_config",
           "load_config"]

_TARGET_NAME = re.compile(r"^[A-Za-z0-9_-]+\Z")


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
    if bracket_depth(text) > MAX_CONFIG_DEPTH:
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


class _Loader(TargetReader, TopologyReader):
    """Walks the parsed document once: the top-level keys, ``[record]`` and ``[features]``;
    each table's own reader is a base class (``maip_drlib.config_file``)."""

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
                            f"{type_name(people)}")
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
                            f"{type_name(paths)}")
        folders = []
        for index, item in enumerate(paths):
            key = f"features.paths[{index}]"
            folders.append(check_feature_folder(self.string(item, key), printable(key),
                                                base_dir=self.base_dir, source=self.source))
        return merge_folders(folders)

