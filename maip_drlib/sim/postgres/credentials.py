"""The master credentials of a simulated database, generated here and handed to the caller.

The caller stores them where a deployment keeps them (the simulated Secrets Manager). The
password never appears in a ``repr``, a log line, a command line or an exception message; it
reaches the servers through a file readable only by the server user (``initdb --pwfile``) and
through the environment of ``pg_basebackup``. Not supported: rotation, IAM authentication.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

DEFAULT_MASTER_USERNAME = "maipadmin"
_USERNAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def generate_master_password() -> str:
    """A fresh random password (32 URL-safe characters: valid as an RDS master password)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class MasterCredentials:
    """The master user of a writer and of every standby built from it (a physical copy)."""

    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if not _USERNAME.match(self.username):
            raise ValueError(
                f"master username {self.username!r}: lower-case letters, digits and _ only"
            )
        if not self.password:
            raise ValueError("master password must not be empty")

    @classmethod
    def generate(cls, username: str = DEFAULT_MASTER_USERNAME) -> MasterCredentials:
        """New credentials for ``username`` with a generated password."""
        return cls(username=username, password=generate_master_password())
