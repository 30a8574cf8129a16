"""Step definitions: thin adapters that parse, call ONE maip_drlib function, assert or return.

No boto3 or kubernetes here (DESIGN.md section 10); state passes through fixtures.
"""

from __future__ import annotations

from steps.common_steps import *  # noqa: F403
from steps.failback_steps import *  # noqa: F403
from steps.failover_steps import *  # noqa: F403
from steps.own_checks_steps import *  # noqa: F403
from steps.readiness_steps import *  # noqa: F403
from steps.replication_steps import *  # noqa: F403
from steps.rpo_steps import *  # noqa: F403
