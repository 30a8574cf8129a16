"""Checks of a kubeconfig named in the config file, made when the config is loaded.

``check_context(path, context, ...)`` reads the file (UTF-8 YAML, a mapping) and requires a
context of that name, so an unreadable kubeconfig or a missing context is one ``ConfigError``
at load time, before any call. Files are parsed once per path per process.

Not supported: checking the default kubeconfig (``~/.kube/config``, used when the config file
names none; it is read when Kubernetes is first used), ``KUBECONFIG`` lists of several files,
and checking that the context's cluster and user entries are usable (credentials are
checked when used).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from maip_drlib.errors import ConfigError


@lru_cache(maxsize=32)
def _contexts(path: Path, mtime_ns: int) -> tuple[str, ...] | str:
    """The context names of ``path``, or a one-line reason it cannot be used."""
    try:
        document = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except OSError as error:
        return f"cannot read kubeconfig {path}: {error.strerror or error}"
    except UnicodeDecodeError:
        return f"kubeconfig {path} is not UTF-8 text"
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return f"kubeconfig {path} is not valid YAML{where}"
    if not isinstance(document, dict):
        return f"kubeconfig {path} is not a kubeconfig (expected a YAML mapping)"
    contexts = document.get("contexts") or []
    if not isinstance(contexts, list):
        return f"kubeconfig {path}: 'contexts' is not a list"
    return tuple(str(item.get("name")) for item in contexts
                 if isinstance(item, dict) and item.get("name"))


def check_context(path: Path, context: str, *, source: str, file_key: str,
                  context_key: str) -> None:
    """Raise a one-line ``ConfigError`` unless ``path`` is a readable kubeconfig with
    ``context``; ``file_key``/``context_key`` are the config keys to name."""
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError as error:
        raise ConfigError(f"cannot read kubeconfig {path}: {error.strerror or error}",
                          source=source, key=file_key) from error
    names = _contexts(path, mtime_ns)
    if isinstance(names, str):
        raise ConfigError(names, source=source, key=file_key)
    if context not in names:
        known = ", ".join(sorted(names)) or "none"
        raise ConfigError(f"context {context!r} not in kubeconfig {path} (it has: {known})",
                          source=source, key=context_key)
