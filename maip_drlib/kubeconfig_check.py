"""Checks of a kubeconfig: made when the config is loaded and again when a client is built.

``check_context(path, context, ...)`` reads the file (UTF-8 YAML, a mapping, at most 4 MiB)
and requires a context of that name, so an unreadable kubeconfig or a missing context is one
``ConfigError`` at load time, before any call. With ``loopback_only`` (``sim`` targets) it
also applies ``loopback_problem``: the one inspection ``maip_drlib.regions`` repeats on the
document it builds a simulated target's Kubernetes client from, so a file edited between
load and use is caught too. A simulated target reaches loopback only (DESIGN.md 4a):

- every cluster server of the context is an ``http(s)`` URL on 127.0.0.0/8, ``::1`` or
  ``localhost`` (``maip_drlib.loopback``), and so is its ``proxy-url`` when it names one;
- the context's user runs no ``exec`` credential plugin and uses no ``auth-provider`` (both
  run programs or reach identity providers outside the simulation).

Files are parsed once per path and modification time per process; ``read_kubeconfig`` hands
out a copy. Not supported: ``KUBECONFIG`` lists of several files (a target names one file
per region), checking the default ``~/.kube/config`` (a simulated target must name its
kubeconfig; a live one reads the default when Kubernetes is first used), and checking that
credentials are valid (they are checked when used).

Errors never echo the file's contents: a YAML error names the line number only (never the
offending line, which may hold a token or a key), and the few values an error shows (a
server URL, an exec command, an auth-provider name) pass the redactor first.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from maip_drlib.errors import ConfigError
from maip_drlib.loopback import is_loopback_url

# Far above any real kubeconfig (hundreds of clusters with embedded certificates); a file
# larger than this is refused before YAML parses it.
MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024
LOOPBACK_RULE = "a simulated target reaches 127.0.0.0/8, ::1 or localhost only"


def _one_line(text: str) -> str:
    """``text`` with control characters escaped, so a message stays one printable line."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _shown(value: Any, limit: int = 120) -> str:
    """A value of the file as an error may show it: redacted (a server URL may carry a
    password, a command its token), then cut; anything but a string by its type alone."""
    from maip_drlib.evidence.redact import default_redactor

    text = default_redactor().text(repr(value)) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= limit else text[:limit] + "...'"


