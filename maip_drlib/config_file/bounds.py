"""Bounds of a config file checked on its raw text, before ``tomllib`` parses it.

A file over 1 MiB is refused unread; ``bracket_depth`` finds the deepest nesting of arrays and
inline tables without recursion (``tomllib`` recurses per level). Tables nested through dotted
keys are counted after parsing (``reader.ConfigReader.plain_values``). Not supported: any
other pre-parse check (the TOML grammar is ``tomllib``'s).
"""

from __future__ import annotations

import re

MAX_CONFIG_BYTES = 1024 * 1024
MAX_CONFIG_DEPTH = 100  # nested tables and arrays below the document
_STRUCTURE = re.compile(r"[\[\]{}#\"']")


def bracket_depth(text: str) -> int:
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
