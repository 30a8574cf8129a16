"""AWS calls whose error answers say "the API is not answering properly": throttles and 5xx.

``aws_answer(handle, api)`` is ``aws_api`` (connection failures become ``Unreachable``) plus:
a ``ClientError`` that is a throttle (the codes of ``maip_drlib.waits.THROTTLING_CODES``,
or HTTP 429) or a server error (HTTP >= 500) — left after botocore's own retries — becomes
``ApiDegraded``, an ``Unreachable`` naming the region, the API, the error code, the HTTP status
and the attempts made. Declared waits poll through it until their deadline (it is transient);
a stage that meets it outside a wait stops with that verdict at once.

Not supported: retrying beyond botocore's attempts here (waits do that); other error codes pass
through unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError

from maip_drlib.errors import Unreachable
from maip_drlib.probes import aws_api, error_code
from maip_drlib.regions import RegionHandle
from maip_drlib.waits import THROTTLING_CODES


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


def degraded(error: ClientError) -> tuple[str, int] | None:
    """(code, HTTP status) when the error is a throttle or a 5xx, else None."""
    code = error_code(error)
    metadata = error.response.get("ResponseMetadata", {})
    status = int(metadata.get("HTTPStatusCode", 0) or 0)
    if code in THROTTLING_CODES or status == 429 or status >= 500:
        return code, status
    return None


@contextmanager
def aws_answer(handle: RegionHandle, api: str) -> Iterator[None]:
    """``aws_api`` plus throttles and 5xx as ``ApiDegraded`` (see the module docstring)."""
    started = time.monotonic()
    with aws_api(handle, api):
        try:
            yield
        except ClientError as error:
            found = degraded(error)
            if found is None:
                raise
            code, status = found
            attempts = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            kind = "throttled" if code in THROTTLING_CODES or status == 429 else "server error"
            raise ApiDegraded(
                f"{api} in {handle.region} ({handle.target_name}) {kind}: {code or 'no code'} "
                f"(HTTP {status}) after {int(attempts) + 1} attempts",
                region=handle.region, target=api, code=code, status=status,
                elapsed_s=time.monotonic() - started,
            ) from error
