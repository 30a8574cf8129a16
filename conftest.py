"""Root conftest: the suite's pytest plugin and the step definitions.

pytest-bdd registers a step in the module that defines it, so the step modules are imported
here to be visible to every feature file.
"""

from __future__ import annotations

pytest_plugins = [
    "maip_drlib.pytest_dr.redaction",
    "maip_drlib.pytest_dr.plugin",
    "maip_drlib.pytest_dr.fixtures",
    "maip_drlib.pytest_dr.journal_hooks",
    "maip_drlib.pytest_dr.write_gate_hooks",
    "maip_drlib.pytest_dr.lease_hooks",
    "maip_drlib.pytest_dr.allure_evidence",
    "steps",
]
