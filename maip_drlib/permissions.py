"""IAM actions of the suite's AWS calls, and the translation of permission and credential
errors into one-line library errors (``docs/iam.md``).

- ``iam_action(service, operation)``: the IAM action a botocore operation needs
  (``elbv2`` -> ``elasticloadbalancing``, ``service-quotas`` -> ``servicequotas``).
- ``is_mutating(service, operation)``: reads are ``Describe*``, ``List*``, ``Get*``,
  ``BatchGet*``, ``Query`` and ``Scan``; every other operation changes something (DynamoDB's
  ``PutItem`` for canaries too).
- ``ErrorTranslator``: a botocore ``after-call`` handler on each region handle's session that
  raises ``PermissionDenied`` for ``AccessDenied`` / ``AccessDeniedException`` /
  ``UnauthorizedOperation`` (and moto's XML ``AccessDenied`` on JSON services), and
  ``CredentialsError`` for expired or rejected credentials, instead of a bare ``ClientError``.

Not supported: IAM actions that differ from the operation name beyond the prefix (none among
the operations the suite calls; ``test_policy_coverage`` fails on an unknown service); the
extra permissions AWS checks behind one call (e.g. ``iam:PassRole``), which no recording sees.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from maip_drlib.errors import CredentialsError, PermissionDenied

# botocore service name -> IAM action prefix, for every service the suite calls.
IAM_PREFIX = {
    "cloudwatch": "cloudwatch",
    "dynamodb": "dynamodb",
    "ec2": "ec2",
    "ecr": "ecr",
    "eks": "eks",
    "elbv2": "elasticloadbalancing",
    "iam": "iam",
    "kafka": "kafka",
    "kafka-cluster": "kafka-cluster",  # MSK's Kafka data plane under IAM auth (not botocore)
    "rds": "rds",
    "route53": "route53",
    "s3": "s3",
    "secretsmanager": "secretsmanager",
    "service-quotas": "servicequotas",
    "sts": "sts",
}

READ_PREFIXES = ("Describe", "List", "Get", "BatchGet")
READ_OPERATIONS = frozenset({"Query", "Scan"})
# Reads whose names do not say so: MSK's Kafka data plane under IAM auth (connecting to a
# cluster and reading a topic change nothing).
READ_ACTIONS = frozenset({("kafka-cluster", "Connect"), ("kafka-cluster", "ReadData")})

DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                          "UnauthorizedAccess", "AuthorizationError"})
EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired",
                           "TokenRefreshRequired"})
REJECTED_CODES = frozenset({"InvalidClientTokenId", "UnrecognizedClientException",
                            "InvalidAccessKeyId", "AuthFailure", "SignatureDoesNotMatch",
                            "InvalidSignatureException", "InvalidToken"})

_LIBRARY = Path(__file__).resolve().parent
# policies/ at the top of a clone, or the copy an installed wheel carries in _scenarios/.
POLICY_DIR = next((folder for folder in (_LIBRARY.parent / "policies",
                                         _LIBRARY / "_scenarios" / "policies")
                   if (folder / "operations.json").is_file()), _LIBRARY.parent / "policies")
READONLY_POLICY = "iam-readonly.json"
OPERATOR_POLICY = "iam-drill-operator.json"
METRICS_POLICY = "iam-metrics-publisher.json"  # readiness --metrics-namespace: an add-on
METRICS_OPERATIONS = frozenset({("cloudwatch", "PutMetricData")})
# Reading the database's credentials (the data-plane checks of a target whose database access
# names Secrets Manager secrets): in the drill operator's policy and in an add-on for readiness;
# never in the read-only one (which reads no secret value).
DATABASE_SECRETS_POLICY = "iam-database-secrets-reader.json"  # readiness with database access
DATABASE_SECRET_OPERATIONS = frozenset({("secretsmanager", "GetSecretValue")})
# MSK's Kafka data plane under IAM auth (kafka-cluster:*: canaries, the replicated canary topic,
# the business consumer group's offsets): only a target with Kafka access uses it, for game
# days and readiness alike, so it is an add-on of its own beside either policy (the drill
# operator's would not fit IAM's 6,144 characters with it).
KAFKA_DATA_PLANE_POLICY = "iam-kafka-data-plane.json"
KAFKA_DATA_PLANE_SERVICE = "kafka-cluster"


class UnknownService(KeyError):
    """A service with no entry in ``IAM_PREFIX``: someone must decide its IAM prefix."""


def iam_action(service: str, operation: str) -> str:
    """The IAM action of one botocore operation, e.g. ``elasticloadbalancing:DescribeTags``."""
    try:
        prefix = IAM_PREFIX[service]
    except KeyError:
        raise UnknownService(f"no IAM prefix known for the botocore service {service!r}; "
                             "add it to maip_drlib.permissions.IAM_PREFIX") from None
    return f"{prefix}:{operation}"


def is_mutating(service: str, operation: str) -> bool:
    """Whether an operation can change anything (by its name; see the module docstring)."""
    return not (operation.startswith(READ_PREFIXES) or operation in READ_OPERATIONS
                or (service, operation) in READ_ACTIONS)


def is_mutating_action(action: str) -> bool:
    """``is_mutating`` for an IAM action ``prefix:Name`` (wildcards count as mutating)."""
    prefix, _, name = action.partition(":")
    return "*" in action or is_mutating(prefix, name)


def load_policy_actions(path: Path) -> set[str]:
    """Every action the ``Allow`` statements of an IAM policy document list."""
    document = json.loads(path.read_text(encoding="utf-8"))
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    actions: set[str] = set()
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        listed = statement.get("Action", [])
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def _error_code(parsed: dict[str, Any], http_response: Any) -> str:
    code = str((parsed.get("Error") or {}).get("Code", "") or "")
    if code and not code.isdigit():
        return code
    # moto answers IAM denials with an XML body also to JSON services; botocore's JSON
    # parser then has no code. Read the code from the raw body.
    body = getattr(http_response, "content", b"") or b""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    for known in sorted(DENIED_CODES | EXPIRED_CODES | REJECTED_CODES, key=len, reverse=True):
        if f"<Code>{known}</Code>" in text or f'"{known}"' in text or f"#{known}" in text:
            return known
    return code


class ErrorTranslator:
    """A botocore ``after-call`` handler raising the suite's errors for denied or bad
    credentials (region handles register it on their session)."""

    def __init__(self, *, target: str, region: str, profile: str | None):
        self.target = target
        self.region = region
        self.profile = profile

    def __call__(self, http_response: Any = None, parsed: Any = None, model: Any = None,
                 **_: Any) -> None:
        if http_response is None or model is None or http_response.status_code < 400:
            return
        parsed = parsed if isinstance(parsed, dict) else {}
        code = _error_code(parsed, http_response)
        service = model.service_model.service_name
        if code in DENIED_CODES:
            response = dict(parsed)
            response["Error"] = {**(parsed.get("Error") or {}), "Code": code}
            try:
                action = iam_action(service, model.name)
            except UnknownService:
                action = f"{service}:{model.name}"
            raise PermissionDenied(
                target=self.target, region=self.region, service=service, action=action,
                response=response, operation_name=model.name,
                policy_hint=_policy_hint(service, model.name))
        if code in EXPIRED_CODES:
            raise CredentialsError(
                f"expired ({code} from {service}:{model.name}); refresh them and run again",
                target=self.target, region=self.region, profile=self.profile, code=code)
        if code in REJECTED_CODES:
            raise CredentialsError(
                f"rejected ({code} from {service}:{model.name}); check the access key",
                target=self.target, region=self.region, profile=self.profile, code=code)


def _policy_hint(service: str, operation: str) -> str:
    if (service, operation) in METRICS_OPERATIONS:
        return (f"policies/{OPERATOR_POLICY} grants it (game days); for readiness, attach "
                f"policies/{METRICS_POLICY} beside the read-only policy")
    if (service, operation) in DATABASE_SECRET_OPERATIONS:
        return (f"policies/{OPERATOR_POLICY} grants it (game days); for readiness with "
                f"database access, attach policies/{DATABASE_SECRETS_POLICY} beside the "
                f"read-only policy (scoped to the database secrets), or use iam_user "
                f"(docs/iam.md, 'Database access')")
    if service == KAFKA_DATA_PLANE_SERVICE:
        return (f"policies/{KAFKA_DATA_PLANE_POLICY} grants it: attach it beside the drill "
                "operator's or the read-only policy for a target with Kafka access")
    policy = OPERATOR_POLICY if is_mutating(service, operation) else READONLY_POLICY
    return f"policies/{policy} grants it"


def attach_error_translation(session: Any, *, target: str, region: str,
                             profile: str | None) -> ErrorTranslator:
    """Register the translator on a boto3 session (before its clients are built)."""
    translator = ErrorTranslator(target=target, region=region, profile=profile)
    session.events.register("after-call", translator)
    return translator


def check_credentials(handles: Iterable[Any]) -> dict[str, str]:
    """``sts:GetCallerIdentity`` through each region handle: the caller ARN per region, or
    ``CredentialsError`` (exit 2: missing, expired, rejected) before anything else is called.
    For the CLI to call once per command on live targets (needs no IAM permission).

    A region whose STS endpoint does not answer is left out (a region in outage is what a
    drill is for; its probes report it); its credentials are not proven then.
    """
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    callers: dict[str, str] = {}
    for handle in handles:
        try:
            callers[handle.region] = str(handle.client("sts").get_caller_identity()["Arn"])
        except (BotoConnectionError, HTTPClientError):
            continue
    return callers
