"""AWS errors into the suite's typed errors: ``aws_api`` (re-exported by ``maip_drlib.probes``).

Inside ``with aws_api(handle, api):``

- connection failures (refused, reset, timed out) become ``Unreachable`` naming the region,
  the API and the elapsed time;
- credentials that vanished after the handle checked them become ``CredentialsError``;
- a ``ClientError`` that is a throttle (the codes of ``maip_drlib.waits.THROTTLING_CODES``, or
  HTTP 429), a server error (HTTP >= 500) or a server-side timeout (``TRANSIENT_CODES``) — left
  after botocore's own retries (``maip_drlib.waits.transient_answer``) — becomes
  ``ApiDegraded``, an ``Unreachable`` naming the region, the API, the error code, the HTTP
  status and the attempts made. Declared waits poll through it until their deadline (it is
  transient); a stage or check that meets it outside a wait stops with that verdict at once.

Error codes listed in ``keep`` pass through unchanged (a caller that gives a 5xx its own
meaning, such as Service Quotas' "not implemented"). Denied permissions and expired
credentials are translated by the handle's session (``maip_drlib.permissions``).

Not supported: retrying beyond botocore's attempts here (waits do that); other error codes pass
through unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as BotoConnectionError

from maip_drlib.errors import CredentialsError, Unreachable
from maip_drlib.waits import THROTTLING_CODES, TRANSIENT_CODES, transient_answer

if TYPE_CHECKING:
    from maip_drlib.regions import RegionHandle


class ApiDegraded(Unreachable):
    """An AWS API answered a throttle or a server error after the client's retries."""

    def __init__(self, message: str, *, region: str, target: str, code: str, status: int,
                 elapsed_s: float):
        super().__init__(message, region=region, target=target, elapsed_s=elapsed_s)
        self.code = code
        self.status = status

    @property
    def throttled(self) -> bool:
        return self.code in THROTTLING_CODES or self.status == 429


def error_code(error: ClientError) -> str:
    """The AWS error code of a ClientError ('' when absent)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def degraded(error: ClientError) -> tuple[str, int] | None:
    """(code, HTTP status) when the error is a throttle, a 5xx or a timeout, else None."""
    if not transient_answer(error):
        return None
    metadata = error.response.get("ResponseMetadata", {})
    return error_code(error), int(metadata.get("HTTPStatusCode", 0) or 0)


def _api_degraded(handle: RegionHandle, api: str, error: ClientError, code: str, status: int,
                  started: float) -> ApiDegraded:
    attempts = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
    kind = ("throttled" if code in THROTTLING_CODES or status == 429 else
            "timed out" if code in TRANSIENT_CODES and status < 500 else "server error")
    return ApiDegraded(
        f"{api} in {handle.region} ({handle.target_name}) {kind}: {code or 'no code'} "
        f"(HTTP {status}) after {int(attempts) + 1} attempts",
        region=handle.region, target=api, code=code, status=status,
        elapsed_s=time.monotonic() - started,
    )


@contextmanager
def aws_api(handle: RegionHandle, api: str, *, keep: Collection[str] = ()) -> Iterator[None]:
    """Translate the errors of the AWS calls made inside (see the module docstring)."""
    started = time.monotonic()
    try:
        yield
    except NoCredentialsError as error:
        raise CredentialsError(f"missing when calling {api}", target=handle.target_name,
                               region=handle.region,
                               profile=handle.connection.profile) from error
    except (BotoConnectionError, HTTPClientError) as error:
        raise Unreachable(
            f"{api} in {handle.region} ({handle.target_name}) did not answer: {error}",
            region=handle.region,
            target=api,
            elapsed_s=time.monotonic() - started,
        ) from error
    except ClientError as error:
        found = degraded(error)
        if found is None or error_code(error) in keep:
            raise
        code, status = found
        if str(status) in keep:
            raise
        raise _api_degraded(handle, api, error, code, status, started) from error
