"""Credentials of an assumed IAM role, per region (issue 14 item 7; docs/configuration.md).

A live region connection may name ``role_arn`` (and ``external_id``): its handle's session
then signs with that role's temporary credentials, assumed from the connection's profile (or
the default chain) through the region's OWN STS endpoint (``sts.REGION.amazonaws.com``, or
the connection's endpoint URL), with the session name ``maip-dr-<drill id>`` so CloudTrail
in each account shows which drill made each call. When that endpoint does not answer (the
region is in an outage) the other supported region's STS endpoint is tried: any regional
endpoint can assume a role of any account.

The credentials are botocore ``DeferredRefreshableCredentials``: assumed at the first signed
call (a handle built and never used assumes nothing) and assumed again before they expire
(botocore refreshes 15 minutes before expiry, and must 10 minutes before), so drills longer
than the role's session duration go on. Each region assumes its own role: the DR account may
differ from the primary's.

Not supported: role chaining over several roles, MFA, session policies and tags, source
identity.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from maip_drlib.config import PRIMARY_REGION, SECONDARY_REGION, RegionConnection

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config as BotoConfig

SESSION_NAME_PREFIX = "maip-dr-"
SESSION_NAME_MAX = 64  # STS RoleSessionName: 2 to 64 of [\w+=,.@-]
_NOT_ALLOWED = re.compile(r"[^\w+=,.@-]")


def role_session_name(drill_id: str | None) -> str:
    """``maip-dr-<drill id>`` with characters STS refuses replaced by '-', cut to 64."""
    text = SESSION_NAME_PREFIX + (drill_id or "cli")
    return _NOT_ALLOWED.sub("-", text.encode("ascii", "replace").decode("ascii"))[
        :SESSION_NAME_MAX]


def sts_regions(region: str) -> tuple[str, ...]:
    """The STS endpoints to assume through: the region's own, then the other one's."""
    other = SECONDARY_REGION if region == PRIMARY_REGION else PRIMARY_REGION
    return (region, other)


def assume_role_fetcher(base: boto3.Session, connection: RegionConnection, session_name: str,
                        config: BotoConfig) -> Callable[[], dict[str, str]]:
    """A function that assumes the connection's role and returns botocore's metadata dict."""
    from botocore.exceptions import (
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
    )

    unreachable = (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError)
    assert connection.role_arn is not None
    params: dict[str, Any] = {"RoleArn": connection.role_arn, "RoleSessionName": session_name}
    if connection.external_id:
        params["ExternalId"] = connection.external_id
    clients: dict[str, Any] = {}

    def client(region: str) -> Any:
        if region not in clients:
            kwargs: dict[str, Any] = {"region_name": region, "config": config}
            if connection.endpoint_url:
                kwargs["endpoint_url"] = connection.endpoint_url
            clients[region] = base.client("sts", **kwargs)
        return clients[region]

    def fetch() -> dict[str, str]:
        regions = sts_regions(connection.region)
        for index, region in enumerate(regions):
            try:
                answer = client(region).assume_role(**params)
                break
            except unreachable:
                if index == len(regions) - 1:
                    raise
        found = answer["Credentials"]
        return {"access_key": found["AccessKeyId"], "secret_key": found["SecretAccessKey"],
                "token": found["SessionToken"], "expiry_time": found["Expiration"].isoformat()}

    return fetch


def assumed_role_session(base: boto3.Session, connection: RegionConnection, session_name: str,
                         config: BotoConfig,
                         time_fetcher: Callable[[], Any] | None = None) -> boto3.Session:
    """A boto3 session in the connection's region signing with the assumed role's
    refreshable credentials (``time_fetcher``: botocore's clock, for tests)."""
    import boto3
    import botocore.session
    from botocore.credentials import (
        CredentialProvider,
        CredentialResolver,
        DeferredRefreshableCredentials,
    )

    kwargs: dict[str, Any] = {"time_fetcher": time_fetcher} if time_fetcher else {}
    credentials = DeferredRefreshableCredentials(
        refresh_using=assume_role_fetcher(base, connection, session_name, config),
        method="assume-role", **kwargs)

    class _AssumedRole(CredentialProvider):
        METHOD = "assume-role"

        def load(self) -> DeferredRefreshableCredentials:
            return credentials

    core = botocore.session.Session()
    core.register_component("credential_provider", CredentialResolver([_AssumedRole()]))
    return boto3.Session(botocore_session=core, region_name=connection.region)
