"""Evidence of a drill (DESIGN.md section 5): redaction, the hash-chained journal of each
attempt, sealed manifests with an optional HMAC, and their verification.

Layout: ``reports/<drill id>/attempt-<n>/journal.jsonl``, ``.../manifest.json`` and
``.../manifest.sig``; derived output (``reports/<drill id>/html/``) is outside the manifests.
"""

from __future__ import annotations

from maip_drlib.evidence.integrity import AttemptStatus, VerifyReport, verify_drill
from maip_drlib.evidence.journal import (
    GENESIS,
    JOURNAL_NAME,
    EvidenceError,
    Journal,
    read_journal,
    verify_chain,
)
from maip_drlib.evidence.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    Seal,
    load_key,
    seal,
    seal_unsealed_attempts,
)
from maip_drlib.evidence.redact import MARK, Redactor, default_redactor

__all__ = [
    "GENESIS",
    "JOURNAL_NAME",
    "MANIFEST_NAME",
    "MARK",
    "SIGNATURE_NAME",
    "AttemptStatus",
    "EvidenceError",
    "Journal",
    "Redactor",
    "Seal",
    "VerifyReport",
    "default_redactor",
    "load_key",
    "read_journal",
    "seal",
    "seal_unsealed_attempts",
    "verify_chain",
    "verify_drill",
]
