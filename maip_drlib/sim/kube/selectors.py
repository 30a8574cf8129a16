"""Label and field selectors, parsed the way the API server reads ``labelSelector`` and
``fieldSelector`` query parameters.

Label selectors: ``key``, ``!key``, ``key=value``, ``key==value``, ``key!=value``,
``key in (a,b)``, ``key notin (a,b)``, comma-separated (all must hold). Field selectors:
``=``, ``==`` and ``!=`` on ``metadata.name``, ``metadata.namespace``, ``status.phase``
and ``spec.nodeName``. Not supported: ``gt``/``lt`` (only used for node affinity).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from maip_drlib.sim.kube.apierrors import bad_request

Predicate = Callable[[dict[str, Any]], bool]

_KEY = r"[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?"
_EXISTS = re.compile(rf"^\s*(?P<neg>!)?\s*(?P<key>{_KEY})\s*$")
_SET = re.compile(rf"^\s*(?P<key>{_KEY})\s+(?P<op>in|notin)\s*\((?P<values>[^)]*)\)\s*$")
_EQUALITY = re.compile(rf"^\s*(?P<key>{_KEY})\s*(?P<op>==|=|!=)\s*(?P<value>[^,=!\s]*)\s*$")
FIELD_PATHS = ("metadata.name", "metadata.namespace", "status.phase", "spec.nodeName")


def _split_requirements(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def _label_requirement(text: str) -> Callable[[dict[str, str]], bool]:
    if match := _SET.match(text):
        key = match["key"]
        values = {value.strip() for value in match["values"].split(",") if value.strip()}
        if match["op"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQUALITY.match(text):
        key, value = match["key"], match["value"]
        if match["op"] == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS.match(text):
        key = match["key"]
        if match["neg"]:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise bad_request(f"unable to parse requirement: {text.strip()!r}")


def label_selector(text: str | None) -> Predicate:
    """A predicate over objects for ``labelSelector`` (empty: everything matches)."""
    if not text:
        return lambda obj: True
    requirements = [_label_requirement(part) for part in _split_requirements(text)]

    def matches(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(requirement(labels) for requirement in requirements)

    return matches


def _field_value(obj: dict[str, Any], path: str) -> str:
    current: Any = obj
    for part in path.split("."):
        current = current.get(part) if isinstance(current, dict) else None
    return "" if current is None else str(current)


def field_selector(text: str | None) -> Predicate:
    """A predicate over objects for ``fieldSelector`` (empty: everything matches)."""
    if not text:
        return lambda obj: True
    checks: list[tuple[str, bool, str]] = []
    for part in text.split(","):
        match = re.match(r"^\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not match:
            raise bad_request(f"invalid selector: {text!r}; can't understand {part!r}")
        path, op, value = match.groups()
        if path not in FIELD_PATHS:
            raise bad_request(f'field label not supported: "{path}"')
        checks.append((path, op != "!=", value))

    def matches(obj: dict[str, Any]) -> bool:
        return all((_field_value(obj, path) == value) == wanted
                   for path, wanted, value in checks)

    return matches
