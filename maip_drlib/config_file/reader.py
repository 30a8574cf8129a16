"""The typed primitives every config table is read with, and the one-line ``ConfigError``.

``ConfigReader`` holds the file's name and folder; its methods check one value each (a table,
known keys, a string, bounded integers and numbers, a namespace, a URL, an existing file) and
raise an error naming the dotted key. Not supported: defaults (each table's reader sets them)
and values other than TOML's own types.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from maip_drlib.config import RESERVED_NAMESPACE_PREFIX, RESERVED_NAMESPACES
from maip_drlib.config_file.bounds import MAX_CONFIG_DEPTH
from maip_drlib.errors import ConfigError
from maip_drlib.loopback import is_loopback_host

_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")  # RFC 1123 label


class ConfigReader:
    """Reads values of one config file; every problem becomes one ConfigError."""

    def __init__(self, source: str, base_dir: Path):
        self.source = source
        self.base_dir = base_dir

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

        return ConfigError(printable(default_redactor().text(message)), source=self.source,
                           key=printable(key))

    def table(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {type_name(value)}")
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
            raise self.fail(key, f"expected a string, got {type_name(value)}")
        if not value.strip():
            raise self.fail(key, "expected a non-empty string")
        return value

    def integer(self, value: Any, key: str, *, minimum: int, maximum: int | None = None,
                why: str = "") -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {type_name(value)}")
        if value < minimum:
            raise self.fail(key, f"expected an integer >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.fail(key, f"expected an integer <= {maximum}{why}, got {value}")
        return value

    def positive_number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number > 0, got {type_name(value)}")
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


def printable(text: str) -> str:
    """``text`` with control characters escaped, so an error stays one line."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def type_name(value: Any) -> str:
    return {
        bool: "a boolean", int: "an integer", float: "a number", str: "a string",
        list: "an array", dict: "a table",
    }.get(type(value), type(value).__name__)
