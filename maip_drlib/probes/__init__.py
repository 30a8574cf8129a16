"""Read-only probes: safe at any moment, against any target (DESIGN.md section 10, rule 4).

Each probe is a small function over a ``RegionHandle`` (plus names from the ``Topology``) that
returns a typed fact from ``maip_drlib.facts`` or raises a typed error from
``maip_drlib.errors``. The shared error translation is ``aws_api``
(``maip_drlib.probes.aws_errors``).

Not supported: probes never mutate anything and never retry beyond the handle's client policy;
waiting is the caller's business (``maip_drlib.waits``).
"""

from __future__ import annotations

from maip_drlib.probes.aws_errors import ApiDegraded, aws_api, error_code

__all__ = ["ApiDegraded", "aws_api", "error_code"]
