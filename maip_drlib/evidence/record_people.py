"""The people of a DR test record: participants ("Name <role>") and lessons (``--note``).

``parse_participant`` reads one ``"Name <role>"`` (``--participant``, repeatable on ``gameday``
and ``stage``, or an item of ``[record] participants`` in the config); ``check_note`` one
lesson (``--note``). Both refuse with one ``ConfigError`` line naming the option or key.
``journal_people`` writes what an attempt was given as one ``record.people`` journal record
(redacted as every journal record is); the DR test record (``dr_test_record.py``) gathers those
records over every attempt and compares them with the intended participants.

Matching the present against the intended is by name, case-insensitive and ignoring extra
spaces; a role given differently is reported beside the name, not as a missing person. Not
supported: identities checked against a directory (names are the operator's word), several
people of one name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from maip_drlib.errors import ConfigError
from maip_drlib.evidence.journal import Journal

PARTICIPANT = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<\s*(?P<role>[^<>]+?)\s*>\s*$")
MAX_NAME_CHARS = 100
MAX_NOTE_CHARS = 2000
PEOPLE_KIND = "record.people"


@dataclass(frozen=True)
class Participant:
    """One person taking part in a drill, in a role ("incident commander", "DBA")."""

    name: str
    role: str

    def __str__(self) -> str:
        return f"{self.name} <{self.role}>"

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role}


def _printable(text: str, where: str, what: str) -> None:
    if any(not character.isprintable() for character in text):
        raise ConfigError(f"the {what} contains control characters", key=where)


def parse_participant(text: str, where: str = "--participant") -> Participant:
    """``"Name <role>"`` -> Participant, or one ConfigError line naming ``where``."""
    _printable(text, where, "participant")
    match = PARTICIPANT.match(text)
    if match is None:
        raise ConfigError(f"expected \"Name <role>\" (e.g. \"Ana Silva <incident "
                          f"commander>\"), got {text!r}", key=where)
    name, role = " ".join(match["name"].split()), " ".join(match["role"].split())
    if len(name) > MAX_NAME_CHARS or len(role) > MAX_NAME_CHARS:
        raise ConfigError(f"a name and a role are at most {MAX_NAME_CHARS} characters each",
                          key=where)
    return Participant(name, role)


def parse_participants(values: Iterable[str], where: str = "--participant"
                       ) -> tuple[Participant, ...]:
    """Every participant, in order, once each (the same name and role twice counts once)."""
    found: dict[tuple[str, str], Participant] = {}
    for value in values:
        person = parse_participant(value, where)
        found.setdefault((_key(person.name), person.role.casefold()), person)
    return tuple(found.values())


def check_note(text: str, where: str = "--note") -> str:
    """A lesson: printable, not empty, at most ``MAX_NOTE_CHARS`` characters; stripped."""
    _printable(text, where, "note")
    stripped = text.strip()
    if not stripped:
        raise ConfigError("the note is empty", key=where)
    if len(stripped) > MAX_NOTE_CHARS:
        raise ConfigError(f"a note is at most {MAX_NOTE_CHARS} characters, got "
                          f"{len(stripped)}", key=where)
    return stripped


def journal_people(journal: Journal, participants: Sequence[Participant],
                   notes: Sequence[str], *, command: str) -> None:
    """One ``record.people`` record for what this attempt was given (nothing if nothing)."""
    if not participants and not notes:
        return
    journal.record(PEOPLE_KIND, participants=[p.as_dict() for p in participants],
                   notes=list(notes), command=command)


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def participation(present: Sequence[dict[str, Any]], intended: Sequence[Participant]
                  ) -> dict[str, Any]:
    """Who took part against who was meant to: ``missing`` (intended, absent),
    ``unplanned`` (present, not intended), ``as_intended`` (None when nobody was
    intended: participation was not planned, so it cannot be judged)."""
    present_names = {_key(str(p.get("name", ""))) for p in present}
    intended_names = {_key(p.name) for p in intended}
    missing = [p.as_dict() for p in intended if _key(p.name) not in present_names]
    unplanned = [dict(p) for p in present if _key(str(p.get("name", ""))) not in intended_names]
    return {"intended": [p.as_dict() for p in intended], "missing": missing,
            "unplanned": unplanned if intended else [],
            "as_intended": (not missing) if intended else None}
