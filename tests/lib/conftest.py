from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from maip_drlib.config import RegionConnection, Target
from maip_drlib.regions import RegionHandles, build_region_handles
from maip_drlib.write_gate import WriteGate


@pytest.fixture
def handles(moto_endpoint: str) -> Iterator[RegionHandles]:
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=5).raise_for_status()
    target = Target(
        name="moto",
        kind="sim",
        primary=RegionConnection("us-east-1", "maip-prod", endpoint_url=moto_endpoint),
        secondary=RegionConnection("us-west-2", "maip-prod-dr", endpoint_url=moto_endpoint),
    )
    # Consent to write: the probes and actions under test create their own resources.
    built = build_region_handles(target, writes=WriteGate.consented(target=target.name))
    yield built
    built.close()
