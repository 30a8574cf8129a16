"""The pytest side of the suite: options, target fixtures, stage order, guards and results.

Loaded by the project's root ``conftest.py`` (``pytest_plugins``). Scenarios tagged
``@readiness``, ``@replication``, ``@failover`` and ``@failback`` run in the drill's order
whatever the file names; ``@destructive`` ones need ``--dr-execute``.
"""

from __future__ import annotations
