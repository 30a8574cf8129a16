"""Mutating actions (DESIGN.md section 10, rule 4): each changes one thing and waits for it.

Actions validate their input locally before any call (bad input raises ``ConfigError`` or
``GuardRefused`` with nothing mutated), build boto3 keyword arguments only from what is given,
and wait through ``maip_drlib.waits`` with an explicit deadline.

Not supported: dry runs (the planner lists calls without making them) and safety guards
that need drill context (split-brain, execute/confirm flags) -- the callers own those.
"""

from __future__ import annotations
