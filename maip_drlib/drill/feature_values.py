"""The numbers in the Gherkin feature files, checked before a drill calls anything.

The feature files carry the drill's budgets, thresholds, counts and traffic weights ("the RTO
budget of this stage is 10 minutes", "replication lag under 60 seconds", "steps of 10/90, 50/50,
90/10, 100/0"). A threshold or deadline of zero or less would make a check pass vacuously or a
wait give up at once; weights not summing to 100 or not ending at 100/0 would leave traffic
split. ``check_feature_values`` reads every step line of every ``.feature`` file in a folder
and raises ``ConfigError`` naming the file, the line and the value at fault (exit 2). The
drill commands call it before they start a simulation, take the lease or call an API.

Every free-standing number in a step must be greater than zero (numbers inside a word or a
path, such as ``/api/v1``, are not values); the weights of a "steps of ... soaking" phrase
follow ``maip_drlib.drill.weights``.

Not supported: numbers in Examples tables, data tables and doc strings (the suite's features
keep no thresholds there); upper bounds (a 10,000-minute budget is accepted).
"""

from __future__ import annotations

import re
from pathlib import Path

from maip_drlib.drill.weights import parse_weights, validate_steps
from maip_drlib.errors import ConfigError

STEP_LINE = re.compile(r"^\s*(?:Given|When|Then|And|But|\*)\s+(?P<text>.+?)\s*$")
WEIGHTS = re.compile(r"\bin steps of (?P<steps>.+?) soaking\b")
NUMBER = re.compile(r"(?<![\w/.-])(?P<value>[-+]?\d+(?:\.\d+)?)(?![\w/.])")


def check_feature_values(folder: Path) -> int:
    """Check every step value in ``folder``'s ``*.feature`` files; returns how many were read.

    Raises ``ConfigError`` (source ``file:line``) at the first value that is not positive or
    weights that do not add up.
    """
    checked = 0
    for path in sorted(folder.glob("*.feature")):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"cannot read the feature file: {error}", source=str(path)) \
                from error
        for number, line in enumerate(lines, start=1):
            step = STEP_LINE.match(line)
            if step is not None:
                checked += _check_step(step["text"], f"{path}:{number}")
    return checked


def _check_step(text: str, where: str) -> int:
    checked = 0
    weights = WEIGHTS.search(text)
    if weights is not None:
        try:
            validate_steps(parse_weights(weights["steps"]))
        except ConfigError as error:
            raise ConfigError(f"traffic weights {weights['steps']!r}: "
                              f"{str(error).removeprefix('steps: ')}", source=where) from error
        checked += 1
        text = text[:weights.start()] + text[weights.end():]
    for found in NUMBER.finditer(text):
        value = float(found["value"])
        if value <= 0:
            raise ConfigError(f"{found['value']} in step '{text}' must be greater than zero "
                              "(a threshold, budget or count)", source=where)
        checked += 1
    return checked
