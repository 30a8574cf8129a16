"""EKS bearer tokens, as ``aws eks get-token`` makes them (DESIGN.md section 9).

A token is ``k8s-aws-v1.`` + base64url (no padding) of an STS ``GetCallerIdentity`` URL,
presigned for 60 s with the header ``x-k8s-aws-id: <cluster>`` among the signed headers. EKS
accepts a token for 15 minutes; ``EksTokenProvider.token()`` caches one and makes a new one a
minute before that, and as soon as the session's credentials change (an assumed role
refreshed: a token signed with expired credentials is refused), so long drills keep their
Kubernetes access. STS is signed for the token's region, at its regional endpoint.

Tokens are bearer credentials: nothing here logs them, and ``repr`` of the provider omits them.

Not supported: the ``aws-iam-authenticator`` role-assumption flags (``-r``); assume the role
with the boto3 session's profile instead. No exec-credential JSON is produced.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"
PRESIGN_EXPIRES_S = 60
TOKEN_LIFETIME_S = 15 * 60
REFRESH_MARGIN_S = 60


class EksTokenProvider:
    """Makes and caches EKS bearer tokens for one cluster with one boto3 session."""

    def __init__(
        self,
        session: boto3.Session,
        cluster_name: str,
        region: str,
        *,
        sts_endpoint_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.cluster_name = cluster_name
        self.region = region
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._made_at = 0.0
        self._session = session
        self._signed_with: str | None = None  # access key id the cached token was signed with
        client_kwargs: dict[str, Any] = {"region_name": region}
        if sts_endpoint_url:
            client_kwargs["endpoint_url"] = sts_endpoint_url
        self._sts = session.client("sts", **client_kwargs)
        self._sts.meta.events.register(
            "before-sign.sts.GetCallerIdentity", self._add_cluster_header
        )

    def __repr__(self) -> str:
        return f"EksTokenProvider(cluster={self.cluster_name!r}, region={self.region!r})"

    def _add_cluster_header(self, request: Any, **_kwargs: Any) -> None:
        request.headers[CLUSTER_ID_HEADER] = self.cluster_name

    @property
    def expires_in_s(self) -> float:
        """Seconds until the cached token expires (0 when there is none)."""
        if self._token is None:
            return 0.0
        return max(0.0, self._made_at + TOKEN_LIFETIME_S - self._clock())

    def _access_key(self) -> str | None:
        """The session's current access key id (refreshable credentials refresh here)."""
        credentials = self._session.get_credentials()
        return credentials.get_frozen_credentials().access_key if credentials else None

    def _fresh(self) -> bool:
        return (
            self._token is not None
            and self._clock() < self._made_at + TOKEN_LIFETIME_S - REFRESH_MARGIN_S
            and self._access_key() == self._signed_with
        )

    def token(self) -> str:
        """A valid token, made anew when the cached one is within a minute of expiry."""
        with self._lock:
            if not self._fresh():
                made_at = self._clock()
                self._signed_with = self._access_key()
                url = self._sts.generate_presigned_url(
                    "get_caller_identity",
                    Params={},
                    ExpiresIn=PRESIGN_EXPIRES_S,
                    HttpMethod="GET",
                )
                encoded = base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii")
                self._token = TOKEN_PREFIX + encoded.rstrip("=")
                self._made_at = made_at
            assert self._token is not None
            return self._token

    def refresh_api_key_hook(self, configuration: Any) -> None:
        """For ``kubernetes.client.Configuration.refresh_api_key_hook``: set the bearer token."""
        configuration.api_key["BearerToken"] = self.token()
        configuration.api_key_prefix["BearerToken"] = "Bearer"

    def install(self, configuration: Any) -> None:
        """Make a Kubernetes client Configuration authenticate with this provider's tokens."""
        configuration.refresh_api_key_hook = self.refresh_api_key_hook
        self.refresh_api_key_hook(configuration)


def decode_token(token: str) -> str:
    """The presigned URL inside a token (for tests and diagnosis; never log the result)."""
    if not token.startswith(TOKEN_PREFIX):
        raise ValueError("not an EKS token")
    body = token[len(TOKEN_PREFIX):]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
