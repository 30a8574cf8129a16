"""A target's data-plane access tables: ``[targets.<name>.database]`` and ``.kafka``.

``database`` gives PostgreSQL access (TLS mode, timeouts, IAM or Secrets Manager credentials);
``kafka`` gives MSK broker access for canaries and offsets (docs/rpo.md). Not supported:
passwords in the file (credentials come from IAM or Secrets Manager), SASL/SCRAM for Kafka.
"""

from __future__ import annotations

import re
from typing import Any

from maip_drlib.config import (
    KAFKA_AUTHS,
    LIVE_SSL_MODES,
    PRIMARY_REGION,
    SECONDARY_REGION,
    SIMULATED_KAFKA,
    SSL_MODES,
    SUPPORTED_REGIONS,
    DatabaseAccess,
    KafkaAccess,
)
from maip_drlib.config_file.reader import ConfigReader, printable, type_name
from maip_drlib.loopback import is_loopback_host

_KAFKA_KEYS = frozenset({"auth", "tls", "ca_file", "bootstrap", "timeout_s"})
_DATABASE_KEYS = frozenset({"dbname", "sslmode", "sslrootcert", "connect_timeout_s",
                            "statement_timeout_s", "iam_user", "secret_ids", "services_user"})
# A PostgreSQL identifier as RDS accepts it for a database or user name.
_DB_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}\Z")


class DataPlaneReader(ConfigReader):
    """The ``database`` and ``kafka`` tables of a sim or live target."""

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
            raise self.fail(f"{key}.tls", f"expected true or false, got {type_name(tls)}")
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
                                    f"...], got {printable(text)!r}")
                if kind == "sim" and not all(
                        is_loopback_host(h.rsplit(":", 1)[0].strip("[]")) for h in hosts):
                    raise self.fail(f"{key}.bootstrap.{region}", "expected loopback brokers "
                                    "for a sim target")
                pairs.append((region, ",".join(hosts)))
            values["bootstrap"] = tuple(pairs)
        return KafkaAccess(**values)

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