@lru_cache(maxsize=32)
def _parsed(path: Path, mtime_ns: int) -> dict[str, Any] | str:
    """The document at ``path``, or a one-line reason it is not a kubeconfig."""
    del mtime_ns  # part of the cache key only: an edited file is parsed again
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_KUBECONFIG_BYTES + 1)
    except OSError as error:
        return f"cannot read kubeconfig {path}: {error.strerror or error}"
    if len(raw) > MAX_KUBECONFIG_BYTES:
        return f"kubeconfig {path} is larger than {MAX_KUBECONFIG_BYTES // (1024 * 1024)} MiB"
    try:
        document = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return f"kubeconfig {path} is not UTF-8 text"
    except (yaml.YAMLError, RecursionError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return f"kubeconfig {path} is not valid YAML{where}"
    if not isinstance(document, dict):
        return f"kubeconfig {path} is not a kubeconfig (expected a YAML mapping)"
    for section in ("contexts", "clusters", "users"):
        if not isinstance(document.get(section) or [], list):
            return f"kubeconfig {path}: {section!r} is not a list"
    return document


def _document(path: Path) -> dict[str, Any] | str:
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError as error:
        return f"cannot read kubeconfig {path}: {error.strerror or error}"
    return _parsed(path, mtime_ns)


def read_kubeconfig(path: Path, *, key: str, source: str | None = None) -> dict[str, Any]:
    """A copy of the kubeconfig at ``path``, or a one-line ``ConfigError`` naming ``key``."""
    document = _document(path)
    if isinstance(document, str):
        raise ConfigError(_one_line(document), source=source, key=key)
    return copy.deepcopy(document)


def _named(document: Mapping[str, Any], section: str, name: Any) -> Iterator[Mapping[str, Any]]:
    """Every entry of ``section`` called ``name`` (a duplicate is checked too)."""
    for item in document.get(section) or []:
        if isinstance(item, dict) and item.get("name") == name:
            yield item


def context_names(document: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(item.get("name")) for item in document.get("contexts") or []
                 if isinstance(item, dict) and item.get("name"))


def loopback_problem(document: Mapping[str, Any], context: str) -> str | None:
    """Why ``context`` of this kubeconfig could reach beyond loopback or run a program; None
    when its cluster servers are loopback and its user has neither exec nor auth-provider."""
    entries = list(_named(document, "contexts", context))
    if not entries:
        return f"context {context!r} is not in the kubeconfig"
    for entry in entries:
        body = entry.get("context")
        if not isinstance(body, dict):
            return f"context {context!r} has no cluster (an empty context entry)"
        problem = _cluster_problem(document, context, body.get("cluster"))
        if problem is None:
            problem = _user_problem(document, context, body.get("user"))
        if problem is not None:
            return problem
    return None


def _cluster_problem(document: Mapping[str, Any], context: str, cluster: Any) -> str | None:
    if not isinstance(cluster, str) or not cluster:
        return f"context {context!r} names no cluster"
    clusters = list(_named(document, "clusters", cluster))
    if not clusters:
        return f"context {context!r} names cluster {cluster!r}, which is not in the kubeconfig"
    for item in clusters:
        body = item.get("cluster")
        server = body.get("server") if isinstance(body, dict) else None
        if not isinstance(server, str) or not is_loopback_url(server):
            return (f"context {context!r} uses cluster {cluster!r} with server "
                    f"{_shown(server)}, not a loopback http(s) URL ({LOOPBACK_RULE})")
        proxy = body.get("proxy-url")  # type: ignore[union-attr]
        if proxy is not None and not (isinstance(proxy, str) and is_loopback_url(proxy)):
            return (f"context {context!r} uses cluster {cluster!r} through proxy-url "
                    f"{_shown(proxy)}, not loopback ({LOOPBACK_RULE})")
    return None


def _user_problem(document: Mapping[str, Any], context: str, user: Any) -> str | None:
    if user is None:
        return None
    for item in _named(document, "users", user):
        body = item.get("user")
        if not isinstance(body, dict):
            continue
        if body.get("exec"):
            command = body["exec"].get("command") if isinstance(body["exec"], dict) else None
            return (f"context {context!r} uses user {user!r}, which runs an exec credential "
                    f"plugin ({_shown(command)}): refused for a simulated target (it runs a "
                    "program and may reach real clusters' identity services)")
        if body.get("auth-provider"):
            provider = body["auth-provider"]
            name = provider.get("name") if isinstance(provider, dict) else provider
            return (f"context {context!r} uses user {user!r}, which uses auth-provider "
                    f"{_shown(name)}: refused for a simulated target (it reaches an identity "
                    "provider outside the simulation)")
    return None


def check_context(path: Path, context: str, *, source: str, file_key: str,
                  context_key: str, loopback_only: bool = False) -> None:
    """Raise a one-line ``ConfigError`` unless ``path`` is a readable kubeconfig with
    ``context`` (and, with ``loopback_only``, one that passes ``loopback_problem``);
    ``file_key``/``context_key`` are the config keys to name."""
    document = _document(path)
    if isinstance(document, str):
        raise ConfigError(_one_line(document), source=source, key=file_key)
    names = context_names(document)
    if context not in names:
        known = ", ".join(sorted(names)) or "none"
        raise ConfigError(_one_line(f"context {context!r} not in kubeconfig {path} (it has: "
                                    f"{known})"), source=source, key=context_key)
    if loopback_only:
        problem = loopback_problem(document, context)
        if problem is not None:
            raise ConfigError(_one_line(f"kubeconfig {path}: {problem}"), source=source,
                              key=file_key)
