"""Typed errors of the DR library.

Every error carries evidence (region, resource, expected, last seen) so a verdict can be
read without a traceback. The CLI maps them to the exit codes of DESIGN.md section 8.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


class DRError(Exception):
    """Base class of every error the library raises on purpose."""

    exit_code = 4


class ConfigError(DRError):
    """Bad configuration or usage: one line naming the file, key and expectation (exit 2)."""

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None):
        self.source = source
        self.key = key
        self.message = message
        # Where the error is: "FILE: KEY" (either may be missing). Names, never values.
        self.where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{self.where}: {message}" if self.where else message)


class CredentialsError(ConfigError):
    """AWS credentials missing, expired or rejected for a target's region (exit 2).

    Raised before a call is sent (none found) or from the answer to the first call (expired:
    ``ExpiredToken``, ``ExpiredTokenException``, ``RequestExpired``; rejected:
    ``InvalidClientTokenId``, ``UnrecognizedClientException``, ...): nothing was done.
    """

    def __init__(self, message: str, *, target: str, region: str, profile: str | None = None,
                 code: str | None = None):
        self.target = target
        self.region = region
        self.profile = profile
        self.code = code
        credentials = f"profile {profile!r}" if profile else "the default credential chain"
        super().__init__(f"AWS credentials of target {target!r} in {region} ({credentials}): "
                         f"{message}")


class PermissionDenied(DRError, ClientError):
    """The credentials lack an IAM permission: AWS answered AccessDenied (exit 2).

    The denied call was not made. The message names the target, region, service and IAM
    action, and the policy in ``policies/`` that grants it. Also a ``ClientError`` with the
    original response, so code that inspects error codes keeps working.
    """

    exit_code = 2

    def __init__(self, *, target: str, region: str, service: str, action: str,
                 response: dict[str, Any], operation_name: str, policy_hint: str = ""):
        ClientError.__init__(self, response, operation_name)  # type: ignore[arg-type]
        self.target = target
        self.region = region
        self.service = service
        self.action = action
        code = str(response.get("Error", {}).get("Code", "")) or "AccessDenied"
        hint = f"; {policy_hint}" if policy_hint else ""
        self.message = (f"permission denied: {action} in {region} (target {target!r}, "
                        f"service {service}, {code}): the credentials lack this IAM "
                        f"action{hint}")
        self.args = (self.message,)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> Any:  # ClientError pickles by its constructor arguments
        return (Exception.__new__, (PermissionDenied,), self.__dict__)


class GuardRefused(DRError):
    """A safety guard refused to run a mutating step; nothing was mutated (exit 3)."""

    exit_code = 3


class CheckFailed(DRError):
    """A DR capability check failed: a verdict about the platform, not the suite (exit 1)."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        region: str | None = None,
        resource: str | None = None,
        expected: Any = None,
        observed: Any = None,
    ):
        self.region = region
        self.resource = resource
        self.expected = expected
        self.observed = observed
        parts = [message]
        if region:
            parts.append(f"region={region}")
        if resource:
            parts.append(f"resource={resource}")
        if expected is not None:
            parts.append(f"expected={expected}")
        if observed is not None:
            parts.append(f"observed={observed}")
        super().__init__("; ".join(parts))


class Unreachable(DRError):
    """An API or endpoint could not be reached (refused, reset, timed out)."""

    exit_code = 4

    def __init__(self, message: str, *, region: str | None = None, target: str | None = None,
                 elapsed_s: float | None = None):
        self.region = region
        self.target = target
        self.elapsed_s = elapsed_s
        super().__init__(message)


class NotFound(DRError):
    """A resource the topology names does not exist."""

    exit_code = 1


class WaitTimeout(DRError):
    """A declared wait reached its deadline; the message says what was last observed."""

    exit_code = 1

    def __init__(self, message: str, *, last_observed: Any = None, elapsed_s: float = 0.0):
        self.last_observed = last_observed
        self.elapsed_s = elapsed_s
        super().__init__(message)


class WaitFailed(DRError):
    """A declared wait observed a terminal failure state and stopped early."""

    exit_code = 1

    def __init__(self, message: str, *, last_observed: Any = None, elapsed_s: float = 0.0):
        self.last_observed = last_observed
        self.elapsed_s = elapsed_s
        super().__init__(message)
