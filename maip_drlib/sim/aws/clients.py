"""boto3 clients for the simulation's own moto server: dummy credentials, loopback, no retries.

Used to seed the simulation (callers that poll pass their own, shorter, settings). A create
must not be retried: on a loaded machine a first attempt that outlives the read timeout still
succeeds in moto, and the retry then fails with "already exists"; hence one attempt and a read
timeout long enough for a busy 2-core machine.

Not supported: any endpoint but the simulation's loopback server.
"""

from __future__ import annotations

from typing import Any

from maip_drlib.config import SIM_ACCESS_KEY_ID, SIM_SECRET_ACCESS_KEY
from maip_drlib.loopback import is_loopback_url

# botocore's ``max_attempts`` counts retries (1 means two attempts); ``total_max_attempts``
# counts attempts, the first included.
SIM_CLIENT_CONFIG_KWARGS: dict[str, Any] = {
    "retries": {"total_max_attempts": 1, "mode": "standard"},
    "connect_timeout": 5,
    "read_timeout": 60,
}


def sim_client(service: str, region: str, endpoint_url: str, **config: Any) -> Any:
    """A boto3 client for ``service`` in ``region`` aimed at the simulation's moto server."""
    import boto3
    from botocore.config import Config

    if not is_loopback_url(endpoint_url):
        raise ValueError(f"simulation clients only talk to loopback, got {endpoint_url!r}")
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=SIM_ACCESS_KEY_ID,
        aws_secret_access_key=SIM_SECRET_ACCESS_KEY,
        config=Config(**{**SIM_CLIENT_CONFIG_KWARGS, **config}),
    )
