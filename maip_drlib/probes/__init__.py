"""Read-only probes: safe at any moment, against any target (DESIGN.md section 10, rule 4).

Each probe is a small function over a ``RegionHandle`` (plus names from the ``Topology``) that
returns a typed fact from ``maip_drlib.facts`` or raises a typed error from
``maip_drlib.errors``. This module holds the shared error translation.

Not supported: probes never mutate anything and never retry beyond the handle's client policy;
waiting is the caller's business (``maip_drlib.waits``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as BotoConnectionError

from maip_drlib.errors import CredentialsError, Unreachable
from maip_drlib.regions import RegionHandle


def error_code(error: ClientError) -> str:
    """The AWS error code of a ClientError ('' when absent)."""
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def aws_api(handle: RegionHandle, api: str) -> Iterator[None]:
    """Turn connection-level failures of an AWS call into ``Unreachable`` with elapsed time,
    and credentials that vanished after the handle checked them into ``CredentialsError``.
    (Denied permissions and expired credentials are translated by the handle's session:
    ``maip_drlib.permissions``.)"""
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
