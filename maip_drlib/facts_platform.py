"""Typed facts of the platform checks: network capacity, quotas, images, secrets, targets, TLS.

Kept apart from ``facts`` (the data stores and clusters). Each fact is a frozen dataclass with
a readable one-line ``str()``. Facts never hold secret values: a secret is described by name,
ARN and replication status only.

Not supported: facts are snapshots; nothing here talks to an API.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Network and quotas ----------------------------------------------------------------------


@dataclass(frozen=True)
class SubnetFact:
    subnet_id: str
    region: str
    availability_zone: str
    cidr: str
    free_addresses: int

    def __str__(self) -> str:
        return (f"subnet {self.subnet_id} ({self.availability_zone}, {self.cidr}): "
                f"{self.free_addresses} free addresses")


@dataclass(frozen=True)
class QuotaFact:
    """A Service Quotas value, as the API answered it."""

    region: str
    service_code: str
    quota_code: str
    name: str
    value: float
    unit: str

    def __str__(self) -> str:
        return (f"quota {self.service_code}/{self.quota_code} ({self.name}) in {self.region}: "
                f"{self.value:g} {self.unit}")


@dataclass(frozen=True)
class QuotaNotAvailable:
    """Service Quotas did not answer for this quota: not a pass, not a failure."""

    region: str
    service_code: str
    quota_code: str
    reason: str

    def __str__(self) -> str:
        return (f"quota {self.service_code}/{self.quota_code} in {self.region} not available: "
                f"{self.reason}")


# --- Images ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContainerImage:
    """One container image reference of a deployment, split into its parts."""

    deployment: str
    container: str
    reference: str
    registry: str  # "" for Docker Hub short names
    repository: str
    tag: str | None
    digest: str | None

    @property
    def ecr_region(self) -> str | None:
        """The region of a private ECR registry (``<account>.dkr.ecr.<region>.amazonaws.com``)."""
        parts = self.registry.split(".")
        if len(parts) >= 6 and parts[1:3] == ["dkr", "ecr"] and parts[-2:] == ["amazonaws",
                                                                             "com"]:
            return parts[3]
        return None

    @property
    def ecr_account(self) -> str | None:
        return self.registry.split(".")[0] if self.ecr_region else None

    def __str__(self) -> str:
        return f"{self.deployment}/{self.container}: {self.reference}"


@dataclass(frozen=True)
class EcrImageFact:
    region: str
    repository: str
    tag: str | None
    digest: str | None
    found: bool
    reason: str = ""  # why not found: no repository, no image

    def __str__(self) -> str:
        ref = f"{self.repository}:{self.tag}" if self.tag else f"{self.repository}@{self.digest}"
        if self.found:
            return f"ECR {ref} ({self.region}): present, {self.digest}"
        return f"ECR {ref} ({self.region}): missing ({self.reason})"


# --- Secrets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretFact:
    """A secret as described (never its value)."""

    name: str
    region: str
    exists: bool
    arn: str | None = None
    primary_region: str | None = None  # None: the secret is not a replica
    replication: tuple[tuple[str, str], ...] = ()  # (region, status) as the primary reports
    deleted: bool = False

    def replication_status(self, region: str) -> str | None:
        return dict(self.replication).get(region)

    def __str__(self) -> str:
        if not self.exists:
            return f"secret {self.name} ({self.region}): not found"
        where = (f"replica of {self.primary_region}" if self.primary_region
                 and self.primary_region != self.region else "primary")
        state = "scheduled for deletion" if self.deleted else "present"
        text = f"secret {self.name} ({self.region}): {state}, {where}"
        if self.replication:
            text += ", replication " + ", ".join(f"{r}={s}" for r, s in self.replication)
        return text


# --- Load balancer targets -------------------------------------------------------------------


@dataclass(frozen=True)
class TargetHealthFact:
    target_group: str
    region: str
    targets: tuple[tuple[str, str], ...]  # (id:port, state)

    @property
    def healthy(self) -> tuple[str, ...]:
        return tuple(target for target, state in self.targets if state == "healthy")

    def __str__(self) -> str:
        states = ", ".join(f"{target}={state}" for target, state in self.targets) or "no targets"
        return (f"target group {self.target_group} ({self.region}): "
                f"{len(self.healthy)}/{len(self.targets)} healthy ({states})")


# --- TLS -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsCertificateFact:
    hostname: str
    address: str
    subject: str
    issuer: str
    not_after: str  # as the certificate says, e.g. "Jan  1 00:00:00 3000 GMT"
    days_remaining: float

    def __str__(self) -> str:
        return (f"certificate of {self.hostname} at {self.address}: {self.subject}, issued by "
                f"{self.issuer}, valid until {self.not_after} ({self.days_remaining:.0f} days)")
