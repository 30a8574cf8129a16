"""What every moto patch shares: the pinned moto version and idempotent attribute swaps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MOTO_VERSION = "5.2.5"

_ORIGINALS_ATTR = "__maip_original__"


class MotoVersionMismatch(RuntimeError):
    """The installed moto is not the release the patches were written and tested against."""


def check_moto_version(patch_name: str, expected: str) -> None:
    import moto

    if moto.__version__ != expected:
        raise MotoVersionMismatch(
            f"patch {patch_name} targets moto {expected}, but moto {moto.__version__} is "
            "installed: re-check the behaviour the patch replaces (its docstring says what) "
            "and its tests in tests/sim/test_moto_patches.py before changing the pin"
        )


def replace_method(owner: type, name: str, build: Callable[[Any], Any]) -> None:
    """Set ``owner.name`` to ``build(original)``, once: a second call is a no-op."""
    current = owner.__dict__.get(name)
    if current is not None and getattr(current, _ORIGINALS_ATTR, None) is not None:
        return
    original = getattr(owner, name, None)
    replacement = build(original)
    setattr(replacement, _ORIGINALS_ATTR, original or _Missing)
    setattr(owner, name, replacement)


def original_of(owner: type, name: str) -> Any:
    """The unpatched attribute behind ``owner.name`` (None if the patch added it)."""
    found = getattr(owner.__dict__.get(name), _ORIGINALS_ATTR, None)
    return None if found is _Missing else found


def is_patched(owner: type, name: str) -> bool:
    return getattr(owner.__dict__.get(name), _ORIGINALS_ATTR, None) is not None


class _Missing:
    """Marker: the patch added an attribute moto did not have."""
