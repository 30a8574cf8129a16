"""JSON through the one redactor: the data is redacted first, then serialised.

Redacting the serialised text instead misses what serialising changed: a secret with a
quote or a backslash reads escaped (``\\"``), a non-ASCII one as ``\\u00f6``, and a pattern
masking up to the end of a line can eat the JSON's own punctuation. Every JSON file of a
drill's evidence (``results-*.json``, ``*.decisions.json``, ``canaries*.json``, ``rpo.json``)
and the ``--json`` documents of the CLI are written by these functions.

``dumps`` first turns the data into JSON types (``default=str`` for anything else: dates,
paths, enums), then redacts every string (dict keys included) and every value under a
secret-looking key with ``Redactor.value``, then serialises. Not supported: NaN and
infinities are written as Python's ``json`` writes them (``NaN``), as before.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from maip_drlib.evidence.redact import Redactor, default_redactor


def redacted(data: Any, redactor: Redactor | None = None) -> Any:
    """``data`` as JSON types, redacted (the input is not modified)."""
    plain = json.loads(json.dumps(data, default=str))
    return (redactor or default_redactor()).value(plain)


def dumps(data: Any, redactor: Redactor | None = None, **options: Any) -> str:
    """``json.dumps(redacted(data), **options)``: what every evidence JSON file holds."""
    return json.dumps(redacted(data, redactor), **options)


def write_json(path: Path, data: Any, redactor: Redactor | None = None, *,
               newline: bool = False, atomic: bool = False, **options: Any) -> Path:
    """Write ``data`` redacted to ``path`` (UTF-8); with ``atomic``, through a temporary file
    renamed over ``path`` (a reader never sees half a file). Returns ``path``."""
    text = dumps(data, redactor, **options) + ("\n" if newline else "")
    if not atomic:
        path.write_text(text, encoding="utf-8")
        return path
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path
