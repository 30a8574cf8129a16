"""The step catalogue: every Given/When/Then phrase the suite's step definitions accept, with
its parameters and what it checks or does, read from the step definitions themselves.

pytest-bdd records each step definition in ``pytest_bdd.steps.step_function_context_registry``
when its module is imported; ``load_catalogue`` imports the project's ``steps`` package (from
the scenarios root) and reads that registry, so the catalogue cannot drift from the code. The
description is the first paragraph of the step function's docstring.

Not supported: step definitions outside the ``steps`` package (a team writes scenarios with
these phrases, not Python), and parameter types other than pytest-bdd's ``parse``/``cfparse``
format fields and named groups of ``re`` parsers (those read as text).
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

KEYWORDS = {"given": "Given", "when": "When", "then": "Then", None: "Step"}
_ORDER = {"Given": 0, "When": 1, "Then": 2, "Step": 3}
_FIELD = re.compile(r"\{(\w+)(?::([^{}]*))?\}")
_TYPES = {"g": "number", "f": "number", "e": "number", "n": "number", "d": "integer",
          "": "text", "w": "word"}
# Parameters whose name says more than their type (the region roles of the topology).
_NAMED_KINDS = {"role": "primary or secondary", "db_role": "writer or read replica"}
# Step function parameters that Gherkin fills from the step itself, not from the phrase.
_BLOCKS = {"datatable": "data table", "docstring": "doc string"}


@dataclass(frozen=True)
class StepParameter:
    name: str
    kind: str  # number, integer, text, word, data table, doc string


@dataclass(frozen=True)
class StepEntry:
    keyword: str  # Given, When, Then (Step: any of them)
    phrase: str  # as written in a feature file, each parameter as {name}
    parameters: tuple[StepParameter, ...]
    description: str
    source: str  # module:function

    def matches(self, text: str) -> bool:
        """``text`` (case-insensitive) in the keyword, phrase, description or a parameter."""
        needle = text.lower()
        haystack = " ".join([self.keyword, self.phrase, self.description, self.source,
                             *(p.name for p in self.parameters)]).lower()
        return needle in haystack

    def as_dict(self) -> dict:
        return asdict(self)


def _phrase_and_fields(parser: object) -> tuple[str, list[StepParameter]]:
    """The displayed phrase and the phrase's own parameters of a pytest-bdd parser."""
    name = str(getattr(parser, "name", parser))
    regex = getattr(parser, "regex", None)
    if isinstance(regex, re.Pattern):  # parsers.re: named groups, read as text
        fields = [StepParameter(group, "text") for group in regex.groupindex]
        return name, fields
    fields = []
    for match in _FIELD.finditer(name):
        spec = (match.group(2) or "").strip()
        kind = _TYPES.get(spec[-1:] if spec else "", spec or "text")
        fields.append(StepParameter(match.group(1), _NAMED_KINDS.get(match.group(1), kind)))
    return _FIELD.sub(lambda m: "{" + m.group(1) + "}", name), fields


def _description(func: object) -> str:
    doc = inspect.getdoc(func) or ""
    return " ".join(doc.split("\n\n", 1)[0].replace("``", "").split())


def _entry(context: object) -> StepEntry:
    func = context.step_func  # type: ignore[attr-defined]
    phrase, fields = _phrase_and_fields(context.parser)  # type: ignore[attr-defined]
    try:
        names = inspect.signature(func).parameters
    except (TypeError, ValueError):  # a callable without a signature: nothing to add
        names = {}
    fields += [StepParameter(name, kind) for name, kind in _BLOCKS.items() if name in names]
    return StepEntry(keyword=KEYWORDS.get(context.type, "Step"),  # type: ignore[attr-defined]
                     phrase=phrase, parameters=tuple(fields), description=_description(func),
                     source=f"{func.__module__}:{func.__name__}")


def import_steps(root: Path) -> None:
    """Import the ``steps`` package of the scenarios root (which registers every step)."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    importlib.import_module("steps")


def catalogue(package: str = "steps") -> list[StepEntry]:
    """Every registered step definition of ``package``, Given then When then Then, each
    alphabetical by phrase."""
    from pytest_bdd.steps import step_function_context_registry

    entries: dict[tuple[str, str], StepEntry] = {}
    for context in list(step_function_context_registry.values()):
        if str(getattr(context.step_func, "__module__", "")).split(".")[0] == package:
            entry = _entry(context)
            entries[(entry.keyword, entry.phrase)] = entry
    return sorted(entries.values(), key=lambda e: (_ORDER[e.keyword], e.phrase.lower()))


def load_catalogue() -> list[StepEntry]:
    """The catalogue of the project's steps, found from ``scenarios_root()``."""
    from maip_drlib.drill.pytest_runner import scenarios_root

    import_steps(scenarios_root())
    return catalogue()


def render(entries: list[StepEntry]) -> str:
    """The catalogue as text: the phrase, its parameters, then what it checks or does."""
    lines: list[str] = []
    for entry in entries:
        lines.append(f"{entry.keyword} {entry.phrase}")
        if entry.parameters:
            lines.append("    parameters: " + ", ".join(f"{p.name} ({p.kind})"
                                                        for p in entry.parameters))
        lines.append(f"    {entry.description or '(no description)'}")
        lines.append("")
    return "\n".join(lines).rstrip()
