"""Traffic weights of failback stage 3: parsing and validating the Gherkin's steps.

A step is a (primary percent, DR percent) pair of integers >= 0 summing to 100; the last step
must be (100, 0), so a finished shift leaves all traffic on the primary. The Gherkin writes the
steps as ``10/90, 50/50, 90/10, 100/0``.

Not supported: more than two weighted records, fractional percentages.
"""

from __future__ import annotations

from maip_drlib.errors import ConfigError

Weights = tuple[int, int]  # (primary percent, DR percent)


def parse_weights(text: str) -> tuple[Weights, ...]:
    """``'10/90, 50/50'`` -> ``((10, 90), (50, 50))``; ``ConfigError`` when it reads otherwise."""
    try:
        pairs = [pair.strip().split("/") for pair in text.split(",")]
        return tuple((int(primary), int(dr)) for primary, dr in pairs)
    except ValueError as error:
        raise ConfigError(f"weights must read like '10/90, 50/50', got {text!r}",
                          key="steps") from error


def validate_steps(steps: tuple[Weights, ...] | list[Weights]) -> tuple[Weights, ...]:
    """Each step a (primary, DR) pair of non-negative integers summing to 100, the last (100, 0)."""
    checked: list[Weights] = []
    for index, step in enumerate(steps):
        if (not isinstance(step, tuple | list) or len(step) != 2
                or any(isinstance(w, bool) or not isinstance(w, int) or w < 0 for w in step)
                or sum(step) != 100):
            raise ConfigError(f"step {index + 1} must be (primary, DR) percentages: two "
                              f"integers >= 0 summing to 100, got {step!r}", key="steps")
        checked.append((int(step[0]), int(step[1])))
    if not checked or checked[-1] != (100, 0):
        raise ConfigError(f"the last step must be (100, 0) (all traffic back on the primary), "
                          f"got {checked[-1] if checked else 'no steps'}", key="steps")
    return tuple(checked)
