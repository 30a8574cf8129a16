"""The drill: failover and failback stages over the DR library, with guards and a planner.

Each stage is a library function over a ``DrillContext`` (``failover.py``, ``failback.py``);
Gherkin steps call them one at a time. Guards (``guards.py``) refuse unsafe mutations before
any call; every decision is recorded in the context's ``DecisionLog``.
"""

from __future__ import annotations
