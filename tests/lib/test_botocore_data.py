"""botocore's data files are parsed once per process: the region handles' sessions and (in a
simulation's process) every botocore session share one loader, and a session given its own
data path keeps its own."""

from __future__ import annotations

import botocore.session
import pytest

from maip_drlib import botocore_data
from maip_drlib.config import RegionConnection, Target
from maip_drlib.regions import build_region_handles

pytestmark = pytest.mark.unit


def test_region_handles_share_one_loader_and_one_parse() -> None:
    target = Target(name="sim", kind="sim",  # nothing is called: no server needed
                    primary=RegionConnection("us-east-1", "a", endpoint_url="http://127.0.0.1:9"),
                    secondary=RegionConnection("us-west-2", "b", endpoint_url="http://127.0.0.1:9"))
    handles = build_region_handles(target)
    try:
        loaders = {id(handle.session._session.get_component("data_loader")) for handle in handles}
        assert loaders == {id(botocore_data.shared_loader())}
        first = handles.primary.session._session.get_service_data("ec2")
        second = handles.secondary.session._session.get_service_data("ec2")
        assert first is second  # parsed once, not once per region's session
    finally:
        handles.close()


def test_a_session_with_its_own_data_path_keeps_its_own_loader(tmp_path) -> None:
    core = botocore.session.get_session()
    core.set_config_variable("data_path", str(tmp_path))
    botocore_data.use_shared_loader(core)
    assert core.get_component("data_loader") is not botocore_data.shared_loader()


def test_every_new_session_shares_it_once_asked() -> None:
    botocore_data.share_with_every_session()
    botocore_data.share_with_every_session()  # idempotent
    assert botocore.session.Session().get_component("data_loader") is \
        botocore_data.shared_loader()
    own = botocore.session.Session()
    own.set_config_variable("data_path", "/nonexistent-models")
    assert own.get_component("data_loader") is not botocore_data.shared_loader()
