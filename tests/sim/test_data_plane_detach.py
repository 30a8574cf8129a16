"""A data-plane simulation stopped, then moto used again in the same process (``mock_aws``,
as the library's moto tests do): the RDS API acts as moto. Regression: the stopped data plane
stayed attached to the moto runtime, so a later ``create_db_instance_read_replica`` failed
with "fleet is closed"."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from maip_drlib.sim.aws import runtime
from maip_drlib.sim.postgres import find_binaries, search_places
from maip_drlib.sim.simulation import SimSettings, Simulation

pytestmark = pytest.mark.sim

if find_binaries() is None:
    pytest.skip("no PostgreSQL binaries; looked in: " + "; ".join(search_places()),
                allow_module_level=True)


def test_moto_after_a_stopped_data_plane_simulation_replicates_rds_as_moto(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with Simulation(settings=SimSettings(data_plane=True)) as simulation:
        assert runtime.current().data_plane is simulation.data_plane is not None
    assert getattr(runtime.current(), "data_plane", None) is None
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        rds = boto3.client("rds", region_name="us-east-1")
        rds.create_db_instance(DBInstanceIdentifier="source", DBInstanceClass="db.t3.micro",
                               Engine="postgres", MasterUsername="u",
                               MasterUserPassword="password123", AllocatedStorage=20)
        made = rds.create_db_instance_read_replica(DBInstanceIdentifier="replica",
                                                   SourceDBInstanceIdentifier="source")
        assert made["DBInstance"]["ReadReplicaSourceDBInstanceIdentifier"] == "source"
